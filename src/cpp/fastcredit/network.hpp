// A feed-forward network of dense, convolutional and locally-connected layers over
// caller-owned parameter buffers, and the reusable workspace that holds one batch's
// forward pass.
//
// Layout: layers[l] is the operator of weight layer l + 1 (layers/layer.hpp); its kernel
// coefs[l] is the 2-D view (first dimension x the rest) of its array: for a dense layer
// n_l x n_{l+1} (W_{l+1}^T in RULES.md's notation, the layout of scikit-learn's
// `coefs_`), so that a row-major batch H_l maps forward as A_{l+1} = H_l coefs[l] +
// intercepts[l]. Units are flat (C*H*W, channels-first) in every batch matrix.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "fastcredit/activations.hpp"
#include "fastcredit/gemm.hpp"
#include "fastcredit/layers/layer.hpp"
#include "fastcredit/losses.hpp"
#include "fastcredit/random.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

template <typename Scalar>
struct Network {
  std::vector<MatrixMap<Scalar>> coefs;
  std::vector<VectorMap<Scalar>> intercepts;
  std::vector<Layer<Scalar>> layers;
  Activation hidden_activation = Activation::relu;
  Output output = Output::softmax_cross_entropy;

  /// Number of weight layers L; the units are n_0 (inputs) ... n_L (outputs).
  int n_layers() const { return static_cast<int>(coefs.size()); }
  Index units(int k) const { return k == 0 ? layers[0].in_units() : layers[k - 1].out_units(); }
  const LayerGeometry& geometry(int l) const { return layers[static_cast<std::size_t>(l)].geometry(); }

  /// a = forward of weight layer l (0-based) applied to h.
  template <typename H, typename A>
  void forward_layer(int l, const Eigen::MatrixBase<H>& h, const Eigen::MatrixBase<A>& a) const {
    layers[static_cast<std::size_t>(l)].forward(coefs[l], intercepts[l], h, a);
  }

  void check() const {
    if (coefs.empty() || coefs.size() != intercepts.size() || coefs.size() != layers.size())
      throw InvalidArgument("a network needs one layer, kernel and intercept vector per weight layer (>= 1)");
    for (int l = 0; l < n_layers(); ++l) {
      const auto& g = geometry(l);
      const std::string where = "layer " + std::to_string(l) + " (" + kind_name(g.kind) + ")";
      if (coefs[l].size() != g.kernel_size())
        throw InvalidArgument("coefs[" + std::to_string(l) + "] does not match " + where + "'s kernel");
      if (intercepts[l].size() != g.bias_size())
        throw InvalidArgument("intercepts[" + std::to_string(l) + "] does not match " + where + "'s bias");
      if (l > 0 && g.in_units() != geometry(l - 1).out_units())
        throw InvalidArgument(where + " does not chain with the layer below");
    }
  }
};

/// Dense layers for kernels of these shapes (n_l x n_{l+1}), e.g. for C++ callers that
/// build a network from matrices alone.
template <typename Scalar>
std::vector<Layer<Scalar>> dense_layers(const std::vector<MatrixMap<Scalar>>& coefs) {
  std::vector<Layer<Scalar>> layers;
  for (const auto& W : coefs) {
    LayerGeometry g;
    g.in = {W.rows(), 1, 1};
    g.out = {W.cols(), 1, 1};
    layers.emplace_back(g);
  }
  return layers;
}

