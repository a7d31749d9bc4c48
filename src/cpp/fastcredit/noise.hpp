// Standard normal noise arrays from a fit's random stream, fast enough for a rule that
// perturbs every weight at every step: the Box-Muller transform on whole arrays (Eigen
// vectorises log, sqrt, sin and cos for float), both of its outputs used.
//
// A fill of n values takes h = ceil(n / 2) pairs (u1, u2) of consecutive uniforms from the
// stream, r = sqrt(-2 log(1 - u1)), theta = 2 pi u2, computed in the fill's scalar type, and
// writes r cos(theta) to the first h values and r sin(theta) to the remaining n - h.
#pragma once

#include "fastcredit/random.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

template <typename Scalar>
class NormalNoise {
 public:
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

  /// Scratch for fills of up to max_size values.
  void reserve(Index max_size) {
    for (auto* a : {&radius_, &angle_, &cosine_}) a->resize((max_size + 1) / 2);
  }

  void fill(Rng& rng, Scalar* out, Index size) {
    const Index half = (size + 1) / 2;
    if (half > radius_.size()) throw InvalidArgument("noise fill larger than reserved");
    auto r = radius_.head(half);
    auto theta = angle_.head(half);
    for (Index i = 0; i < half; ++i) {
      r[i] = static_cast<Scalar>(1.0 - rng.uniform());  // (0, 1]
      theta[i] = static_cast<Scalar>(rng.uniform());
    }
    // All arithmetic on the (aligned) scratch, then copied: where `out` lies in memory
    // must not decide which values take Eigen's vectorised or scalar sin/cos.
    r = (Scalar(-2) * r.log()).sqrt();
    theta *= static_cast<Scalar>(6.283185307179586);
    auto cosine = cosine_.head(half);
    cosine = r * theta.cos();
    theta = r * theta.sin();
    Eigen::Map<Array>(out, half) = cosine;
    Eigen::Map<Array>(out + half, size - half) = theta.head(size - half);
  }

 private:
  Array radius_, angle_, cosine_;
};

}  // namespace fastcredit
