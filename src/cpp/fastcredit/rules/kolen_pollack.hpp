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
///
/// Then B - W (coefs layout) only shrinks: B_t = W_t + (1 - lam)^t (B_0 - W_0), t steps
/// into a fit. So B is kept as that sum, one fused pass per step over W, B and the fit's
/// starting offset B_0 - W_0, in place of a copy of W and two passes; the pre-step W the
/// decay needs is B - (1 - lam)^t (B_0 - W_0). Only the first layer, which has no B,
/// keeps a copy of its pre-step weights.
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

  /// Before every fit: the offset B_0 - W_0 of the state handed in.
  void reserve(const Network<Scalar>& net, Index) {
    first_before_step_.resize(net.coefs[0].rows(), net.coefs[0].cols());
    offsets_.clear();
    for (int k = 1; k < net.n_layers(); ++k) offsets_.emplace_back(this->feedback(k) - net.coefs[k]);
    shrink_ = 1.0;
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx, Gradients<Scalar>& g) {
    first_before_step_ = net.coefs[0];
    FeedbackAlignment<Scalar>::backward(net, ws, ctx, g);
  }

  void after_step(Network<Scalar>& net, Workspace<Scalar>&, StepContext<Scalar>&, const Gradients<Scalar>&) {
    net.coefs[0] -= decay_ * first_before_step_;
    const auto before = static_cast<Scalar>(shrink_);
    shrink_ *= 1.0 - static_cast<double>(decay_);
    const auto after = static_cast<Scalar>(shrink_);
    for (int k = 1; k < net.n_layers(); ++k) {
      Scalar* W = net.coefs[k].data();
      Scalar* B = this->B_[static_cast<std::size_t>(k - 1)].data();
      const Scalar* offset = offsets_[static_cast<std::size_t>(k - 1)].data();
      for (Index j = 0, size = net.coefs[k].size(); j < size; ++j) {
        const Scalar w = W[j] - decay_ * (B[j] - before * offset[j]);
        W[j] = w;
        B[j] = w + after * offset[j];
      }
    }
  }

 private:
  Scalar decay_;
  double shrink_ = 1.0;  // (1 - lam)^t
  Matrix<Scalar> first_before_step_;
  std::vector<Matrix<Scalar>> offsets_;
};

}  // namespace fastcredit
