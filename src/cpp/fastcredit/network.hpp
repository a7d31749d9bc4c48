// A dense feed-forward network over caller-owned parameter buffers, and the reusable
// workspace that holds one batch's forward pass.
//
// Layout: coefs[l] is n_l x n_{l+1} (that is W_{l+1}^T in RULES.md's notation, and the
// layout of scikit-learn's `coefs_`), so that a row-major batch H_l maps forward as
// A_{l+1} = H_l coefs[l] + intercepts[l].
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "fastcredit/activations.hpp"
#include "fastcredit/gemm.hpp"
#include "fastcredit/losses.hpp"
#include "fastcredit/random.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

template <typename Scalar>
struct Network {
  std::vector<MatrixMap<Scalar>> coefs;
  std::vector<VectorMap<Scalar>> intercepts;
  Activation hidden_activation = Activation::relu;
  Output output = Output::softmax_cross_entropy;

  /// Number of weight layers L; the units are n_0 (inputs) ... n_L (outputs).
  int n_layers() const { return static_cast<int>(coefs.size()); }
  Index units(int k) const { return k == 0 ? coefs[0].rows() : coefs[k - 1].cols(); }

  void check() const {
    if (coefs.empty() || coefs.size() != intercepts.size())
      throw InvalidArgument("a network needs as many intercept vectors as weight matrices (>= 1)");
    for (int l = 0; l < n_layers(); ++l) {
      if (intercepts[l].size() != coefs[l].cols())
        throw InvalidArgument("intercepts[" + std::to_string(l) + "] does not match coefs");
      if (l > 0 && coefs[l].rows() != coefs[l - 1].cols())
        throw InvalidArgument("coefs[" + std::to_string(l) + "] does not chain with the layer below");
    }
  }
};

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
    multiply(ws.h(k - 1), net.coefs[k - 1], a);
    a.rowwise() += net.intercepts[k - 1].transpose();
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
    const double fan_in = static_cast<double>(W.rows()), fan_out = static_cast<double>(W.cols());
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
