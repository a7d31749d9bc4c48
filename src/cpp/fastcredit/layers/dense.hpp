// The dense layer's operator (RULES.md, "Layers"): a = h K + b for a row-major batch h,
// with the kernel K stored (n_in, n_out) as scikit-learn's coefs_ (= W^T).
#pragma once

#include "fastcredit/gemm.hpp"
#include "fastcredit/layers/geometry.hpp"

namespace fastcredit {

struct DenseOps {
  /// a = h K (+ a when accumulate).
  template <typename K, typename H, typename A>
  static void linear(const K& kernel, const H& h, A& a, bool accumulate = false) {
    multiply(h, kernel, a, typename A::Scalar(1), typename A::Scalar(accumulate ? 1 : 0));
  }
  /// out = d K^T: the delta sent down through any kernel shaped like the weights.
  template <typename K, typename D, typename Out>
  static void transport(const K& kernel, const D& d, Out& out) {
    multiply(d, kernel.transpose(), out);
  }
  /// gK = scale h^T d.
  template <typename H, typename D, typename G>
  static void kernel_gradient(const H& h, const D& d, G& gK, typename G::Scalar scale) {
    multiply(h.transpose(), d, gK, scale);
  }
  /// Target propagation's inverse, V stored (n_out, n_in): out = u V (+ out).
  template <typename V, typename U, typename Out>
  static void inverse(const V& kernel, const U& u, Out& out, bool accumulate = false) {
    multiply(u, kernel, out, typename Out::Scalar(1), typename Out::Scalar(accumulate ? 1 : 0));
  }
  /// gV = scale u^T d for the inverse out = u V.
  template <typename U, typename D, typename G>
  static void inverse_gradient(const U& u, const D& d, G& gV, typename G::Scalar scale) {
    multiply(u.transpose(), d, gV, scale);
  }
};

}  // namespace fastcredit
