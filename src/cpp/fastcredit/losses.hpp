// Output layers paired with their canonical losses. For every pair the error at the
// output pre-activation is e = dLoss/da_L = h_L - y (RULES.md, "Notation").
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fastcredit/types.hpp"

namespace fastcredit {

enum class Output {
  softmax_cross_entropy,   // multi-class classification
  logistic_cross_entropy,  // binary and multi-label classification
  identity_squared_error,  // regression
};

inline Output parse_output(const std::string& name) {
  if (name == "softmax") return Output::softmax_cross_entropy;
  if (name == "logistic") return Output::logistic_cross_entropy;
  if (name == "identity") return Output::identity_squared_error;
  throw InvalidArgument("unknown output activation '" + name + "'");
}

/// h = output activation of a (row-wise softmax, logistic or identity); h may alias a.
template <typename Scalar, typename A, typename H>
void output_activate(Output out, const Eigen::MatrixBase<A>& a, Eigen::MatrixBase<H>& h) {
  switch (out) {
    case Output::softmax_cross_entropy:
      // exp over the whole batch at once: a row of a few classes would be mostly the
      // scalar tail of a vectorised exp (~1/5 of a small fit's time went to libm's exp).
      for (Index i = 0; i < a.rows(); ++i) h.row(i) = a.row(i).array() - a.row(i).maxCoeff();
      h.array() = h.array().exp();
      for (Index i = 0; i < a.rows(); ++i) h.row(i) /= h.row(i).sum();
      break;
    case Output::logistic_cross_entropy:
      h.array() = Scalar(1) / (Scalar(1) + (-a.array()).exp());
      break;
    case Output::identity_squared_error:
      h = a;
      break;
  }
}

/// Sum over the batch (not the mean) of the loss of outputs h against targets y.
/// Probabilities are clipped to [eps, 1 - eps] as scikit-learn's log-loss does.
template <typename Scalar, typename H, typename Y>
double summed_loss(Output out, const Eigen::MatrixBase<H>& h, const Eigen::MatrixBase<Y>& y) {
  const Scalar eps = std::numeric_limits<Scalar>::epsilon();
  const auto p = h.array().max(eps).min(Scalar(1) - eps);
  switch (out) {
    case Output::softmax_cross_entropy:
      return -static_cast<double>((y.array() * p.log()).sum());
    case Output::logistic_cross_entropy:
      return -static_cast<double>(
          (y.array() * p.log() + (Scalar(1) - y.array()) * (Scalar(1) - p).log()).sum());
    case Output::identity_squared_error:
      return 0.5 * static_cast<double>((h - y).squaredNorm());
  }
  return 0.0;
}

/// The batch's loss as scikit-learn reports it (`loss_curve_`, and so `tol`): the summed
/// loss, except squared error, which it also averages over the outputs (its gradient
/// stays the summed loss's, in scikit-learn as here).
template <typename Scalar, typename H, typename Y>
double reported_loss(Output out, const Eigen::MatrixBase<H>& h, const Eigen::MatrixBase<Y>& y) {
  const double summed = summed_loss<Scalar>(out, h, y);
  return out == Output::identity_squared_error ? summed / static_cast<double>(y.cols()) : summed;
}

}  // namespace fastcredit
