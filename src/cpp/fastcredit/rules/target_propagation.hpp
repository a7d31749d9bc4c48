/// @file
/// Target propagation (RULES.md, "Target propagation"; Lee et al. 2015, Bartunov et al.
/// 2018): every hidden layer l learns locally towards a target `hat h_l` with
/// `0.5 || h_l - hat h_l ||^2` (gradient through its own layer only:
/// `d_l = (h_l - hat h_l) * f'(a_l)`, `grad W_l = d_l h_{l-1}^T`); the output layer learns
/// with the task loss (`d_L = e`). Targets travel down through learned inverses g_l
/// (layer_inverses.hpp) with the difference correction
///   hat h_{l-1} = h_{l-1} + g_l(hat h_l) - g_l(h_l).
///
/// - DTP (`TopTarget::gradient_step`): `hat h_{L-1} = h_{L-1} - beta dLoss/dh_{L-1}`,
///   beta = `target_step`; inverses g_2..g_{L-1}, noise-preserving inverse loss.
/// - SDTP (`TopTarget::label`): no gradient anywhere: `hat h_L = y` (the loss minimiser:
///   the one-hot label) and `hat h_{L-1} = h_{L-1} - g_L(h_L) + g_L(y)`; inverses
///   g_2..g_L, denoising inverse loss. With `target_step` beta < 1 the output's target
///   only moves part of the way to the label, `hat h_L = h_L + beta (y - h_L)` (beta = 1
///   is RULES.md's SDTP). A learned g_L maps each label to its class's typical h_{L-1}, so
///   `g_L(y) - g_L(h_L)` is as large as h_{L-1} itself and saturates the inverses below;
///   a small beta keeps the targets in their near-linear range, as DTP's beta does.
/// - AO-SDTP: SDTP with `auxiliary_output_size` > 0: the output is augmented to [o, z],
///   `z = R h_{L-1}` fixed and random, and `hat h_{L-1} = h_{L-1} - g_L(o, z) + g_L(y, z)`.
///
/// Schedules: `parallel` computes the forward direction and the inverses' gradients from
/// the same snapshot of all weights and steps both; `alternating` lets them take turns:
/// the forward weights step first, then each inverse g_l learns to invert the updated
/// layer f_l (on the batch's activations h_{l-1}), so each inverse step fits the forward
/// weights it will serve and each forward step uses freshly fitted inverses. Inverses
/// learn with the forward weights' optimizer (`solver`, its momentum/betas) and their own
/// learning rate `inverse_learning_rate`, without L2 and without a schedule.
/// @tparam Scalar float or double.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "fastcredit/rules/layer_inverses.hpp"

namespace fastcredit {

enum class TopTarget { gradient_step, label };

template <typename Scalar, TopTarget Top>
class TargetPropagation : public RuleDefaults {
 public:
  static constexpr const char* name =
      Top == TopTarget::gradient_step ? "difference_target_propagation" : "simplified_target_propagation";
  static constexpr bool denoising = Top == TopTarget::label;

  struct Params {
    double target_step, inverse_learning_rate, inverse_noise_std;
    bool alternating;
    Index auxiliary_output_size;
    Options options;  // the optimizer's settings, shared with the inverses

    explicit Params(const Options& o)
        : target_step(o.number("target_step", Top == TopTarget::label ? 1.0 : 0.1)),
          inverse_learning_rate(o.number("inverse_learning_rate", 1e-3)),
          inverse_noise_std(o.number("inverse_noise_std", 0.1)),
          alternating(o.string("schedule", "alternating") == "alternating"),
          auxiliary_output_size(Top == TopTarget::label ? o.integer("auxiliary_output_size", 0) : 0),
          options(o) {
      const std::string schedule = o.string("schedule", "alternating");
      if (schedule != "parallel" && schedule != "alternating")
        throw InvalidArgument("schedule must be 'parallel' or 'alternating'");
      if (!(target_step > 0.0)) throw InvalidArgument("target_step must be > 0");
      if (Top == TopTarget::label && target_step > 1.0)
        throw InvalidArgument("target_step must be <= 1: the output's target lies between h_L and the label");
      if (!(inverse_learning_rate > 0.0)) throw InvalidArgument("inverse_learning_rate must be > 0");
      if (!(inverse_noise_std >= 0.0)) throw InvalidArgument("inverse_noise_std must be >= 0");
      if (auxiliary_output_size < 0) throw InvalidArgument("auxiliary_output_size must be >= 0");
    }
  };

  static std::vector<StateSpec> state_specs(const Architecture& layers, const Params& p) {
    const int L = static_cast<int>(layers.size());
    return LayerInverses<Scalar>::specs(layers, top_inverse(L), p.auxiliary_output_size);
  }

