/// @file
/// Dynamic inversion (Podlaski & Machens 2020; RULES.md, "Dynamic inversion"): the error
/// is sent down by *inverting* each layer with fast feedback dynamics through fixed
/// feedback weights B (shape of W^T), whose steady state is r = B (W B - alpha I)^{-1} e.
///
/// - `inversion="dynamic"` (DI): the Euler dynamics of feedback_dynamics.hpp, layer by
///   layer from the top; d_{l-1} = r * f'(a_{l-1}).
/// - `"direct"` (NDI): the steady state by one factorisation per layer and batch.
/// - `"nonlinear"`: the dynamics through the nonlinearity: r is the pre-activation change
///   of layer l-1 that produces the error, hat h_{l-1} = f(a_{l-1} - r) its target, and
///   d_{l-1} = (h_{l-1} - hat h_{l-1}) * f'(a_{l-1}) (delta_from_inverted_error below).
/// - `"single_loop"` (SLDI): one loop from the output error to the first hidden layer
///   through one B (n_1 x n_L), the hidden layers between following their forward
///   dynamics; every hidden layer's r_l becomes its delta as for "nonlinear".
///
/// Stability (loop_stability.hpp) is checked at init, every `stability_check_every`
/// batches and whenever the dynamics diverge. When violated, `on_unstable="repair"` blends
/// B towards -P^T (P the loop's forward map), then shrinks it, until the loop is stable,
/// and halves the step of dynamics that diverge; `"raise"` (or an irreparable loop, e.g. an
/// expanding layer without leak) stops the fit with an InvalidArgument naming the layer.
///
/// Conv and LC layers (RULES.md, "Layers"): the dynamics run through the layers' operators
/// (M(W) r forward, M(B)^T u for a B shaped like the kernel). The stability check needs
/// the loop's matrices: they are found by sending the identity through the operators, and
/// the check's eigenproblem has the size of the loop's narrower end, so a layer-wise loop
/// through a conv/LC layer whose narrower end exceeds kMaxOperatorLoop units is refused
/// before any work (single-loop DI's loop ends at the output and is always checked). The
/// direct solve (`"direct"`) needs dense layers and is refused otherwise.
/// @tparam Scalar float or double.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fastcredit/feedback_dynamics.hpp"
#include "fastcredit/loop_stability.hpp"
#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

template <typename Scalar>
struct DynamicInversion : RuleDefaults {
  static constexpr const char* name = "dynamic_inversion";
  enum class Inversion { dynamic, direct, nonlinear, single_loop };
  enum class FeedbackInit { negative_transpose, random, optimized };

  struct Params {
    Inversion inversion;
    FeedbackInit feedback_init;
    DynamicsSettings dynamics;
    bool repair;
    long check_every;

    explicit Params(const Options& o)
        : inversion(parse_inversion(o.string("inversion", "dynamic"))),
          feedback_init(parse_init(o.string("feedback_init", "negative_transpose"))),
          repair(parse_policy(o.string("on_unstable", "repair"))),
          check_every(o.integer("stability_check_every", 50)) {
      dynamics.dt = o.number("dt", 0.2);
      dynamics.n_steps = o.integer("n_steps", 50);
      dynamics.tol = o.number("inversion_tol", 1e-6);
      dynamics.leak = o.number("leak", 0.0);
      dynamics.through_nonlinearity = inversion == Inversion::nonlinear || inversion == Inversion::single_loop;
      if (!(dynamics.dt > 0.0) || dynamics.n_steps < 1 || !(dynamics.tol >= 0.0) || !(dynamics.leak >= 0.0) ||
          check_every < 0)
        throw InvalidArgument("dynamic inversion needs dt > 0, n_steps >= 1, inversion_tol >= 0, leak >= 0 "
                              "and stability_check_every >= 0");
    }

