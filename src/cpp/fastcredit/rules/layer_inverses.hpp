/// @file
/// Learned layer inverses for target propagation (RULES.md, "Target propagation"):
/// `g_l(h_l) = f(V_l h_l + c_l)` from layer l back to layer l-1, for l = 2..top, each
/// trained on noise-corrupted activations with its own optimizer state. The top inverse may
/// also read auxiliary outputs `z = R h_{top-1}` (AO-SDTP), a fixed random projection:
/// then `g_top(o, z) = f(V_o o + V_z z + c)`.
///
/// Inverse loss, with `x = h_{l-1} + eps`, `eps ~ N(0, s^2)` and `f_l` the forward layer l
/// (its output activation when l = L, plus `z = R x` for an auxiliary top):
///   noise-preserving (DTP):  0.5 || g_l(f_l(x)) - x ||^2
///   denoising (SDTP):        0.5 || g_l(f_l(x)) - h_{l-1} ||^2
/// per sample, batch-averaged. g_l is a layer of the transposed kind of layer l (RULES.md,
/// "Layers"; Layer::inverse): for a dense layer V_l is stored (n_l [+ n_z]) x n_{l-1}, so
/// that a row-major batch maps back as `U V_l + c_l`; for a conv/LC layer V_l is shaped
/// like its kernel and the map is `M(V_l)^T u + c_l`. The bias c_l (1 x n_{l-1}) has one
/// value per unit of layer l-1, for every kind. State groups: "inverse_coefs",
/// "inverse_intercepts" (one per inverse, l ascending), "inverse_optimizer_state" (first
/// moments of every V then every c, then the second moments alike), "inverse_optimizer_steps"
/// (Adam's step count, 1 x 1) and, for AO-SDTP, "auxiliary_projection" (n_{top-1} x n_z).
///
/// The noise is drawn from the fit's random stream, inverse by inverse (l ascending), one
/// NormalNoise fill (noise.hpp) per batch x n_{l-1} matrix, row-major, so that a test can
/// regenerate it exactly (`_core.normal_noise`).
/// @tparam Scalar float or double.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fastcredit/noise.hpp"
#include "fastcredit/optimizers.hpp"
#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

/// A batch buffer that allocates only when asked for more than it already holds.
template <typename Scalar>
class Scratch {
 public:
  void reserve(Index size) {
    if (storage_.size() < size) storage_.resize(size);
  }
  MatrixMap<Scalar> view(Index rows, Index cols) {
    reserve(rows * cols);
    return MatrixMap<Scalar>(storage_.data(), rows, cols);
  }

 private:
  Vector<Scalar> storage_;
};

template <typename Scalar>
class LayerInverses {
 public:
  /// State arrays for inverses g_2..g_top of a network of these layers; `auxiliary` > 0
  /// adds that many auxiliary outputs to the top inverse (needs top = L, a dense layer).
  static std::vector<StateSpec> specs(const Architecture& layers, int top, Index auxiliary) {
    const int L = static_cast<int>(layers.size());
    if (top > L) throw InvalidArgument("an inverse above the output layer");
    std::vector<StateSpec> coefs, intercepts;
    for (int l = 2; l <= top; ++l) {
      const auto& g = layers[static_cast<std::size_t>(l - 1)];
      auto shape = g.inverse_kernel_shape();
      if (l == top && auxiliary > 0) shape[0] += auxiliary;
      coefs.emplace_back("inverse_coefs", shape);
      intercepts.emplace_back("inverse_intercepts", 1, g.in_units());
    }
    std::vector<StateSpec> out = coefs;
    out.insert(out.end(), intercepts.begin(), intercepts.end());
    for (int moment = 0; moment < 2; ++moment) {
      for (const auto& s : coefs) out.emplace_back("inverse_optimizer_state", s.shape);
      for (const auto& s : intercepts) out.emplace_back("inverse_optimizer_state", s.shape);
    }
    out.emplace_back("inverse_optimizer_steps", 1, 1);
    if (auxiliary > 0 && top >= 2) {
      if (top != L || !layers.back().is_dense())
        throw InvalidArgument("auxiliary outputs belong to the (dense) output layer's inverse");
      out.emplace_back("auxiliary_projection", layers[static_cast<std::size_t>(top - 2)].out_units(), auxiliary);
    }
    return out;
  }

