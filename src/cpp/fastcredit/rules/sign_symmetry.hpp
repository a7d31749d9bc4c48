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
  static std::vector<StateSpec> state_specs(const Architecture& layers, const Params& params) {
    auto specs = layerwise_feedback_specs(layers);
    if (params.random_magnitudes) {
      auto magnitudes = layerwise_feedback_specs(layers, "feedback_magnitudes");
      specs.insert(specs.end(), magnitudes.begin(), magnitudes.end());
    }
    return specs;
  }

  SignSymmetry(const Params& params, RuleState<Scalar>& state)
      : params_(params), feedback_(state.group("feedback_weights")), magnitudes_(state.group("feedback_magnitudes")) {
    if (params.random_magnitudes && magnitudes_.size() != feedback_.size())
      throw InvalidArgument("sign symmetry with random magnitudes needs one magnitude array per feedback matrix");
  }

  void init_state(const Network<Scalar>& net, Rng& rng) {
    if (params_.random_magnitudes)
      for (std::size_t i = 0; i < magnitudes_.size(); ++i) {
        const auto [fan_in, fan_out] = layer_fans(net, static_cast<int>(i) + 1);
        params_.distribution.draw(magnitudes_[i], fan_in, fan_out, rng);
        magnitudes_[i] = magnitudes_[i].cwiseAbs();
      }
  }

  /// Before the first batch of every fit (a warm fit's weights may have been edited).
  void reserve(const Network<Scalar>& net, Index) { follow_weights(net); }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&, Gradients<Scalar>& g) {
    for (int k = net.n_layers() - 1; k >= 1; --k) propagate_delta(net, ws, k, feedback(k));
    gradients_from_deltas(net, ws, g);
  }

  void after_step(const Network<Scalar>& net, Workspace<Scalar>&, StepContext<Scalar>&, const Gradients<Scalar>&) {
    follow_weights(net);
  }

  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    report_feedback_angles(net.n_layers(), report, [&](int k) { return angle_degrees(net.coefs[k], feedback(k)); });
  }

 private:
  const MatrixMap<Scalar>& feedback(int k) const { return feedback_[static_cast<std::size_t>(k - 1)]; }

  /// feedback_weights[k - 1] = sign(coefs[k]) * M_k for the weights as they are now: once
  /// per step, the state the next backward pass transports through and the user sees.
  void follow_weights(const Network<Scalar>& net) {
    for (int k = 1; k < net.n_layers(); ++k) {
      auto& B = feedback_[static_cast<std::size_t>(k - 1)];
      if (params_.random_magnitudes) {
        B = net.coefs[k].array().sign() * magnitudes_[static_cast<std::size_t>(k - 1)].array();
      } else {
        const auto [fan_in, fan_out] = layer_fans(net, k);
        B = static_cast<Scalar>(params_.distribution.mean_magnitude(fan_in, fan_out)) * net.coefs[k].array().sign();
      }
    }
  }

  Params params_;
  std::vector<MatrixMap<Scalar>> feedback_, magnitudes_;
};

}  // namespace fastcredit
