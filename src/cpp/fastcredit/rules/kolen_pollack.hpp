/// @file
/// Kolen-Pollack (RULES.md, "Kolen-Pollack"; Kolen & Pollack 1994, Akrout et al. 2019):
/// feedback alignment's deltas, with B learned by the transpose of W's own update and the
/// same decay,
///   dW_{l+1} = -eta d_{l+1} h_l^T - lam W_{l+1},   dB_{l+1} = -eta h_l d_{l+1}^T - lam B_{l+1},
/// so that W_{l+1}^T - B_{l+1} shrinks by (1 - lam) every step. B is stored as W^T is
/// (coefs layout), so "the transpose of W's update" is the very change the optimizer just
/// made to coefs[k]: B copies it (whatever the solver, momentum or L2), then both lose lam
/// times their pre-step value (`decay`, every forward weight matrix). With plain SGD and
/// alpha = 0 this is the equation above exactly.
/// @tparam Scalar float or double.
#pragma once

#include "fastcredit/rules/feedback_alignment.hpp"

namespace fastcredit {

template <typename Scalar>
struct KolenPollack : FeedbackAlignment<Scalar> {
  static constexpr const char* name = "kolen_pollack";
  struct Params : FeedbackAlignment<Scalar>::Params {
    double decay;
    explicit Params(const Options& o) : FeedbackAlignment<Scalar>::Params(o), decay(o.number("decay", 1e-3)) {
      if (!(decay >= 0.0 && decay < 1.0)) throw InvalidArgument("decay must be in [0, 1)");
    }
  };

  KolenPollack(const Params& params, RuleState<Scalar>& state)
      : FeedbackAlignment<Scalar>(params, state), decay_(static_cast<Scalar>(params.decay)) {}

  void reserve(const Network<Scalar>& net, Index) {
    coefs_before_step_.clear();
    for (const auto& W : net.coefs) coefs_before_step_.emplace_back(W.rows(), W.cols());
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx, Gradients<Scalar>& g) {
    // The pre-step weights, to see the optimizer's change in after_step.
    for (std::size_t l = 0; l < net.coefs.size(); ++l) coefs_before_step_[l] = net.coefs[l];
    FeedbackAlignment<Scalar>::backward(net, ws, ctx, g);
  }

  void after_step(Network<Scalar>& net, Workspace<Scalar>&, StepContext<Scalar>&, const Gradients<Scalar>&) {
    for (int l = 0; l < net.n_layers(); ++l) {
      const auto& before = coefs_before_step_[static_cast<std::size_t>(l)];
      if (l > 0) {
        auto& B = this->B_[static_cast<std::size_t>(l - 1)];
        B += (net.coefs[l] - before) - decay_ * B;
      }
      net.coefs[l] -= decay_ * before;
    }
  }

 private:
  Scalar decay_;
  std::vector<Matrix<Scalar>> coefs_before_step_;
};

}  // namespace fastcredit
