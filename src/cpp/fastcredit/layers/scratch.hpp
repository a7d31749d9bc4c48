// Batch buffers a conv or locally-connected layer computes through: they grow to the
// largest batch seen (the first batch and the first probe allocate) and are reused after.
#pragma once

#include "fastcredit/layers/patches.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

template <typename Scalar>
struct LayerScratch {
  // patches: the input patches of the last linear(), kept for kernel_gradient;
  // transport_patches: what transport() scatters from, so that it leaves them alone.
  Vector<Scalar> patches, transport_patches, channels_last;
  // The input whose patches `patches` holds (null: none). Set by linear(), which gathers
  // them; any other gather into `patches` clears it.
  const Scalar* patches_source = nullptr;
  Index patches_rows = 0, patches_stride = 0;

  static Scalar* at_least(Vector<Scalar>& buffer, Index size) {
    if (buffer.size() < size) buffer.resize(size);
    return buffer.data();
  }
};

/// linear(): h's patches gathered into s.patches and kept.
template <typename Scalar>
Scalar* gather_and_keep_patches(const LayerGeometry& g, LayerScratch<Scalar>& s, const Rows<Scalar>& h) {
  Scalar* pat = LayerScratch<Scalar>::at_least(s.patches, h.rows * g.positions() * g.patch());
  gather_patches(g, h, pat);
  s.patches_source = h.data;
  s.patches_rows = h.rows;
  s.patches_stride = h.stride;
  return pat;
}

/// kernel_gradient(): h's patches, as the last linear() kept them when h is its input
/// (the same data, rows and stride: a rule's forward pass, then its gradient, with the
/// workspace untouched in between), else gathered anew.
template <typename Scalar>
const Scalar* patches_of_input(const LayerGeometry& g, LayerScratch<Scalar>& s, const Rows<Scalar>& h) {
  if (s.patches_source == h.data && s.patches_rows == h.rows && s.patches_stride == h.stride)
    return s.patches.data();
  Scalar* pat = LayerScratch<Scalar>::at_least(s.patches, h.rows * g.positions() * g.patch());
  gather_patches(g, h, pat);
  s.patches_source = nullptr;
  return pat;
}

}  // namespace fastcredit
