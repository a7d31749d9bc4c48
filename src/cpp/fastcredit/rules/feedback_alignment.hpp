/// @file
/// Feedback alignment (RULES.md, "Feedback alignment"; Lillicrap et al. 2016): backprop
/// with W_{l+1}^T replaced by a fixed random B_{l+1} of the same shape,
/// d_L = e, d_l = (B_{l+1} d_{l+1}) * f'(a_l), grad W_l = d_l h_{l-1}^T.
/// State "feedback_weights": B_{k+1}, shaped like coefs[k] (dense: n_k x n_{k+1}; conv/LC:
/// the kernel, transported as M(B)^T d, RULES.md "Layers") for k = 1..L-1, drawn once on a
/// fresh fit with the fans of the layer it stands for.
/// @tparam Scalar float or double.
#pragma once

#include "fastcredit/rules/feedback.hpp"

namespace fastcredit {

template <typename Scalar>
struct FeedbackAlignment : RandomFeedback<Scalar> {
  static constexpr const char* name = "feedback_alignment";
  using typename RandomFeedback<Scalar>::Params;
  using RandomFeedback<Scalar>::RandomFeedback;

  static std::vector<StateSpec> state_specs(const Architecture& layers, const Params&) {
    return layerwise_feedback_specs(layers);
  }

  void init_state(const Network<Scalar>& net, Rng& rng) {
    this->draw_feedback(rng, [&](int k) { return layer_fans(net, k); });
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&, Gradients<Scalar>& g) {
    for (int k = net.n_layers() - 1; k >= 1; --k) propagate_delta(net, ws, k, feedback(k));
    gradients_from_deltas(net, ws, g);
  }

  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    report_feedback_angles(net.n_layers(), report, [&](int k) { return angle_degrees(net.coefs[k], feedback(k)); });
  }

  /// The matrix standing where coefs[k] stands in backprop.
  const MatrixMap<Scalar>& feedback(int k) const { return this->B_[static_cast<std::size_t>(k - 1)]; }
};

}  // namespace fastcredit
