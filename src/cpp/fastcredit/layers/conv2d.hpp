// The convolutional layer's operator (RULES.md, "Layers"): a = M(K) h + b, the sliding
// cross-correlation of the channels-first input with the kernel K (O, C, kh, kw), zero
// padding and stride, one bias per output channel. As im2col and one product through
// the shared `multiply` (the BLAS path): the batch's patches (batch*P x C kh kw) times
// K^T fill the channels-last outputs (batch*P x O) in one GEMM, then a transpose per
// sample makes them channels-first. The engine sees K as the matrix (O, C kh kw).
#pragma once

#include "fastcredit/gemm.hpp"
#include "fastcredit/layers/patches.hpp"
#include "fastcredit/layers/scratch.hpp"

namespace fastcredit {

struct Conv2dOps {
  template <typename Scalar>
  using Map = Eigen::Map<Matrix<Scalar>>;

  /// a = M(K) h (+ a when accumulate).
  template <typename Scalar, typename K>
  static void linear(const LayerGeometry& g, LayerScratch<Scalar>& s, const K& kernel, const Rows<Scalar>& h,
                     const Rows<Scalar>& a, bool accumulate) {
    const Index rows = h.rows * g.positions();
    Map<Scalar> pat(gather_and_keep_patches(g, s, h), rows, g.patch());
    Map<Scalar> cl(LayerScratch<Scalar>::at_least(s.channels_last, rows * g.out.channels), rows, g.out.channels);
    if (accumulate) to_channels_last(g, a, cl.data());
    multiply(pat, kernel.transpose(), cl, Scalar(1), Scalar(accumulate ? 1 : 0));
    from_channels_last(g, cl.data(), a);
  }

  /// out = M(K)^T d: a transposed convolution.
  template <typename Scalar, typename K>
  static void transport(const LayerGeometry& g, LayerScratch<Scalar>& s, const K& kernel, const Rows<Scalar>& d,
                        const Rows<Scalar>& out) {
    const Index rows = d.rows * g.positions();
    Map<Scalar> pat(LayerScratch<Scalar>::at_least(s.transport_patches, rows * g.patch()), rows, g.patch());
    Map<Scalar> cl(LayerScratch<Scalar>::at_least(s.channels_last, rows * g.out.channels), rows, g.out.channels);
    to_channels_last(g, d, cl.data());
    multiply(cl, kernel, pat);
    scatter_patches(g, pat.data(), out);
  }

  /// gK = scale * d(sum_b d_b . M(K) h_b)/dK, summed over positions.
  template <typename Scalar, typename G>
  static void kernel_gradient(const LayerGeometry& g, LayerScratch<Scalar>& s, const Rows<Scalar>& h,
                              const Rows<Scalar>& d, G& gK, Scalar scale) {
    const Index rows = h.rows * g.positions();
    const Eigen::Map<const Matrix<Scalar>> pat(patches_of_input(g, s, h), rows, g.patch());
    Map<Scalar> cl(LayerScratch<Scalar>::at_least(s.channels_last, rows * g.out.channels), rows, g.out.channels);
    to_channels_last(g, d, cl.data());
    multiply(cl.transpose(), pat, gK, scale);
  }

  /// a += b per output channel.
  template <typename Scalar, typename B>
  static void add_bias(const LayerGeometry& g, const B& bias, const Rows<Scalar>& a) {
    const Index P = g.positions();
    for (Index b = 0; b < a.rows; ++b)
      for (Index o = 0; o < g.out.channels; ++o) {
        Scalar* row = a.row(b) + o * P;
        const Scalar value = bias[o];
        for (Index p = 0; p < P; ++p) row[p] += value;
      }
  }

  /// gb = scale * sum of d over samples and positions, per channel.
  template <typename Scalar, typename GB>
  static void bias_gradient(const LayerGeometry& g, const Rows<Scalar>& d, GB& gb, Scalar scale) {
    const Index P = g.positions();
    gb.setZero();
    for (Index b = 0; b < d.rows; ++b)
      for (Index o = 0; o < g.out.channels; ++o)
        gb[o] += Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>(d.row(b) + o * P, P).sum();
    gb *= scale;
  }
};

}  // namespace fastcredit
