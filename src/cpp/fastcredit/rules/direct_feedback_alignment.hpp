/// @file
/// Direct feedback alignment (RULES.md, "Direct feedback alignment"; Nokland 2016): the
/// output error goes straight to every hidden layer through a fixed random B_l,
///   d_L = e, d_l = (B_l e) * f'(a_l), grad W_l = d_l h_{l-1}^T.
/// State "feedback_weights": B_k (n_k x n_L) for k = 1..L-1, drawn once on a fresh fit.
/// Its "feedback_angle" compares B_k with W_{k+1}^T ... W_L^T, the product backprop
/// would send e through if the network were linear (for the top hidden layer that is
/// W_L^T itself, where DFA and FA coincide).
/// @tparam Scalar float or double.
#pragma once

#include "fastcredit/rules/feedback.hpp"

namespace fastcredit {

template <typename Scalar>
struct DirectFeedbackAlignment : RandomFeedback<Scalar> {
  static constexpr const char* name = "direct_feedback_alignment";
  using typename RandomFeedback<Scalar>::Params;
  using RandomFeedback<Scalar>::RandomFeedback;

  static std::vector<StateSpec> state_specs(const std::vector<Index>& units, const Params&) {
    return hidden_layer_specs("feedback_weights", units, [&](std::size_t) { return units.back(); });
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&, Gradients<Scalar>& g) {
    for (int k = 1; k < net.n_layers(); ++k) direct_delta(net, ws, k, this->B_[static_cast<std::size_t>(k - 1)]);
    gradients_from_deltas(ws, g);
  }

  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    // transport = coefs[k] coefs[k+1] ... coefs[L-1] (= W_{k+1}^T ... W_L^T), top down.
    Matrix<Scalar> transport = net.coefs[net.n_layers() - 1];
    std::vector<double> angles(static_cast<std::size_t>(net.n_layers()));
    for (int k = net.n_layers() - 1; k >= 1; --k) {
      if (k < net.n_layers() - 1) transport = (net.coefs[k] * transport).eval();
      angles[static_cast<std::size_t>(k)] = angle_degrees(this->B_[static_cast<std::size_t>(k - 1)], transport);
    }
    report_feedback_angles(net.n_layers(), report, [&](int k) { return angles[static_cast<std::size_t>(k)]; });
  }
};

}  // namespace fastcredit
