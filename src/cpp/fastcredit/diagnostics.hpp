// Diagnostics on a fixed probe batch: per layer, the angle between the rule's update and
// the true (backprop) gradient, plus whatever the rule reports of itself (feedback
// angles, inversion residuals, ...). Also the rule's raw update direction on a batch.
#pragma once

#include <algorithm>

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

template <template <typename> class Rule, typename Scalar>
class Probe {
 public:
  /// Up to `size` evenly spaced rows of (X, Y): fixed for the whole fit, no randomness.
  Probe(const Network<Scalar>& net, const ConstMatrixMap<Scalar>& X, const ConstMatrixMap<Scalar>& Y,
        Index size, std::uint64_t seed)
      : X_(std::min(size, X.rows()), X.cols()),
        Y_(X_.rows(), Y.cols()),
        ws_(net, X_.rows()),
        rule_grads_(net),
        true_grads_(net),
        rng_(seed) {
    for (Index i = 0; i < X_.rows(); ++i) {
      const Index row = i * X.rows() / X_.rows();
      X_.row(i) = X.row(row);
      Y_.row(i) = Y.row(row);
    }
  }

  Index rows() const { return X_.rows(); }

  Report measure(const Network<Scalar>& net, Rule<Scalar>& rule, double learning_rate) {
    const int L = net.n_layers();
    MatrixMap<Scalar> targets(Y_.data(), Y_.rows(), Y_.cols());
    StepContext<Scalar> ctx{targets, rng_, learning_rate, true};
    ws_.h(0) = X_;
    forward(net, ws_);
    ws_.delta(L) = ws_.h(L) - Y_;
    RuleState<Scalar> no_state;
    Backprop<Scalar>(typename Backprop<Scalar>::Params(Options{}), no_state).backward(net, ws_, ctx, true_grads_);
    ws_.delta(L) = ws_.h(L) - Y_;
    rule.backward(net, ws_, ctx, rule_grads_);

    Report report;
    auto& angles = report["update_angle"];
    for (int l = 0; l < L; ++l) angles.push_back(angle_degrees(rule_grads_.coefs[l], true_grads_.coefs[l]));
    rule.report(net, ws_, report);
    return report;
  }

 private:
  Matrix<Scalar> X_, Y_;
  Workspace<Scalar> ws_;
  Gradients<Scalar> rule_grads_, true_grads_;
  Rng rng_;
};

/// The rule's update direction (batch-averaged, without L2) on the batch (X, Y).
template <template <typename> class Rule, typename Scalar>
Gradients<Scalar> direction(const Network<Scalar>& net, RuleState<Scalar>& state, const ConstMatrixMap<Scalar>& X,
                            const ConstMatrixMap<Scalar>& Y, const Options& options) {
  net.check();
  const int L = net.n_layers();
  if (X.rows() == 0 || X.cols() != net.units(0) || Y.cols() != net.units(L) || Y.rows() != X.rows())
    throw InvalidArgument("data does not match the network's input/output sizes");
  Workspace<Scalar> ws(net, X.rows());
  Matrix<Scalar> y = Y;
  MatrixMap<Scalar> targets(y.data(), y.rows(), y.cols());
  Rng rng(static_cast<std::uint64_t>(options.number("seed", 0)));
  StepContext<Scalar> ctx{targets, rng, options.number("learning_rate_init", 1e-3)};
  Rule<Scalar> rule(typename Rule<Scalar>::Params(options), state);
  rule.reserve(net, X.rows());
  ws.h(0) = X;
  forward(net, ws);
  ws.delta(L) = ws.h(L) - y;
  Gradients<Scalar> g(net);
  rule.backward(net, ws, ctx, g);
  return g;
}

}  // namespace fastcredit