    static Inversion parse_inversion(const std::string& s) {
      if (s == "dynamic") return Inversion::dynamic;
      if (s == "direct") return Inversion::direct;
      if (s == "nonlinear") return Inversion::nonlinear;
      if (s == "single_loop") return Inversion::single_loop;
      throw InvalidArgument("inversion must be 'dynamic', 'direct', 'nonlinear' or 'single_loop', got '" + s + "'");
    }
    static FeedbackInit parse_init(const std::string& s) {
      if (s == "negative_transpose") return FeedbackInit::negative_transpose;
      if (s == "random") return FeedbackInit::random;
      if (s == "optimized") return FeedbackInit::optimized;
      throw InvalidArgument("feedback_init must be 'negative_transpose', 'random' or 'optimized', got '" + s + "'");
    }
    static bool parse_policy(const std::string& s) {
      if (s == "repair") return true;
      if (s == "raise") return false;
      throw InvalidArgument("on_unstable must be 'repair' or 'raise', got '" + s + "'");
    }
  };

  /// Layer-wise loops through a conv/LC layer with a narrower end above this are refused.
  static constexpr Index kMaxOperatorLoop = 1024;

  /// One feedback matrix per inverted layer k = 1..L-1 (shape of coefs[k]); single-loop DI
  /// has one, n_1 x n_L.
  static std::vector<StateSpec> state_specs(const Architecture& layers, const Params& p) {
    const int L = static_cast<int>(layers.size());
    const auto units = layer_units(layers);
    std::vector<StateSpec> specs;
    if (L < 2) return specs;
    if (p.inversion == Inversion::single_loop) return {{"feedback_weights", units[1], units[L]}};
    for (int k = 1; k < L; ++k) {
      const auto& g = layers[static_cast<std::size_t>(k)];
      if (!g.is_dense()) {
        const std::string where = "layer " + std::to_string(k) + " (" + kind_name(g.kind) + ")";
        if (p.inversion == Inversion::direct)
          throw InvalidArgument("inversion='direct' needs dense layers; " + where +
                                " is not: use inversion='dynamic' or 'nonlinear'");
        if (std::min(g.in_units(), g.out_units()) > kMaxOperatorLoop)
          throw InvalidArgument("the stability check of the loop inverting " + where + " (" +
                                std::to_string(g.in_units()) + " -> " + std::to_string(g.out_units()) +
                                " units) would need an eigenproblem of " +
                                std::to_string(std::min(g.in_units(), g.out_units())) + " units (at most " +
                                std::to_string(kMaxOperatorLoop) + "); use inversion='single_loop'");
      }
      specs.emplace_back("feedback_weights", g.kernel_shape());
    }
    return specs;
  }

  DynamicInversion(const Params& p, RuleState<Scalar>& state)
      : p_(p),
        B_(state.group("feedback_weights")),
        loops_(B_.size()),
        residual_(B_.size(), std::nan("")),
        step_scale_(B_.size(), 1.0),
        repairs_(B_.size(), 0.0) {}

  void init_state(const Network<Scalar>& net, Rng& rng) {
    for (std::size_t i = 0; i < B_.size(); ++i) {
      auto& B = B_[i];
      switch (p_.feedback_init) {
        case FeedbackInit::negative_transpose: B = (-forward_map_transposed(net, i)).template cast<Scalar>(); break;
        case FeedbackInit::random: {
          const double scale = std::sqrt(6.0 / static_cast<double>(B.rows() + B.cols()));
          for (Index j = 0; j < B.size(); ++j) B.data()[j] = static_cast<Scalar>(rng.uniform(-scale, scale));
          break;
        }
        case FeedbackInit::optimized:
          if (B.isZero(0))
            throw InvalidArgument("feedback_init='optimized' needs the feedback weights computed by the caller "
                                  "(the Python estimators do this with scipy)");
          break;
      }
    }
    enforce_stability(net);
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx, Gradients<Scalar>& g) {
    const int L = net.n_layers();
    for (int i = static_cast<int>(B_.size()) - 1; i >= 0; --i) {
      const int k = bottom(i), top = top_of(i, L);
      const auto& B = B_[static_cast<std::size_t>(i)];
      if (p_.inversion == Inversion::direct)
        residual_[i] = loops_[i].solve_direct(net, ws, k, B, p_.dynamics.leak, ctx.measuring);
      else
        run_dynamics(net, ws, i, k, top, B, ctx.measuring);
      if (p_.inversion == Inversion::dynamic || p_.inversion == Inversion::direct) {
        auto d = ws.delta(k);
        multiply_by_derivative<Scalar>(net.hidden_activation, ws.a(k), ws.h(k), d);
      }
    }
    // Every loop below has read its error r_top: the targets can become deltas now.
    if (p_.dynamics.through_nonlinearity)
      for (int k = 1; k < L; ++k) delta_from_inverted_error(net, ws, k);
    gradients_from_deltas(net, ws, g);
  }

