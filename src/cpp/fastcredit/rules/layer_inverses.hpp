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
/// per sample, batch-averaged. Layout as the forward weights: V_l is stored as
/// (n_l [+ n_z]) x n_{l-1}, so that a row-major batch maps back as `U V_l + c_l`.
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

/// Where each array of the inverses lives in the rule's state (`specs` gives the order).
struct InverseLayout {
  int count = 0;           // inverses g_2 .. g_{count+1}
  bool auxiliary = false;  // the top inverse also reads z = R h_{top-1}

  int top() const { return count + 1; }
  int coefs(int k) const { return k; }
  int intercepts(int k) const { return count + k; }
  int first_moment(int block) const { return 2 * count + block; }  // blocks: coefs, then intercepts
  int second_moment(int block) const { return 4 * count + block; }
  int steps() const { return 6 * count; }
  int projection() const { return 6 * count + 1; }

  /// A rule is constructed from its state alone (no network), so the layout is read back
  /// from the number of arrays `specs` produced: 6 per inverse, the step count, R.
  static InverseLayout from_state(std::size_t arrays) {
    if (arrays == 0) throw InvalidArgument("target propagation needs its state arrays (inverse weights)");
    InverseLayout layout;
    layout.count = static_cast<int>((arrays - 1) / 6);
    layout.auxiliary = (arrays - 1) % 6 == 1;
    if ((arrays - 1) % 6 > 1 || (layout.auxiliary && layout.count == 0))
      throw InvalidArgument("target propagation state arrays do not match their layout");
    return layout;
  }
};

template <typename Scalar>
class LayerInverses {
 public:
  /// State arrays for inverses g_2..g_top of a network with these unit counts n_0..n_L;
  /// `auxiliary` > 0 adds that many auxiliary outputs to the top inverse (needs top = L).
  static std::vector<StateSpec> specs(const std::vector<Index>& units, int top, Index auxiliary) {
    const int L = static_cast<int>(units.size()) - 1;
    if (top > L) throw InvalidArgument("an inverse above the output layer");
    std::vector<StateSpec> coefs, intercepts;
    for (int l = 2; l <= top; ++l) {
      const Index extra = (l == top && auxiliary > 0) ? auxiliary : 0;
      coefs.push_back({"inverse_coefs", units[l] + extra, units[l - 1]});
      intercepts.push_back({"inverse_intercepts", 1, units[l - 1]});
    }
    std::vector<StateSpec> out = coefs;
    out.insert(out.end(), intercepts.begin(), intercepts.end());
    for (int moment = 0; moment < 2; ++moment) {
      for (const auto& s : coefs) out.push_back({"inverse_optimizer_state", s.rows, s.cols});
      for (const auto& s : intercepts) out.push_back({"inverse_optimizer_state", s.rows, s.cols});
    }
    out.push_back({"inverse_optimizer_steps", 1, 1});
    if (auxiliary > 0 && top >= 2) {
      if (top != L) throw InvalidArgument("auxiliary outputs belong to the output layer's inverse");
      out.push_back({"auxiliary_projection", units[top - 1], auxiliary});
    }
    return out;
  }

  /// `options` configure the optimizer as for the forward weights (solver, momentum, Adam's
  /// betas); `learning_rate` is the inverses' own.
  LayerInverses(RuleState<Scalar>& state, const Options& options, double learning_rate, Index max_batch)
      : state_(state), layout_(InverseLayout::from_state(state.arrays.size())) {
    const int n = layout_.count;
    Index widest = 1;
    for (int k = 0; k < n; ++k) {
      auto& V = state_.arrays[layout_.coefs(k)];
      auto& c = state_.arrays[layout_.intercepts(k)];
      gradient_coefs_.emplace_back(Matrix<Scalar>::Zero(V.rows(), V.cols()));
      gradient_intercepts_.emplace_back(Matrix<Scalar>::Zero(1, c.cols()));
      widest = std::max({widest, V.rows(), V.cols()});
    }
    for (int k = 0; k < n; ++k) blocks_.push_back(flat(state_.arrays[layout_.coefs(k)]));
    for (int k = 0; k < n; ++k) blocks_.push_back(flat(state_.arrays[layout_.intercepts(k)]));
    for (auto& G : gradient_coefs_) gradients_.emplace_back(G.data(), G.size());
    for (auto& G : gradient_intercepts_) gradients_.emplace_back(G.data(), G.size());
    std::vector<Flat<Scalar>> first, second;
    for (int b = 0; b < 2 * n; ++b) {
      first.push_back(flat(state_.arrays[layout_.first_moment(b)]));
      second.push_back(flat(state_.arrays[layout_.second_moment(b)]));
    }
    steps_ = static_cast<double>(state_.arrays[layout_.steps()](0, 0));
    if (options.string("solver", "adam") == "sgd")
      optimizer_ = std::make_unique<Sgd<Scalar>>(options, std::move(first), learning_rate);
    else
      optimizer_ = std::make_unique<Adam<Scalar>>(options, std::move(first), std::move(second), steps_);
    optimizer_->learning_rate = learning_rate;
    widest_ = widest;
    for (auto* s : {&noisy_, &forward_, &auxiliary_, &pre_, &out_, &error_}) s->reserve(max_batch * widest);
    noise_.reserve(max_batch * widest);
  }

