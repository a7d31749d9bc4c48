// Batch buffers a conv or locally-connected layer computes through: they grow to the
// largest batch seen (the first batch and the first probe allocate) and are reused after.
#pragma once

#include "fastcredit/types.hpp"

namespace fastcredit {

template <typename Scalar>
struct LayerScratch {
  Vector<Scalar> patches, channels_last;

  static Scalar* at_least(Vector<Scalar>& buffer, Index size) {
    if (buffer.size() < size) buffer.resize(size);
    return buffer.data();
  }
};

}  // namespace fastcredit
