// What convolutional and locally-connected layers share: the patch matrix of a batch
// (im2col: one row per sample and output position, one column per kernel entry) and its
// adjoint (col2im), and the move between the workspace's channels-first units
// (batch x O*P) and the channels-last rows (batch*P x O) that one product fills.
//
// Patch row b*P + p (p = y OW + x) holds, at column (c kh + i) kw + j, the input value
// h[b, c, y sh + i - ph, x sw + j - pw], zero where that falls in the padding.
#pragma once

#include <algorithm>

#include "fastcredit/layers/geometry.hpp"
#include "fastcredit/parallel.hpp"

namespace fastcredit {

/// A row-major batch seen through its first element and row stride (a workspace matrix,
/// a block of its rows, a scratch view).
template <typename Scalar>
struct Rows {
  Scalar* data;
  Index rows, cols, stride;
  Scalar* row(Index b) const { return data + b * stride; }
};

template <typename Derived>
auto rows_of(const Eigen::MatrixBase<Derived>& m) {
  static_assert(bool(Derived::IsRowMajor) || Derived::ColsAtCompileTime == 1, "batches are row-major");
  using Scalar = typename Derived::Scalar;
  auto& x = const_cast<Derived&>(m.derived());
  const Index stride = x.rows() <= 1 ? x.cols() : x.outerStride();
  return Rows<Scalar>{const_cast<Scalar*>(x.data()), x.rows(), x.cols(), stride};
}

/// The P patch rows of one sample's image (C H W) into `pat` (P x C kh kw).
template <typename Scalar>
void gather_sample(const LayerGeometry& g, const Scalar* image, Scalar* pat) {
  const Index H = g.in.height, W = g.in.width, OW = g.out.width, K = g.patch();
  for (Index y = 0; y < g.out.height; ++y)
    for (Index x = 0; x < OW; ++x) {
      Scalar* out = pat + (y * OW + x) * K;
      for (Index c = 0; c < g.in.channels; ++c)
        for (Index i = 0; i < g.kernel_h; ++i) {
          const Index iy = y * g.stride_h + i - g.pad_h;
          Scalar* dst = out + (c * g.kernel_h + i) * g.kernel_w;
          if (iy < 0 || iy >= H) {
            std::fill(dst, dst + g.kernel_w, Scalar(0));
            continue;
          }
          const Scalar* src = image + (c * H + iy) * W;
          for (Index j = 0; j < g.kernel_w; ++j) {
            const Index ix = x * g.stride_w + j - g.pad_w;
            dst[j] = (ix >= 0 && ix < W) ? src[ix] : Scalar(0);
          }
        }
    }
}

/// image (C H W) = the adjoint of gather_sample applied to its P patch rows: every patch
/// entry added back where it was read from (padding dropped).
template <typename Scalar>
void scatter_sample(const LayerGeometry& g, const Scalar* pat, Scalar* image) {
  const Index H = g.in.height, W = g.in.width, OW = g.out.width, K = g.patch();
  std::fill(image, image + g.in_units(), Scalar(0));
  for (Index y = 0; y < g.out.height; ++y)
    for (Index x = 0; x < OW; ++x) {
      const Scalar* in = pat + (y * OW + x) * K;
      for (Index c = 0; c < g.in.channels; ++c)
        for (Index i = 0; i < g.kernel_h; ++i) {
          const Index iy = y * g.stride_h + i - g.pad_h;
          if (iy < 0 || iy >= H) continue;
          const Scalar* src = in + (c * g.kernel_h + i) * g.kernel_w;
          Scalar* dst = image + (c * H + iy) * W;
          for (Index j = 0; j < g.kernel_w; ++j) {
            const Index ix = x * g.stride_w + j - g.pad_w;
            if (ix >= 0 && ix < W) dst[ix] += src[j];
          }
        }
    }
}

/// pat (batch*P x C kh kw) = the patches of the batch h (batch x C H W).
template <typename Scalar>
void gather_patches(const LayerGeometry& g, const Rows<Scalar>& h, Scalar* pat) {
  const Index rows_per_sample = g.positions() * g.patch();
  parallel_ranges(h.rows, [&](Index first, Index last) {
    for (Index b = first; b < last; ++b) gather_sample(g, h.row(b), pat + b * rows_per_sample);
  });
}

/// out (batch x C H W) = the adjoint of gather_patches applied to pat.
template <typename Scalar>
void scatter_patches(const LayerGeometry& g, const Scalar* pat, const Rows<Scalar>& out) {
  const Index rows_per_sample = g.positions() * g.patch();
  parallel_ranges(out.rows, [&](Index first, Index last) {
    for (Index b = first; b < last; ++b) scatter_sample(g, pat + b * rows_per_sample, out.row(b));
  });
}

/// cl (batch*P x O) = units (batch x O*P), sample by sample a P x O transpose.
template <typename Scalar>
void to_channels_last(const LayerGeometry& g, const Rows<Scalar>& units, Scalar* cl) {
  const Index O = g.out.channels, P = g.positions();
  using Map = Eigen::Map<Matrix<Scalar>>;
  parallel_ranges(units.rows, [&](Index first, Index last) {
    for (Index b = first; b < last; ++b) Map(cl + b * P * O, P, O) = Map(units.row(b), O, P).transpose();
  });
}

/// units (batch x O*P) = cl (batch*P x O).
template <typename Scalar>
void from_channels_last(const LayerGeometry& g, const Scalar* cl, const Rows<Scalar>& units) {
  const Index O = g.out.channels, P = g.positions();
  using Map = Eigen::Map<Matrix<Scalar>>;
  using ConstMap = Eigen::Map<const Matrix<Scalar>>;
  parallel_ranges(units.rows, [&](Index first, Index last) {
    for (Index b = first; b < last; ++b) Map(units.row(b), O, P) = ConstMap(cl + b * P * O, P, O).transpose();
  });
}

}  // namespace fastcredit
