/// @file
/// What the feedback-alignment family shares (RULES.md, "Feedback alignment", "Direct
/// feedback alignment", "Sign symmetry", "Kolen-Pollack"): the distribution random
/// feedback matrices are drawn from, the error sent straight from the output to a hidden
/// layer, and the "feedback_angle" diagnostic between a feedback matrix and the forward
/// weights it stands in for.
///
/// Every feedback matrix is stored in the orientation RULES.md gives B: the one that
/// replaces coefs[k] has its shape (a dense layer's W_{k+1}^T, n_k x n_{k+1}; a conv or
/// LC layer's kernel, RULES.md "Layers"); DFA's B_k is n_k x n_L over the flattened units.
/// Feedback matrices (state "feedback_weights") exist for the hidden layers k = 1..L-1
/// only, the first layer's weights have no error to send further down.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

/// How random feedback matrices (or their magnitudes) are drawn: `feedback_init`
/// "uniform" (on +-scale) or "normal" (standard deviation scale); `feedback_scale` a
/// positive number or "auto", the Glorot scale of the fans of what the matrix stands for
/// (sqrt(6 / (fan_in + fan_out)) uniform, sqrt(2 / (fan_in + fan_out)) normal), i.e. the
/// forward weights' own; a dense matrix's fans are its rows and columns.
struct FeedbackDistribution {
  bool uniform = true;
  double scale = 0.0;  // 0: auto

  explicit FeedbackDistribution(const Options& o) {
    const std::string init = o.string("feedback_init", "uniform");
    if (init != "uniform" && init != "normal") throw InvalidArgument("feedback_init must be 'uniform' or 'normal'");
    uniform = init == "uniform";
    if (o.strings.count("feedback_scale")) {
      if (o.string("feedback_scale", "auto") != "auto")
        throw InvalidArgument("feedback_scale must be a positive number or 'auto'");
    } else {
      scale = o.number("feedback_scale", 0.0);
      if (o.numbers.count("feedback_scale") && !(scale > 0.0 && std::isfinite(scale)))
        throw InvalidArgument("feedback_scale must be a positive number or 'auto'");
    }
  }

  /// The uniform bound or normal standard deviation for these fans.
  double scale_for(double fan_in, double fan_out) const {
    if (scale > 0.0) return scale;
    return std::sqrt((uniform ? 6.0 : 2.0) / (fan_in + fan_out));
  }

  /// E|x| of one draw for these fans: the magnitude sign symmetry's uniform mode gives
  /// every feedback weight, so that both of its modes are equally large.
  double mean_magnitude(double fan_in, double fan_out) const {
    const double s = scale_for(fan_in, fan_out);
    return uniform ? 0.5 * s : s * std::sqrt(2.0 / 3.141592653589793);
  }

  template <typename Scalar>
  void draw(MatrixMap<Scalar>& B, double fan_in, double fan_out, Rng& rng) const {
    const double s = scale_for(fan_in, fan_out);
    for (Index i = 0; i < B.size(); ++i)
      B.data()[i] = static_cast<Scalar>(uniform ? rng.uniform(-s, s) : s * rng.normal());
  }
};

/// What FA, DFA and KP share: feedback matrices (the rule's whole state) drawn once from
/// the feedback distribution on a fresh fit.
template <typename Scalar>
struct RandomFeedback : RuleDefaults {
  struct Params {
    FeedbackDistribution distribution;
    explicit Params(const Options& o) : distribution(o) {}
  };

  RandomFeedback(const Params& params, RuleState<Scalar>& state)
      : params_(params), B_(state.group("feedback_weights")) {}

 protected:
  /// B_k for k = 1..L-1 drawn with fans(k) = {fan_in, fan_out}.
  template <typename Fans>
  void draw_feedback(Rng& rng, Fans fans) {
    for (std::size_t i = 0; i < B_.size(); ++i) {
      const auto [fan_in, fan_out] = fans(static_cast<int>(i) + 1);
      params_.distribution.draw(B_[i], fan_in, fan_out, rng);
    }
  }

  Params params_;
  std::vector<MatrixMap<Scalar>> B_;
};

/// Specs `name` shaped like the kernels of layers k = 1..L-1, which the feedback
/// replaces (FA, SS, KP).
inline std::vector<StateSpec> layerwise_feedback_specs(const Architecture& layers,
                                                       const std::string& name = "feedback_weights") {
  std::vector<StateSpec> specs;
  for (std::size_t k = 1; k < layers.size(); ++k) specs.emplace_back(name, layers[k].kernel_shape());
  return specs;
}

/// The fans of the kernel of layer k.
template <typename Scalar>
std::pair<double, double> layer_fans(const Network<Scalar>& net, int k) {
  return {net.geometry(k).fan_in(), net.geometry(k).fan_out()};
}

/// d_k = (e F^T) * f'(a_k): the output error e = ws.delta(L) sent straight to hidden
/// layer k through F (n_k x n_L), DFA's d_l = (B_l e) * f'(a_l).
template <typename Scalar, typename Feedback>
void direct_delta(const Network<Scalar>& net, Workspace<Scalar>& ws, int k, const Eigen::MatrixBase<Feedback>& F) {
  auto d = ws.delta(k);
  multiply(ws.delta(net.n_layers()), F.transpose(), d);
  multiply_by_derivative<Scalar>(net.hidden_activation, ws.a(k), ws.h(k), d);
}

/// report["feedback_angle"][k] = angle_of(k), the angle between the feedback matrix of
/// layer k and the forward weights it stands in for, for k = 1..L-1; NaN for the first
/// layer, which has none.
template <typename AngleOf>
void report_feedback_angles(int n_layers, Report& report, AngleOf angle_of) {
  auto& angles = report["feedback_angle"];
  angles.assign(static_cast<std::size_t>(n_layers), std::numeric_limits<double>::quiet_NaN());
  for (int k = 1; k < n_layers; ++k) angles[static_cast<std::size_t>(k)] = angle_of(k);
}

}  // namespace fastcredit
