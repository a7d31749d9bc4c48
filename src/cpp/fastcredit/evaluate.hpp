// Whole-dataset forward passes in workspace-sized chunks: predictions, loss and the
// validation score used for early stopping (accuracy for classifiers, R^2 for regressors).
#pragma once

#include <algorithm>
#include <limits>

#include "fastcredit/network.hpp"

namespace fastcredit {

/// Calls visit(first_row, outputs) for consecutive chunks of X, after the forward pass.
template <typename Scalar, typename Visit>
void for_each_chunk(const Network<Scalar>& net, Workspace<Scalar>& ws, Index max_chunk,
                    const ConstMatrixMap<Scalar>& X, Visit visit) {
  const int L = net.n_layers();
  for (Index start = 0; start < X.rows(); start += max_chunk) {
    const Index rows = std::min(max_chunk, X.rows() - start);
    ws.resize_batch(rows);
    ws.h(0) = X.middleRows(start, rows);
    forward(net, ws);
    visit(start, ws.h(L));
  }
}

/// Output activations (probabilities for classifiers) of every row of X into `out`.
template <typename Scalar>
void predict(const Network<Scalar>& net, const ConstMatrixMap<Scalar>& X, MatrixMap<Scalar> out,
             Index chunk = 512) {
  Workspace<Scalar> ws(net, std::min<Index>(chunk, std::max<Index>(X.rows(), 1)));
  for_each_chunk(net, ws, chunk, X, [&](Index start, const MatrixMap<Scalar>& h) {
    out.middleRows(start, h.rows()) = h;
  });
}

/// Fraction of rows predicted right: argmax for softmax outputs, every label thresholded
/// at 0.5 for logistic ones (subset accuracy, as scikit-learn's accuracy_score).
template <typename Scalar>
double accuracy(const Network<Scalar>& net, Workspace<Scalar>& ws, Index chunk,
                const ConstMatrixMap<Scalar>& X, const ConstMatrixMap<Scalar>& Y) {
  Index correct = 0;
  for_each_chunk(net, ws, chunk, X, [&](Index start, const MatrixMap<Scalar>& h) {
    for (Index i = 0; i < h.rows(); ++i) {
      if (net.output == Output::softmax_cross_entropy) {
        Index predicted, truth;
        h.row(i).maxCoeff(&predicted);
        Y.row(start + i).maxCoeff(&truth);
        correct += predicted == truth;
      } else {
        correct += ((h.row(i).array() > Scalar(0.5)) == (Y.row(start + i).array() > Scalar(0.5))).all();
      }
    }
  });
  return static_cast<double>(correct) / static_cast<double>(X.rows());
}

/// Coefficient of determination averaged over outputs (scikit-learn's r2_score with
/// multioutput="uniform_average"; a constant target scores 1 if predicted exactly, else 0).
template <typename Scalar>
double r2_score(const Network<Scalar>& net, Workspace<Scalar>& ws, Index chunk,
                const ConstMatrixMap<Scalar>& X, const ConstMatrixMap<Scalar>& Y) {
  const Eigen::ArrayXd mean = Y.template cast<double>().colwise().mean().transpose().array();
  Eigen::ArrayXd residual = Eigen::ArrayXd::Zero(Y.cols()), total = Eigen::ArrayXd::Zero(Y.cols());
  for_each_chunk(net, ws, chunk, X, [&](Index start, const MatrixMap<Scalar>& h) {
    const auto y = Y.middleRows(start, h.rows()).template cast<double>();
    residual += (y - h.template cast<double>()).array().square().colwise().sum().transpose();
    total += (y.array().rowwise() - mean.transpose()).square().colwise().sum().transpose();
  });
  double sum = 0.0;
  for (Index j = 0; j < Y.cols(); ++j)
    sum += total[j] > 0.0 ? 1.0 - residual[j] / total[j] : (residual[j] == 0.0 ? 1.0 : 0.0);
  return sum / static_cast<double>(Y.cols());
}

template <typename Scalar>
double score(const Network<Scalar>& net, Workspace<Scalar>& ws, Index chunk,
             const ConstMatrixMap<Scalar>& X, const ConstMatrixMap<Scalar>& Y) {
  return net.output == Output::identity_squared_error ? r2_score(net, ws, chunk, X, Y)
                                                      : accuracy(net, ws, chunk, X, Y);
}

}  // namespace fastcredit
