/// @file
/// Direct feedback alignment (RULES.md, "Direct feedback alignment"; Nokland 2016): the
/// output error goes straight to every hidden layer through a fixed random B_l,
///   d_L = e, d_l = (B_l e) * f'(a_l), grad W_l = d_l h_{l-1}^T.
/// State "feedback_weights": B_k (n_k x n_L) for k = 1..L-1, drawn once on a fresh fit.
/// Its "feedback_angle" compares B_k with W_{k+1}^T ... W_L^T, the map backprop would send
/// e through if the network were linear (for the top hidden layer that is W_L^T itself,
/// where DFA and FA coincide); with conv/LC layers, the matrix of the transports
/// M(W_{k+1})^T ... M(W_L)^T, found by sending the identity down through them.
/// @tparam Scalar float or double.
#pragma once

#include "fastcredit/rules/feedback.hpp"

namespace fastcredit {

template <typename Scalar>
struct DirectFeedbackAlignment : RandomFeedback<Scalar> {
  static constexpr const char* name = "direct_feedback_alignment";
  using typename RandomFeedback<Scalar>::Params;
  using RandomFeedback<Scalar>::RandomFeedback;

  static std::vector<StateSpec> state_specs(const Architecture& layers, const Params&) {
    std::vector<StateSpec> specs;
    for (std::size_t k = 1; k < layers.size(); ++k)
      specs.emplace_back("feedback_weights", layers[k - 1].out_units(), layers.back().out_units());
    return specs;
  }

  void init_state(const Network<Scalar>&, Rng& rng) {
    this->draw_feedback(rng, [&](int k) {
      const auto& B = this->B_[static_cast<std::size_t>(k - 1)];
      return std::pair<double, double>(double(B.rows()), double(B.cols()));
    });
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&, Gradients<Scalar>& g) {
    for (int k = 1; k < net.n_layers(); ++k) direct_delta(net, ws, k, this->B_[static_cast<std::size_t>(k - 1)]);
    gradients_from_deltas(net, ws, g);
  }

  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    // B_k against the map from the output's error down to layer k (dense: coefs[k] ...
    // coefs[L-1]); a few rows (n_L) per layer, once per diagnostics epoch.
    const int L = net.n_layers();
    report_feedback_angles(L, report, [&](int k) {
      return angle_degrees(this->B_[static_cast<std::size_t>(k - 1)], transported_identity(net, L, k).transpose());
    });
  }
};

}  // namespace fastcredit
