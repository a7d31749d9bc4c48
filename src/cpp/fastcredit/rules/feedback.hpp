/// @file
/// What the feedback-alignment family shares (RULES.md, "Feedback alignment", "Direct
/// feedback alignment", "Sign symmetry", "Kolen-Pollack"): the distribution random
/// feedback matrices are drawn from, the error sent straight from the output to a hidden
/// layer, and the "feedback_angle" diagnostic between a feedback matrix and the forward
/// weights it stands in for.
///
/// Every feedback matrix is stored in the orientation RULES.md gives B: the one that
/// replaces coefs[k] (= W_{k+1}^T, n_k x n_{k+1}) has that shape; DFA's B_k is n_k x n_L.
/// Feedback matrices (state "feedback_weights") exist for the hidden layers k = 1..L-1
/// only, the first layer's weights have no error to send further down.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

/// How random feedback matrices (or their magnitudes) are drawn: `feedback_init`
/// "uniform" (on +-scale) or "normal" (standard deviation scale); `feedback_scale` a
/// positive number or "auto", the Glorot scale of the matrix's shape (sqrt(6 / (rows +
/// cols)) uniform, sqrt(2 / (rows + cols)) normal), i.e. the forward weights' own.
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

  /// The uniform bound or normal standard deviation for a rows x cols matrix.
  double scale_for(Index rows, Index cols) const {
    if (scale > 0.0) return scale;
    return std::sqrt((uniform ? 6.0 : 2.0) / static_cast<double>(rows + cols));
  }

  /// E|x| of one draw for a rows x cols matrix: the magnitude sign symmetry's uniform
  /// mode gives every feedback weight, so that both of its modes are equally large.
  double mean_magnitude(Index rows, Index cols) const {
    const double s = scale_for(rows, cols);
    return uniform ? 0.5 * s : s * std::sqrt(2.0 / 3.141592653589793);
  }

  template <typename Scalar>
  void draw(MatrixMap<Scalar>& B, Rng& rng) const {
    const double s = scale_for(B.rows(), B.cols());
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

  RandomFeedback(const Params& params, RuleState<Scalar>& state) : params_(params), B_(state.arrays) {}

  void init_state(const Network<Scalar>&, Rng& rng) {
    for (auto& B : B_) params_.distribution.draw(B, rng);
  }

 protected:
  Params params_;
  std::vector<MatrixMap<Scalar>>& B_;
};

/// One {"feedback_weights", n_k, cols(k)} spec per hidden layer k = 1..L-1.
template <typename Cols>
std::vector<StateSpec> hidden_layer_specs(const std::string& name, const std::vector<Index>& units, Cols cols) {
  std::vector<StateSpec> specs;
  for (std::size_t k = 1; k + 1 < units.size(); ++k) specs.push_back({name, units[k], cols(k)});
  return specs;
}

/// Specs of feedback matrices shaped like the forward weights they replace (FA, SS, KP).
inline std::vector<StateSpec> layerwise_feedback_specs(const std::vector<Index>& units) {
  return hidden_layer_specs("feedback_weights", units, [&](std::size_t k) { return units[k + 1]; });
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