  /// `options` configure the optimizer as for the forward weights (solver, momentum, Adam's
  /// betas); `learning_rate` is the inverses' own.
  LayerInverses(RuleState<Scalar>& state, const Options& options, double learning_rate)
      : coefs_(state.group("inverse_coefs")),
        intercepts_(state.group("inverse_intercepts")),
        moments_(state.group("inverse_optimizer_state")),
        projection_(state.group("auxiliary_projection")) {
    const auto steps = state.group("inverse_optimizer_steps");
    const std::size_t n = coefs_.size();
    if (steps.size() != 1 || intercepts_.size() != n || moments_.size() != 4 * n || projection_.size() > 1 ||
        (n == 0 && !projection_.empty()))
      throw InvalidArgument("target propagation's state arrays do not match its inverses");
    steps_state_.emplace(steps.front());
    for (std::size_t k = 0; k < n; ++k) {
      gradient_coefs_.emplace_back(Matrix<Scalar>::Zero(coefs_[k].rows(), coefs_[k].cols()));
      gradient_intercepts_.emplace_back(Matrix<Scalar>::Zero(1, intercepts_[k].cols()));
    }
    for (auto& V : coefs_) blocks_.push_back(flat(V));
    for (auto& c : intercepts_) blocks_.push_back(flat(c));
    for (auto& G : gradient_coefs_) gradients_.emplace_back(G.data(), G.size());
    for (auto& G : gradient_intercepts_) gradients_.emplace_back(G.data(), G.size());
    std::vector<Flat<Scalar>> first, second;
    for (std::size_t b = 0; b < 2 * n; ++b) {
      first.push_back(flat(moments_[b]));
      second.push_back(flat(moments_[2 * n + b]));
    }
    steps_ = static_cast<double>((*steps_state_)(0, 0));
    if (options.string("solver", "adam") == "sgd")
      optimizer_ = std::make_unique<Sgd<Scalar>>(options, std::move(first), learning_rate);
    else
      optimizer_ = std::make_unique<Adam<Scalar>>(options, std::move(first), std::move(second), steps_);
    optimizer_->learning_rate = learning_rate;
  }

  /// Batch buffers for batches of up to max_batch rows of this network.
  void reserve(const Network<Scalar>& net, Index max_batch) {
    Index widest = 1;
    for (int k = 0; k <= net.n_layers(); ++k) widest = std::max(widest, net.units(k));
    if (auxiliary()) widest = std::max(widest, projection().cols());
    widest_ = widest;
    for (auto* s : {&noisy_, &forward_, &auxiliary_, &pre_, &out_, &error_}) s->reserve(max_batch * widest);
    noise_.reserve(max_batch * widest);
  }

  /// The widest layer (units) of the network `reserve` saw (for callers' batch buffers).
  Index widest() const { return widest_; }

  int count() const { return static_cast<int>(coefs_.size()); }
  int top() const { return count() + 1; }
  bool auxiliary() const { return !projection_.empty(); }

  /// Throws unless the inverses fit this network (g_l: layer l -> layer l-1).
  void check(const Network<Scalar>& net) const {
    if (top() > net.n_layers()) throw InvalidArgument("more inverses than layers");
    Architecture layers;
    for (int l = 0; l < net.n_layers(); ++l) layers.push_back(net.geometry(l));
    const auto expected = specs(layers, top(), auxiliary() ? projection().cols() : 0);
    for (int l = 2; l <= top(); ++l) {
      const auto& V = coefs_[static_cast<std::size_t>(l - 2)];
      const auto& spec = expected[static_cast<std::size_t>(l - 2)];
      if (V.rows() != spec.rows() || V.cols() != spec.cols() || intercepts_[l - 2].cols() != net.units(l - 1))
        throw InvalidArgument("inverse weights do not match the network's layer sizes");
    }
    if (auxiliary() && projection().rows() != expected.back().rows())
      throw InvalidArgument("the auxiliary projection does not match the network");
  }

  /// Fresh fit: Glorot-uniform V, zero c, zero optimizer state, R ~ N(0, 1/n_{top-1}).
  void initialize(const Network<Scalar>& net, Rng& rng) {
    check(net);
    for (int k = 0; k < count(); ++k) {
      auto& V = coefs_[static_cast<std::size_t>(k)];
      // Glorot on the inverse's own fans: a dense V's rows (inputs) and columns (outputs);
      // a conv/LC inverse has its layer's fans, swapped (which sums the same).
      const auto& g = net.geometry(k + 1);
      const double fans = g.is_dense() ? static_cast<double>(V.rows() + V.cols()) : g.fan_in() + g.fan_out();
      const double scale = std::sqrt(6.0 / fans);
      for (Index i = 0; i < V.size(); ++i) V.data()[i] = static_cast<Scalar>(rng.uniform(-scale, scale));
      intercepts_[static_cast<std::size_t>(k)].setZero();
    }
    for (auto& m : moments_) m.setZero();
    steps_state_->setZero();
    steps_ = 0.0;
    if (auxiliary()) {
      auto R = projection();
      const double scale = 1.0 / std::sqrt(static_cast<double>(R.rows()));
      for (Index i = 0; i < R.size(); ++i) R.data()[i] = static_cast<Scalar>(scale * rng.normal());
    }
  }

  /// z = below R: the auxiliary outputs of activations `below` (layer top-1), in scratch.
  template <typename Below>
  MatrixMap<Scalar> auxiliary_outputs(const Eigen::MatrixBase<Below>& below) {
    auto z = auxiliary_.view(below.rows(), projection().cols());
    multiply(below, projection(), z);
    return z;
  }

  /// out = g_l(u) = f(inverse_l(V_l, u) + c_l) (dense: f(u V_l + c_l)), or
  /// f(u V_o + z V_z + c) for an auxiliary top inverse.
  template <typename U, typename Out>
  void apply(const Network<Scalar>& net, int l, const Eigen::MatrixBase<U>& u, const MatrixMap<Scalar>* z,
             Eigen::MatrixBase<Out>& out) const {
    pre_activation(net, l, u, z, out);
    activate<Scalar>(net.hidden_activation, out, out);
  }