  void after_step(const Network<Scalar>& net, Workspace<Scalar>&, StepContext<Scalar>&, const Gradients<Scalar>&) {
    ++batches_;
    if (force_check_ || (p_.check_every > 0 && batches_ % p_.check_every == 0)) enforce_stability(net);
    force_check_ = false;
  }

  /// Per layer (at the index of the weight matrix the loop inverts, NaN elsewhere): the
  /// loop's spectral abscissa, the inversion's last relative residual (on the probe), the
  /// angle between B and -P^T in degrees, the repairs so far and the Euler step in use.
  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    const int L = net.n_layers();
    for (const char* key : {"spectral_abscissa", "inversion_residual", "feedback_angle", "stability_repairs",
                            "inversion_step"})
      report[key].assign(static_cast<std::size_t>(L), std::nan(""));
    for (std::size_t i = 0; i < B_.size(); ++i) {
      const auto at = static_cast<std::size_t>(top_of(static_cast<int>(i), L) - 1);
      const Eigen::MatrixXd PT = forward_map_transposed(net, i);
      const Eigen::MatrixXd B = B_[i].template cast<double>();
      report["spectral_abscissa"][at] = abscissa(net, PT, B, i);
      report["inversion_residual"][at] = residual_[i];
      report["feedback_angle"][at] = angle_degrees(B, -PT);
      report["stability_repairs"][at] = repairs_[i];
      if (p_.inversion != Inversion::direct) report["inversion_step"][at] = p_.dynamics.dt * step_scale_[i];
    }
  }

 private:
  /// Through the nonlinearity, r_k in ws.delta(k) is the change of layer k's
  /// pre-activation that the loop asks for: the target is hat h_k = f(a_k - r_k), and the
  /// layer learns with the local loss 0.5 ||h_k - hat h_k||^2 as in target propagation,
  /// d_k = (h_k - f(a_k - r_k)) * f'(a_k), r * f'(a_k)^2 for small r. Unlike r itself it
  /// stays bounded when the target lies beyond a saturating unit's range (where the
  /// dynamics have no steady state and r grows with every step).
  static void delta_from_inverted_error(const Network<Scalar>& net, Workspace<Scalar>& ws, int k) {
    auto d = ws.delta(k);
    d = ws.a(k) - d;
    activate<Scalar>(net.hidden_activation, d, d);  // hat h_k
    delta_from_target(net, ws, k);
  }

  int bottom(int i) const { return p_.inversion == Inversion::single_loop ? 1 : i + 1; }
  int top_of(int i, int L) const { return p_.inversion == Inversion::single_loop ? L : i + 2; }

  /// What B stands in for, negated: a layer-wise loop's forward kernel coefs[bottom] (a
  /// dense layer's n_bottom x n_top P^T); single-loop DI's P^T = coefs[bottom] ...
  /// coefs[top - 1] as a matrix, the identity of the output sent down through the layers.
  Eigen::MatrixXd forward_map_transposed(const Network<Scalar>& net, std::size_t i) const {
    const int first = bottom(static_cast<int>(i)), last = top_of(static_cast<int>(i), net.n_layers());
    if (last == first + 1 && p_.inversion != Inversion::single_loop) return net.coefs[first].template cast<double>();
    return transported_identity(net, last, first).transpose().template cast<double>();
  }

  /// The loop's spectral abscissa for feedback B (in its storage shape, as a double
  /// matrix). A kernel-shaped B of a conv/LC layer and that layer's P are made matrices
  /// by sending the identity of the top layer through the operator.
  double abscissa(const Network<Scalar>& net, const Eigen::MatrixXd& PT, const Eigen::MatrixXd& B,
                  std::size_t i) const {
    const int first = bottom(static_cast<int>(i)), last = top_of(static_cast<int>(i), net.n_layers());
    const int m = last - first;
    const auto& layer = net.layers[static_cast<std::size_t>(first)];
    if (p_.inversion == Inversion::single_loop || layer.is_dense())
      return loop_spectral_abscissa(PT.transpose(), B, m, p_.dynamics.leak);
    const Matrix<Scalar> identity = Matrix<Scalar>::Identity(layer.out_units(), layer.out_units());
    Matrix<Scalar> P(layer.out_units(), layer.in_units()), Bt(layer.out_units(), layer.in_units());
    layer.transport(net.coefs[first], identity, P);
    const Matrix<Scalar> kernel = B.cast<Scalar>();
    layer.transport(kernel, identity, Bt);
    return loop_spectral_abscissa(P.template cast<double>(), Bt.transpose().template cast<double>(), m,
                                  p_.dynamics.leak);
  }

  /// Runs the loop; on divergence halves its Euler step (repair) or stops the fit.
  template <typename Feedback>
  void run_dynamics(const Network<Scalar>& net, Workspace<Scalar>& ws, int i, int k, int top, const Feedback& B,
                    bool measuring) {
    DynamicsSettings settings = p_.dynamics;
    settings.report_residual = measuring;  // the residual is reported from the probe only
    for (int attempt = 0;; ++attempt) {
      settings.dt = p_.dynamics.dt * step_scale_[i];
      const LoopFeedback feedback =
          p_.inversion == Inversion::single_loop && top > k + 1 ? LoopFeedback::dense : LoopFeedback::layer_kernel;
      const DynamicsResult result = loops_[i].run(net, ws, k, top, B, feedback, settings);
      residual_[i] = result.residual;
      if (!result.diverged) return;
      force_check_ = true;
      if (!p_.repair || attempt == 10)
        throw InvalidArgument("the feedback dynamics inverting layer " + std::to_string(top) + " diverged (residual " +
                              std::to_string(result.residual) + " after " + std::to_string(result.steps) +
                              " steps, dt " + std::to_string(settings.dt) + "); lower dt or use on_unstable='repair'");
      step_scale_[i] *= 0.5;
    }
  }

  /// Checks every loop; repairs B (blend towards -P^T, then shrink) or throws.
  void enforce_stability(const Network<Scalar>& net) {
    const int L = net.n_layers();
    for (std::size_t i = 0; i < B_.size(); ++i) {
      const Eigen::MatrixXd PT = forward_map_transposed(net, i);
      Eigen::MatrixXd B = B_[i].template cast<double>();
      const double found = abscissa(net, PT, B, i);
      if (found < 0.0) continue;
      const std::string where = "the feedback loop inverting layer " + std::to_string(top_of(static_cast<int>(i), L)) +
                                " is unstable (spectral abscissa " + std::to_string(found) + " >= 0)";
      if (!p_.repair) throw InvalidArgument(where + "; use on_unstable='repair' or another feedback_init");
      const Eigen::MatrixXd start = B;
      bool stable = false;
      for (double blend : {0.125, 0.25, 0.5, 1.0}) {
        B = (1.0 - blend) * start - blend * PT;
        if ((stable = abscissa(net, PT, B, i) < 0.0)) break;
      }
      for (int halving = 0; !stable && halving < 40; ++halving) {
        B *= 0.5;
        stable = abscissa(net, PT, B, i) < 0.0;
      }
      if (!stable)
        throw InvalidArgument(where + " and cannot be repaired by changing B: an expanding layer needs leak > 0");
      B_[i] = B.cast<Scalar>();
      repairs_[i] += 1.0;
    }
  }

  Params p_;
  std::vector<MatrixMap<Scalar>> B_;
  std::vector<FeedbackDynamics<Scalar>> loops_;
  std::vector<double> residual_, step_scale_, repairs_;
  long batches_ = 0;
  bool force_check_ = false;
};

}  // namespace fastcredit
