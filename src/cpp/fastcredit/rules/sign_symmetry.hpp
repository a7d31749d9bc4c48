/// @file
/// Sign symmetry (RULES.md, "Sign symmetry"; Liao et al. 2016, Xiao et al. 2018): feedback
/// alignment with B_{l+1} = sign(W_{l+1})^T * M_{l+1}, sign-concordant with the current
/// forward weights. `feedback_magnitude` "uniform": M = E|x| of the feedback distribution
/// (one value per layer); "random": M = |R|, R drawn once from it (state
/// "feedback_magnitudes"). State "feedback_weights" shows B for the current weights.
/// @tparam Scalar float or double.
#pragma once

#include <string>

#include "fastcredit/rules/feedback.hpp"

namespace fastcredit {

template <typename Scalar>
struct SignSymmetry : RuleDefaults {
  static constexpr const char* name = "sign_symmetry";
  struct Params {
    FeedbackDistribution distribution;
    bool random_magnitudes;
    explicit Params(const Options& o) : distribution(o) {
      const std::string magnitude = o.string("feedback_magnitude", "uniform");
      if (magnitude != "uniform" && magnitude != "random")
        throw InvalidArgument("feedback_magnitude must be 'uniform' or 'random'");
      random_magnitudes = magnitude == "random";
    }
  };

  /// feedback_weights for k = 1..L-1, then (random magnitudes) feedback_magnitudes alike.
  static std::vector<StateSpec> state_specs(const std::vector<Index>& units, const Params& params) {
    auto specs = layerwise_feedback_specs(units);
    if (params.random_magnitudes) {
      auto magnitudes = hidden_layer_specs("feedback_magnitudes", units, [&](std::size_t k) { return units[k + 1]; });
      specs.insert(specs.end(), magnitudes.begin(), magnitudes.end());
    }
    return specs;
  }

  SignSymmetry(const Params& params, RuleState<Scalar>& state) : params_(params), state_(state.arrays) {
    const std::size_t hidden = params.random_magnitudes ? state_.size() / 2 : state_.size();
    for (std::size_t i = 0; i < hidden; ++i) feedback_.emplace_back(state_[i].rows(), state_[i].cols());
  }

  void init_state(const Network<Scalar>& net, Rng& rng) {
    if (params_.random_magnitudes)
      for (std::size_t i = feedback_.size(); i < state_.size(); ++i) {
        params_.distribution.draw(state_[i], rng);
        state_[i] = state_[i].cwiseAbs();
      }
    publish(net);
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&, Gradients<Scalar>& g) {
    for (int k = net.n_layers() - 1; k >= 1; --k) propagate_delta(net, ws, k, feedback(net, k));
    gradients_from_deltas(ws, g);
  }

  void after_step(const Network<Scalar>& net, Workspace<Scalar>&, StepContext<Scalar>&, const Gradients<Scalar>&) {
    publish(net);
  }

  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    report_feedback_angles(net.n_layers(), report, [&](int k) { return angle_degrees(net.coefs[k], feedback(net, k)); });
  }

 private:
  /// sign(coefs[k]) * M_k, computed from the weights as they are now (into a buffer).
  const Matrix<Scalar>& feedback(const Network<Scalar>& net, int k) {
    const auto i = static_cast<std::size_t>(k - 1);
    auto& B = feedback_[i];
    if (params_.random_magnitudes)
      B = net.coefs[k].array().sign() * state_[feedback_.size() + i].array();
    else
      B = static_cast<Scalar>(params_.distribution.mean_magnitude(B.rows(), B.cols())) * net.coefs[k].array().sign();
    return B;
  }

  /// Keeps the exposed feedback_weights equal to the feedback of the current weights.
  void publish(const Network<Scalar>& net) {
    for (int k = 1; k < net.n_layers(); ++k) state_[static_cast<std::size_t>(k - 1)] = feedback(net, k);
  }

  Params params_;
  std::vector<MatrixMap<Scalar>>& state_;
  std::vector<Matrix<Scalar>> feedback_;
};

}  // namespace fastcredit