  TargetPropagation(const Params& p, RuleState<Scalar>& state)
      : p_(p), inverses_(state, p.options, p.inverse_learning_rate) {}

  void reserve(const Network<Scalar>& net, Index max_batch) {
    inverses_.reserve(net, max_batch);
    for (auto* s : {&targets_, &activities_, &output_targets_}) s->reserve(max_batch * inverses_.widest());
  }

  void init_state(const Network<Scalar>& net, Rng& rng) { inverses_.initialize(net, rng); }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx,
                Gradients<Scalar>& g) {
    const int L = net.n_layers();
    inverses_.check(net);
    if (inverses_.top() != std::max(1, top_inverse(L)))
      throw InvalidArgument("the inverses do not match the network's depth");
    if (L >= 2) {
      // Targets hat h_l are built in ws.delta(l), top down, then turned into deltas.
      auto top = ws.delta(L - 1);
      if constexpr (Top == TopTarget::gradient_step) {
        net.layers[static_cast<std::size_t>(L - 1)].transport(net.coefs[L - 1], ws.delta(L), top);  // dLoss/dh_{L-1}
        top = ws.h(L - 1) - Scalar(p_.target_step) * top;
      } else if (p_.target_step == 1.0) {
        difference_target(net, ws, L, ctx.targets, top);
      } else {
        // hat h_L = h_L + beta (y - h_L) = h_L - beta e, with ws.delta(L) = e = h_L - y.
        auto output_target = output_targets_.view(ws.batch(), net.units(L));
        output_target = ws.h(L) - Scalar(p_.target_step) * ws.delta(L);
        difference_target(net, ws, L, output_target, top);
      }
      for (int l = L - 2; l >= 1; --l) {
        auto target = ws.delta(l);
        difference_target(net, ws, l + 1, ws.delta(l + 1), target);
        delta_from_target(net, ws, l + 1);
      }
      delta_from_target(net, ws, 1);
    }
    gradients_from_deltas(net, ws, g);
    if (!p_.alternating) inverses_.compute_gradients(net, ws, ctx.rng, denoising, p_.inverse_noise_std);
  }

  void after_step(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx,
                  const Gradients<Scalar>&) {
    if (inverses_.count() == 0) return;
    // ws still holds the batch's activations; net has the updated forward weights.
    if (p_.alternating) inverses_.compute_gradients(net, ws, ctx.rng, denoising, p_.inverse_noise_std);
    inverses_.step();
  }

  /// "inverse_reconstruction_error": per weight layer l, || g_l(h_l) - h_{l-1} || / || h_{l-1} ||
  /// on the probe batch (NaN where layer l has no inverse).
  void report(const Network<Scalar>& net, Workspace<Scalar>& ws, Report& report) {
    auto& errors = report["inverse_reconstruction_error"];
    errors.assign(static_cast<std::size_t>(net.n_layers()), std::nan(""));
    for (int l = 2; l <= inverses_.top(); ++l)
      errors[static_cast<std::size_t>(l - 1)] = inverses_.reconstruction_error(net, ws, l);
  }

 private:
  /// The highest layer with an inverse: L-1 for DTP (its top target is a gradient step), L for SDTP.
  static int top_inverse(int L) { return Top == TopTarget::gradient_step ? L - 1 : L; }

  /// out = hat h_{l-1} = h_{l-1} + g_l(above) - g_l(h_l), `above` = hat h_l
  /// (with the same auxiliary outputs z = R h_{l-1} in both for an AO-SDTP top).
  template <typename Above, typename Out>
  void difference_target(const Network<Scalar>& net, Workspace<Scalar>& ws, int l,
                         const Eigen::MatrixBase<Above>& above, Eigen::MatrixBase<Out>& out) {
    const auto below = ws.h(l - 1);
    auto of_target = targets_.view(below.rows(), below.cols());
    auto of_activity = activities_.view(below.rows(), below.cols());
    if (l == inverses_.top() && inverses_.auxiliary()) {
      const auto z = inverses_.auxiliary_outputs(below);
      inverses_.apply(net, l, above, &z, of_target);
      inverses_.apply(net, l, ws.h(l), &z, of_activity);
    } else {
      inverses_.apply(net, l, above, nullptr, of_target);
      inverses_.apply(net, l, ws.h(l), nullptr, of_activity);
    }
    out = below + of_target - of_activity;
  }

  Params p_;
  LayerInverses<Scalar> inverses_;
  Scratch<Scalar> targets_, activities_, output_targets_;
};

template <typename Scalar>
using DifferenceTargetPropagation = TargetPropagation<Scalar, TopTarget::gradient_step>;
template <typename Scalar>
using SimplifiedTargetPropagation = TargetPropagation<Scalar, TopTarget::label>;

}  // namespace fastcredit
