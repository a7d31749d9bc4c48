/// @file
/// Kickback (Balduzzi, Vanchinathan & Buhmann 2015; RULES.md, "Kickback"): regression
/// with rectifier hidden units and one linear output. Backprop's recursive error is
/// truncated to one layer: hidden unit j of layer k gets the global signed error
/// `beta = y_hat - y` (= ws.delta(L)) times its *kickback*, its signed influence on the
/// next layer's active units,
///
///     kappa_j = sum_i w_ji s_i [a_i > 0]     (i over layer k + 1; the output: s = 1, always active)
///     d_j     = beta * kappa_j * [a_j > 0],   grad W = d h^T as in backprop.
///
/// Every hidden unit has a fixed sign s_j (rule state "unit_signs", one 1 x n_k row per
/// hidden layer): "alternating" (+ - + - ...), "random" (half and half, seeded) or given
/// as a string of '+'/'-' over all hidden units in order. The network is *coherent* when
/// sign(w_jk) = s_j s_k for every weight leaving a hidden unit (the first layer's inputs
/// carry no sign); then, for one example, every coordinate of this update has the sign of
/// the true gradient's or one of them is zero (the paper's sufficient condition).
/// The initial weights are made coherent by flipping signs (magnitudes kept);
/// `coherent = true` also keeps them so by Euclidean projection after every step (a
/// weight that crossed zero is set to zero). `report` gives each layer's fraction of
/// weights that violate coherence (NaN for the first layer).
/// @tparam Scalar float or double.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

template <typename Scalar>
struct Kickback : RuleDefaults {
  static constexpr const char* name = "kickback";

  struct Params {
    std::string unit_signs;  // "alternating", "random" or one '+'/'-' per hidden unit
    bool coherent;

    explicit Params(const Options& o)
        : unit_signs(o.string("unit_signs", "alternating")), coherent(o.flag("coherent", true)) {
      const std::string activation = o.string("activation", "relu");
      if (activation != "relu")
        throw InvalidArgument("kickback needs rectifier hidden units (activation='relu'), got '" + activation + "'");
      const bool explicit_signs = unit_signs.find_first_not_of("+-") == std::string::npos;
      if (unit_signs != "alternating" && unit_signs != "random" && !explicit_signs)
        throw InvalidArgument("unit_signs must be 'alternating', 'random' or a string of '+'/'-', got '" +
                              unit_signs + "'");
    }
    bool given() const { return unit_signs != "alternating" && unit_signs != "random"; }
  };

  static std::vector<StateSpec> state_specs(const Architecture& layers, const Params& p) {
    for (const auto& g : layers)
      if (!g.is_dense())
        throw InvalidArgument(std::string("kickback is implemented for dense layers only, not ") + kind_name(g.kind) +
                              " (its unit signs and sign coherence are defined per pair of connected units)");
    const auto units = layer_units(layers);
    if (units.size() < 2 || units.back() != 1)
      throw InvalidArgument("kickback needs a network with a single (scalar) output unit");
    std::vector<StateSpec> specs;
    Index hidden_units = 0;
    for (std::size_t k = 1; k + 1 < units.size(); ++k) {
      specs.push_back({"unit_signs", 1, units[k]});
      hidden_units += units[k];
    }
    if (p.given() && static_cast<Index>(p.unit_signs.size()) != hidden_units)
      throw InvalidArgument("unit_signs gives " + std::to_string(p.unit_signs.size()) + " signs for " +
                            std::to_string(hidden_units) + " hidden units");
    return specs;
  }

  Kickback(const Params& p, RuleState<Scalar>& state) : params_(p), signs_(state.arrays) {}