  /// Gradients of every inverse loss, inverting the layers f_l of `net` around the batch
  /// activations h_{l-1} in `ws`; kept until `step`.
  void compute_gradients(const Network<Scalar>& net, Workspace<Scalar>& ws, Rng& rng, bool denoising,
                         double noise_std) {
    const Index B = ws.batch();
    const Scalar inv_batch = Scalar(1) / static_cast<Scalar>(B), s(noise_std);
    const int L = net.n_layers();
    for (int l = 2; l <= top(); ++l) {
      const auto below = ws.h(l - 1);
      auto x = noisy_.view(B, below.cols());
      noise_.fill(rng, x.data(), x.size());
      x = below + s * x;
      auto y = forward_.view(B, net.units(l));  // f_l(x)
      net.forward_layer(l - 1, x, y);
      if (l < L)
        activate<Scalar>(net.hidden_activation, y, y);
      else
        output_activate<Scalar>(net.output, y, y);
      const bool with_z = l == top() && auxiliary();
      std::optional<MatrixMap<Scalar>> z;
      if (with_z) z.emplace(auxiliary_outputs(x));
      auto a = pre_.view(B, below.cols());
      pre_activation(net, l, y, with_z ? &*z : nullptr, a);
      auto r = out_.view(B, below.cols());
      activate<Scalar>(net.hidden_activation, a, r);
      auto d = error_.view(B, below.cols());
      if (denoising)
        d = r - below;
      else
        d = r - x;
      multiply_by_derivative<Scalar>(net.hidden_activation, a, r, d);
      const auto& layer = net.layers[static_cast<std::size_t>(l - 1)];
      auto& gV = gradient_coefs_[static_cast<std::size_t>(l - 2)];
      if (with_z) {
        layer.inverse_gradient(y, d, gV.topRows(y.cols()), inv_batch);
        layer.inverse_gradient(*z, d, gV.bottomRows(z->cols()), inv_batch);
      } else {
        layer.inverse_gradient(y, d, gV, inv_batch);
      }
      gradient_intercepts_[static_cast<std::size_t>(l - 2)].noalias() = inv_batch * d.colwise().sum();
    }
  }

  /// One optimizer step of every inverse along the gradients of `compute_gradients`.
  void step() {
    if (count() == 0) return;
    optimizer_->step(blocks_, gradients_);
    (*steps_state_)(0, 0) = static_cast<Scalar>(steps_);
  }

  /// || g_l(h_l) - h_{l-1} || / || h_{l-1} || on the batch in `ws` (noise-free).
  double reconstruction_error(const Network<Scalar>& net, Workspace<Scalar>& ws, int l) {
    const auto below = ws.h(l - 1);
    auto r = out_.view(below.rows(), below.cols());
    if (l == top() && auxiliary()) {
      const auto z = auxiliary_outputs(below);
      apply(net, l, ws.h(l), &z, r);
    } else {
      apply(net, l, ws.h(l), nullptr, r);
    }
    const double norm = static_cast<double>(below.norm());
    return norm > 0.0 ? static_cast<double>((r - below).norm()) / norm : std::nan("");
  }

 private:
  /// out = inverse_l(V_l, u) + c_l (+ z V_z for an auxiliary top inverse, a dense layer).
  template <typename U, typename Out>
  void pre_activation(const Network<Scalar>& net, int l, const Eigen::MatrixBase<U>& u, const MatrixMap<Scalar>* z,
                      Eigen::MatrixBase<Out>& out) const {
    const auto& V = coefs_[static_cast<std::size_t>(l - 2)];
    const auto& layer = net.layers[static_cast<std::size_t>(l - 1)];
    if (z != nullptr) {
      layer.inverse(V.topRows(u.cols()), u, out);
      layer.inverse(V.bottomRows(V.rows() - u.cols()), *z, out, true);
    } else {
      layer.inverse(V, u, out);
    }
    out.rowwise() += intercepts_[static_cast<std::size_t>(l - 2)].row(0);
  }

  static Flat<Scalar> flat(MatrixMap<Scalar>& m) { return Flat<Scalar>(m.data(), m.size()); }
  MatrixMap<Scalar>& projection() { return projection_.front(); }
  const MatrixMap<Scalar>& projection() const { return projection_.front(); }

  std::vector<MatrixMap<Scalar>> coefs_, intercepts_, moments_, projection_;
  std::optional<MatrixMap<Scalar>> steps_state_;
  std::vector<Matrix<Scalar>> gradient_coefs_, gradient_intercepts_;
  std::vector<Flat<Scalar>> blocks_, gradients_;
  Index widest_ = 1;
  double steps_ = 0.0;  // Adam's step count, mirrored in the state array
  std::unique_ptr<Optimizer<Scalar>> optimizer_;
  Scratch<Scalar> noisy_, forward_, auxiliary_, pre_, out_, error_;
  NormalNoise<Scalar> noise_;
};

}  // namespace fastcredit