/// Per-layer batch buffers, allocated once for the largest batch; `resize_batch` only
/// changes the views, so the batch loop never allocates.
template <typename Scalar>
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Network<Scalar>& net, Index max_batch) { allocate(net, max_batch); }

  void allocate(const Network<Scalar>& net, Index max_batch) {
    const int L = net.n_layers();
    max_batch_ = max_batch;
    batch_ = max_batch;
    width_.resize(L + 1);
    for (int k = 0; k <= L; ++k) width_[k] = net.units(k);
    a_.assign(L + 1, {});
    h_.assign(L + 1, {});
    delta_.assign(L + 1, {});
    h_[0].resize(max_batch * width_[0]);
    for (int k = 1; k <= L; ++k) {
      a_[k].resize(max_batch * width_[k]);
      h_[k].resize(max_batch * width_[k]);
      delta_[k].resize(max_batch * width_[k]);
    }
  }

  void resize_batch(Index rows) {
    if (rows > max_batch_) throw InvalidArgument("batch larger than the workspace");
    batch_ = rows;
  }
  Index batch() const { return batch_; }
  int n_layers() const { return static_cast<int>(width_.size()) - 1; }

  /// Pre-activation a_k, activation h_k (h_0 is the input batch) and delta d_k = dLoss/da_k
  /// (or the rule's stand-in for it), for k = 1..L.
  MatrixMap<Scalar> a(int k) { return view(a_[k], k); }
  MatrixMap<Scalar> h(int k) { return view(h_[k], k); }
  MatrixMap<Scalar> delta(int k) { return view(delta_[k], k); }

 private:
  MatrixMap<Scalar> view(Vector<Scalar>& storage, int k) {
    return MatrixMap<Scalar>(storage.data(), batch_, width_[k]);
  }
  Index max_batch_ = 0, batch_ = 0;
  std::vector<Index> width_;
  std::vector<Vector<Scalar>> a_, h_, delta_;
};

/// Forward pass of the batch already in ws.h(0): fills a_k and h_k for k = 1..L.
template <typename Scalar>
void forward(const Network<Scalar>& net, Workspace<Scalar>& ws) {
  const int L = net.n_layers();
  for (int k = 1; k <= L; ++k) {
    auto a = ws.a(k);
    auto h = ws.h(k);
    net.forward_layer(k - 1, ws.h(k - 1), a);
    if (k < L)
      activate<Scalar>(net.hidden_activation, a, h);
    else
      output_activate<Scalar>(net.output, a, h);
  }
}

/// Weight initialisations. `glorot_uniform` is scikit-learn's MLP scheme (weights and
/// intercepts uniform in +-sqrt(6 / (fan_in + fan_out)), factor 2 when the hidden units
/// are logistic, for every layer as scikit-learn does); the others draw weights only and
/// start intercepts at zero.
enum class Init { glorot_uniform, glorot_normal, he_uniform, he_normal };

inline Init parse_init(const std::string& name) {
  if (name == "glorot_uniform") return Init::glorot_uniform;
  if (name == "glorot_normal") return Init::glorot_normal;
  if (name == "he_uniform") return Init::he_uniform;
  if (name == "he_normal") return Init::he_normal;
  throw InvalidArgument("unknown init '" + name + "'");
}

template <typename Scalar>
void initialize(Network<Scalar>& net, Init init, Rng& rng) {
  for (int l = 0; l < net.n_layers(); ++l) {
    auto& W = net.coefs[l];
    auto& b = net.intercepts[l];
    const double fan_in = net.geometry(l).fan_in(), fan_out = net.geometry(l).fan_out();
    const bool logistic_units = net.hidden_activation == Activation::logistic;
    double scale = 0.0;
    bool uniform = true;
    switch (init) {
      case Init::glorot_uniform: scale = std::sqrt((logistic_units ? 2.0 : 6.0) / (fan_in + fan_out)); break;
      case Init::glorot_normal: scale = std::sqrt(2.0 / (fan_in + fan_out)); uniform = false; break;
      case Init::he_uniform: scale = std::sqrt(6.0 / fan_in); break;
      case Init::he_normal: scale = std::sqrt(2.0 / fan_in); uniform = false; break;
    }
    for (Index i = 0; i < W.size(); ++i)
      W.data()[i] = static_cast<Scalar>(uniform ? rng.uniform(-scale, scale) : scale * rng.normal());
    for (Index i = 0; i < b.size(); ++i)
      b[i] = init == Init::glorot_uniform ? static_cast<Scalar>(rng.uniform(-scale, scale)) : Scalar(0);
  }
}

}  // namespace fastcredit