  /// Draws the unit signs and flips the weights leaving hidden units to coherence. Takes
  /// the network mutably: the trainer calls it on a fresh fit, before the first step.
  void init_state(Network<Scalar>& net, Rng& rng) {
    check(net);
    Index hidden_units = 0;
    for (const auto& s : signs_) hidden_units += s.cols();
    if (params_.given() && static_cast<Index>(params_.unit_signs.size()) != hidden_units)
      throw InvalidArgument("unit_signs does not give one sign per hidden unit");
    std::size_t given = 0;
    for (auto& s : signs_) {
      const Index n = s.cols();
      if (params_.unit_signs == "alternating") {
        for (Index j = 0; j < n; ++j) s(0, j) = j % 2 == 0 ? Scalar(1) : Scalar(-1);
      } else if (params_.unit_signs == "random") {
        std::vector<Scalar> half(static_cast<std::size_t>(n), Scalar(-1));
        std::fill(half.begin(), half.begin() + (n + 1) / 2, Scalar(1));
        rng.shuffle(half);
        for (Index j = 0; j < n; ++j) s(0, j) = half[static_cast<std::size_t>(j)];
      } else {
        for (Index j = 0; j < n; ++j, ++given) s(0, j) = params_.unit_signs[given] == '+' ? Scalar(1) : Scalar(-1);
      }
    }
    for (int l = 1; l < net.n_layers(); ++l) {
      auto W = net.coefs[l];
      const auto from = signs_of(l, W.rows()), to = signs_of(l + 1, W.cols());
      for (Index j = 0; j < W.rows(); ++j) W.row(j).array() = W.row(j).array().abs() * to * from(j);
    }
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&, Gradients<Scalar>& g) {
    check(net);
    const int L = net.n_layers();
    const auto output_delta = ws.delta(L);
    const auto beta = output_delta.col(0).array();
    for (int k = L - 1; k >= 1; --k) {
      auto active = signed_activity(ws, k + 1, L);
      auto d = ws.delta(k);
      d.noalias() = active * net.coefs[k].transpose();  // kappa, one row per example
      d.array().colwise() *= beta;
      multiply_by_derivative<Scalar>(Activation::relu, ws.a(k), ws.h(k), d);
    }
    gradients_from_deltas(net, ws, g);
  }

  /// Projection onto the coherent orthant: weights of the wrong sign become zero.
  void after_step(Network<Scalar>& net, Workspace<Scalar>&, StepContext<Scalar>&, const Gradients<Scalar>&) {
    if (!params_.coherent) return;
    for (int l = 1; l < net.n_layers(); ++l) {
      auto W = net.coefs[l];
      const auto from = signs_of(l, W.rows()), to = signs_of(l + 1, W.cols());
      for (Index j = 0; j < W.rows(); ++j) {
        auto row = W.row(j).array();
        row = (row * to * from(j) < Scalar(0)).select(Scalar(0), row);
      }
    }
  }

  void report(const Network<Scalar>& net, Workspace<Scalar>&, Report& report) {
    auto& violation = report["coherence_violation"];
    violation.assign(1, std::nan(""));
    for (int l = 1; l < net.n_layers(); ++l) {
      const auto& W = net.coefs[l];
      const auto from = signs_of(l, W.rows()), to = signs_of(l + 1, W.cols());
      Index wrong = 0;
      for (Index j = 0; j < W.rows(); ++j) wrong += (W.row(j).array() * to * from(j) < Scalar(0)).count();
      violation.push_back(static_cast<double>(wrong) / static_cast<double>(W.size()));
    }
  }

 private:
  static void check(const Network<Scalar>& net) {
    if (net.units(net.n_layers()) != 1 || net.output != Output::identity_squared_error)
      throw InvalidArgument("kickback needs a single linear output unit trained on squared error");
    if (net.hidden_activation != Activation::relu)
      throw InvalidArgument("kickback needs rectifier hidden units (activation='relu')");
  }

  using SignRow = Eigen::Map<const Eigen::Array<Scalar, 1, Eigen::Dynamic>>;

  /// The signs of layer k's n units (hidden layers 1..L-1; the output unit's is +1).
  /// Coherence asks coefs[l](j, k) * s_j * s_k >= 0 with s_j of layer l, s_k of layer l + 1.
  SignRow signs_of(int k, Index n) const {
    return SignRow(static_cast<std::size_t>(k) <= signs_.size() ? signs_[k - 1].data() : &output_sign_, n);
  }

  /// s_i [a_i > 0] for the units i of layer k (all ones at the output), batch x n_k, in a
  /// buffer that only grows (no allocation once the largest batch has been seen).
  MatrixMap<Scalar> signed_activity(Workspace<Scalar>& ws, int k, int L) {
    const Index rows = ws.batch(), cols = ws.a(k).cols();
    if (activity_.size() < rows * cols) activity_.resize(rows * cols);
    MatrixMap<Scalar> active(activity_.data(), rows, cols);
    if (k == L) {
      active.setOnes();
    } else {
      active = (ws.a(k).array() > Scalar(0)).template cast<Scalar>().matrix();
      active.array().rowwise() *= signs_of(k, cols);
    }
    return active;
  }

  Params params_;
  std::vector<MatrixMap<Scalar>>& signs_;
  Vector<Scalar> activity_;
  const Scalar output_sign_ = Scalar(1);
};

}  // namespace fastcredit