  /// The widest array dimension of the inverses (for callers' batch buffers).
  Index widest() const { return widest_; }

  const InverseLayout& layout() const { return layout_; }
  int top() const { return layout_.top(); }
  bool auxiliary() const { return layout_.auxiliary; }

  /// Throws unless the inverses fit this network (g_l: layer l -> layer l-1).
  void check(const Network<Scalar>& net) const {
    if (top() > net.n_layers()) throw InvalidArgument("more inverses than layers");
    for (int l = 2; l <= top(); ++l) {
      const auto& V = state_.arrays[layout_.coefs(l - 2)];
      const Index extra = (l == top() && auxiliary()) ? projection().cols() : 0;
      if (V.rows() != net.units(l) + extra || V.cols() != net.units(l - 1))
        throw InvalidArgument("inverse weights do not match the network's layer sizes");
    }
    if (auxiliary() && (top() != net.n_layers() || projection().rows() != net.units(top() - 1)))
      throw InvalidArgument("the auxiliary projection does not match the network");
  }

  /// Fresh fit: Glorot-uniform V, zero c, zero optimizer state, R ~ N(0, 1/n_{top-1}).
  void initialize(const Network<Scalar>& net, Rng& rng) {
    check(net);
    for (int k = 0; k < layout_.count; ++k) {
      auto& V = state_.arrays[layout_.coefs(k)];
      const double scale = std::sqrt(6.0 / static_cast<double>(V.rows() + V.cols()));
      for (Index i = 0; i < V.size(); ++i) V.data()[i] = static_cast<Scalar>(rng.uniform(-scale, scale));
      state_.arrays[layout_.intercepts(k)].setZero();
    }
    for (int b = 0; b < 2 * layout_.count; ++b) {
      state_.arrays[layout_.first_moment(b)].setZero();
      state_.arrays[layout_.second_moment(b)].setZero();
    }
    state_.arrays[layout_.steps()].setZero();
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

  /// out = g_l(u) = f(u V_l + c_l), or f(u V_o + z V_z + c) for an auxiliary top inverse.
  template <typename U, typename Out>
  void apply(const Network<Scalar>& net, int l, const Eigen::MatrixBase<U>& u, const MatrixMap<Scalar>* z,
             Eigen::MatrixBase<Out>& out) const {
    const auto& V = state_.arrays[layout_.coefs(l - 2)];
    const Index n = u.cols();
    multiply(u, V.topRows(n), out);
    if (z != nullptr) multiply(*z, V.bottomRows(V.rows() - n), out, Scalar(1), Scalar(1));
    out.rowwise() += state_.arrays[layout_.intercepts(l - 2)].row(0);
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
      multiply(x, net.coefs[l - 1], y);
      y.rowwise() += net.intercepts[l - 1].transpose();
      if (l < L)
        activate<Scalar>(net.hidden_activation, y, y);
      else
        output_activate<Scalar>(net.output, y, y);
      const bool with_z = l == top() && auxiliary();
      std::optional<MatrixMap<Scalar>> z;
      if (with_z) z.emplace(auxiliary_outputs(x));
      auto a = pre_.view(B, below.cols());
      const auto& V = state_.arrays[layout_.coefs(l - 2)];
      multiply(y, V.topRows(y.cols()), a);
      if (with_z) multiply(*z, V.bottomRows(z->cols()), a, Scalar(1), Scalar(1));
      a.rowwise() += state_.arrays[layout_.intercepts(l - 2)].row(0);
      auto r = out_.view(B, below.cols());
      activate<Scalar>(net.hidden_activation, a, r);
      auto d = error_.view(B, below.cols());
      if (denoising)
        d = r - below;
      else
        d = r - x;
      multiply_by_derivative<Scalar>(net.hidden_activation, a, r, d);
      auto& gV = gradient_coefs_[static_cast<std::size_t>(l - 2)];
      multiply(y.transpose(), d, gV.topRows(y.cols()), inv_batch);
      if (with_z) multiply(z->transpose(), d, gV.bottomRows(z->cols()), inv_batch);
      gradient_intercepts_[static_cast<std::size_t>(l - 2)].noalias() = inv_batch * d.colwise().sum();
    }
  }

  /// One optimizer step of every inverse along the gradients of `compute_gradients`.
  void step() {
    if (layout_.count == 0) return;
    optimizer_->step(blocks_, gradients_);
    state_.arrays[layout_.steps()](0, 0) = static_cast<Scalar>(steps_);
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
  static Flat<Scalar> flat(MatrixMap<Scalar>& m) { return Flat<Scalar>(m.data(), m.size()); }
  MatrixMap<Scalar>& projection() { return state_.arrays[layout_.projection()]; }
  const MatrixMap<Scalar>& projection() const { return state_.arrays[layout_.projection()]; }

  RuleState<Scalar>& state_;
  InverseLayout layout_;
  std::vector<Matrix<Scalar>> gradient_coefs_, gradient_intercepts_;
  std::vector<Flat<Scalar>> blocks_, gradients_;
  Index widest_ = 1;
  double steps_ = 0.0;  // Adam's step count, mirrored in the state array
  std::unique_ptr<Optimizer<Scalar>> optimizer_;
  Scratch<Scalar> noisy_, forward_, auxiliary_, pre_, out_, error_;
  NormalNoise<Scalar> noise_;
};

}  // namespace fastcredit
