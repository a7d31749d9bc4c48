// One weight layer as an operator (RULES.md, "Layers"; DESIGN.md): forward
// a = M(K) h + b, the transport of a delta through ANY kernel shaped like the weights
// (M(K)^T d: W for backprop, B for feedback alignment, sign(W) for sign symmetry), the
// weight and bias gradients from (h, d), and target propagation's inverse of the
// transposed kind. Rules call these and never ask which kind of layer they hold; the
// kind is dispatched once per call (a switch, no virtual call per element).
//
// Batches are row-major (rows x units); kernels are passed as the engine's 2-D view of
// their array (first dimension x the rest), as stored in Network::coefs.
#pragma once

#include "fastcredit/layers/conv2d.hpp"
#include "fastcredit/layers/dense.hpp"
#include "fastcredit/layers/geometry.hpp"
#include "fastcredit/layers/locally_connected.hpp"

namespace fastcredit {

template <typename Scalar>
class Layer {
 public:
  Layer() = default;
  explicit Layer(const LayerGeometry& g) : g_(g) {}

  const LayerGeometry& geometry() const { return g_; }
  bool is_dense() const { return g_.is_dense(); }
  Index in_units() const { return g_.in_units(); }
  Index out_units() const { return g_.out_units(); }

  /// a = M(K) h + b.
  template <typename K, typename B, typename H, typename A>
  void forward(const Eigen::MatrixBase<K>& kernel, const Eigen::MatrixBase<B>& bias, const Eigen::MatrixBase<H>& h,
               const Eigen::MatrixBase<A>& a) const {
    linear(kernel, h, a);
    add_bias(bias, a);
  }

  /// a = M(K) h, or a += M(K) h when `accumulate`.
  template <typename K, typename H, typename A>
  void linear(const Eigen::MatrixBase<K>& kernel, const Eigen::MatrixBase<H>& h, const Eigen::MatrixBase<A>& a_,
              bool accumulate = false) const {
    auto& a = a_.const_cast_derived();
    switch (g_.kind) {
      case LayerKind::dense: DenseOps::linear(kernel.derived(), h.derived(), a, accumulate); break;
      case LayerKind::conv2d: Conv2dOps::linear(g_, scratch_, kernel.derived(), rows_of(h), rows_of(a), accumulate); break;
      case LayerKind::locally_connected2d:
        LocallyConnectedOps::linear(g_, scratch_, kernel.derived(), rows_of(h), rows_of(a), accumulate);
        break;
    }
  }

  /// out = M(K)^T d for a delta d of the layer's outputs.
  template <typename K, typename D, typename Out>
  void transport(const Eigen::MatrixBase<K>& kernel, const Eigen::MatrixBase<D>& d,
                 const Eigen::MatrixBase<Out>& out_) const {
    auto& out = out_.const_cast_derived();
    switch (g_.kind) {
      case LayerKind::dense: DenseOps::transport(kernel.derived(), d.derived(), out); break;
      case LayerKind::conv2d: Conv2dOps::transport(g_, scratch_, kernel.derived(), rows_of(d), rows_of(out)); break;
      case LayerKind::locally_connected2d:
        LocallyConnectedOps::transport(g_, scratch_, kernel.derived(), rows_of(d), rows_of(out));
        break;
    }
  }

  /// a += b (b: one value per output unit for dense and LC, per channel for conv).
  template <typename B, typename A>
  void add_bias(const Eigen::MatrixBase<B>& bias, const Eigen::MatrixBase<A>& a_) const {
    auto& a = a_.const_cast_derived();
    if (g_.kind == LayerKind::conv2d)
      Conv2dOps::add_bias<Scalar>(g_, bias.derived(), rows_of(a));
    else
      a.rowwise() += bias.derived().reshaped().transpose();
  }

  /// gK = scale * dL/dK of L = sum over the batch of d . M(K) h. A conv/LC layer reuses the
  /// patches its last linear() gathered when h is that call's input (same data, rows and
  /// stride): whoever writes into a batch buffer in place runs linear() on it before
  /// asking for this gradient, as every forward pass does.
  template <typename H, typename D, typename G>
  void kernel_gradient(const Eigen::MatrixBase<H>& h, const Eigen::MatrixBase<D>& d, const Eigen::MatrixBase<G>& gK_,
                       Scalar scale) const {
    auto& gK = gK_.const_cast_derived();
    switch (g_.kind) {
      case LayerKind::dense: DenseOps::kernel_gradient(h.derived(), d.derived(), gK, scale); break;
      case LayerKind::conv2d: Conv2dOps::kernel_gradient(g_, scratch_, rows_of(h), rows_of(d), gK, scale); break;
      case LayerKind::locally_connected2d:
        LocallyConnectedOps::kernel_gradient(g_, scratch_, rows_of(h), rows_of(d), gK, scale);
        break;
    }
  }

  /// gb = scale * the sum over the batch of d (per unit; per channel for conv).
  template <typename D, typename G>
  void bias_gradient(const Eigen::MatrixBase<D>& d, const Eigen::MatrixBase<G>& gb_, Scalar scale) const {
    auto& gb = gb_.const_cast_derived();
    if (g_.kind == LayerKind::conv2d)
      Conv2dOps::bias_gradient(g_, rows_of(d), gb, scale);
    else
      gb.noalias() = scale * d.colwise().sum().transpose();
  }

  /// Target propagation's inverse from this layer's outputs back to its inputs (RULES.md,
  /// "Layers": the transposed kind): out = u V for a dense layer (V stored (n_out, n_in)),
  /// out = M(V)^T u for conv/LC (V shaped like the kernel). `accumulate` (out += ...) is
  /// for dense layers only (AO-SDTP's auxiliary part of the output layer's inverse).
  template <typename V, typename U, typename Out>
  void inverse(const Eigen::MatrixBase<V>& kernel, const Eigen::MatrixBase<U>& u, const Eigen::MatrixBase<Out>& out_,
               bool accumulate = false) const {
    auto& out = out_.const_cast_derived();
    if (g_.kind == LayerKind::dense)
      DenseOps::inverse(kernel.derived(), u.derived(), out, accumulate);
    else if (accumulate)
      throw InvalidArgument("an accumulating inverse of a conv/LC layer");
    else
      transport(kernel, u, out);
  }

  /// gV = scale * dL/dV of L = sum over the batch of d . inverse(V, u).
  template <typename U, typename D, typename G>
  void inverse_gradient(const Eigen::MatrixBase<U>& u, const Eigen::MatrixBase<D>& d, const Eigen::MatrixBase<G>& gV_,
                        Scalar scale) const {
    auto& gV = gV_.const_cast_derived();
    if (g_.kind == LayerKind::dense)
      DenseOps::inverse_gradient(u.derived(), d.derived(), gV, scale);
    else
      kernel_gradient(d, u, gV, scale);  // d . M(V)^T u = u . M(V) d
  }

 private:
  LayerGeometry g_;
  mutable LayerScratch<Scalar> scratch_;
};

}  // namespace fastcredit
