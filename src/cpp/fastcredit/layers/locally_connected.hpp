// The locally-connected layer's operator (RULES.md, "Layers"): a convolution without
// weight sharing, kernel K (O, OH, OW, C, kh, kw), one bias per output unit. The batch's
// patches are gathered once (as for conv); then one product per output position p,
// batched over the samples: the rows b*P + p of the patches (a strided matrix) times
// K_p^T, with K_p = K[:, p] the (O, C kh kw) block of the kernel matrix (O, P C kh kw).
// With n_jobs > 1 the positions are split over the fit's threads.
#pragma once

#include "fastcredit/gemm.hpp"
#include "fastcredit/layers/patches.hpp"
#include "fastcredit/layers/scratch.hpp"

namespace fastcredit {

struct LocallyConnectedOps {
  template <typename Scalar>
  using Map = Eigen::Map<Matrix<Scalar>>;
  template <typename Scalar>
  using Strided = Eigen::Map<Matrix<Scalar>, 0, Eigen::OuterStride<>>;

  /// Rows b*P + p (b = 0..batch-1) of a (batch*P x width) buffer.
  template <typename Scalar>
  static Strided<Scalar> at_position(Scalar* buffer, Index p, Index batch, Index P, Index width) {
    return Strided<Scalar>(buffer + p * width, batch, width, Eigen::OuterStride<>(P * width));
  }
  /// K_p, the (O, C kh kw) kernel of position p inside the (O, P C kh kw) kernel matrix.
  template <typename Scalar>
  static Strided<Scalar> kernel_at(const Scalar* kernel, const LayerGeometry& g, Index p) {
    const Index K = g.patch();
    return Strided<Scalar>(const_cast<Scalar*>(kernel) + p * K, g.out.channels, K,
                           Eigen::OuterStride<>(g.positions() * K));
  }

  template <typename Scalar, typename K>
  static void linear(const LayerGeometry& g, LayerScratch<Scalar>& s, const K& kernel, const Rows<Scalar>& h,
                     const Rows<Scalar>& a, bool accumulate) {
    const Index P = g.positions(), O = g.out.channels, rows = h.rows * P;
    Scalar* pat = gather_and_keep_patches(g, s, h);
    Scalar* cl = LayerScratch<Scalar>::at_least(s.channels_last, rows * O);
    if (accumulate) to_channels_last(g, a, cl);
    parallel_ranges(P, [&](Index first, Index last) {
      for (Index p = first; p < last; ++p)
        multiply(at_position(pat, p, h.rows, P, g.patch()), kernel_at(kernel.data(), g, p).transpose(),
                 at_position(cl, p, h.rows, P, O), Scalar(1), Scalar(accumulate ? 1 : 0));
    });
    from_channels_last(g, cl, a);
  }

  template <typename Scalar, typename K>
  static void transport(const LayerGeometry& g, LayerScratch<Scalar>& s, const K& kernel, const Rows<Scalar>& d,
                        const Rows<Scalar>& out) {
    const Index P = g.positions(), O = g.out.channels, rows = d.rows * P;
    Scalar* pat = LayerScratch<Scalar>::at_least(s.transport_patches, rows * g.patch());
    Scalar* cl = LayerScratch<Scalar>::at_least(s.channels_last, rows * O);
    to_channels_last(g, d, cl);
    parallel_ranges(P, [&](Index first, Index last) {
      for (Index p = first; p < last; ++p)
        multiply(at_position(cl, p, d.rows, P, O), kernel_at(kernel.data(), g, p),
                 at_position(pat, p, d.rows, P, g.patch()));
    });
    scatter_patches(g, pat, out);
  }

  template <typename Scalar, typename G>
  static void kernel_gradient(const LayerGeometry& g, LayerScratch<Scalar>& s, const Rows<Scalar>& h,
                              const Rows<Scalar>& d, G& gK, Scalar scale) {
    const Index P = g.positions(), O = g.out.channels, rows = h.rows * P;
    auto* pat = const_cast<Scalar*>(patches_of_input(g, s, h));  // read only: at_position takes Scalar*
    Scalar* cl = LayerScratch<Scalar>::at_least(s.channels_last, rows * O);
    to_channels_last(g, d, cl);
    parallel_ranges(P, [&](Index first, Index last) {
      for (Index p = first; p < last; ++p)
        multiply(at_position(cl, p, h.rows, P, O).transpose(), at_position(pat, p, h.rows, P, g.patch()),
                 kernel_at(gK.data(), g, p), scale);
    });
  }
};

}  // namespace fastcredit
