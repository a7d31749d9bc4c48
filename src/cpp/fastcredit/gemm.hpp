// Matrix products of the batch loop: C = alpha A B + beta C, through an external BLAS when
// one is registered (the bindings register scipy-openblas from PyPI at import) and the
// product is large enough to gain from it, else through Eigen.
//
// Why: on the machines we measure, OpenBLAS's single-thread GEMM beats Eigen 3.4's kernels
// for the shapes of a batch loop, large and small (benchmarks/bench_epoch.py reports an
// MNIST-sized epoch with both backends). The engine stays header-only and BLAS-free: without a
// registered BLAS, or for an operand that is not a plain strided matrix, Eigen computes
// the product. A fit's result depends on the backend (rounding of the products), never
// on threads or scheduling: the BLAS runs single-threaded inside each fit.
#pragma once

#include <algorithm>
#include <atomic>
#include <climits>

#include "fastcredit/parallel.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

/// cblas_?gemm's signature, with CBLAS's enums passed as the ints they are.
template <typename Scalar>
using CblasGemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, Scalar alpha,
                           const Scalar* a, int lda, const Scalar* b, int ldb, Scalar beta, Scalar* c,
                           int ldc);

/// The registered BLAS routine for one scalar type (null: Eigen only).
template <typename Scalar>
struct BlasBackend {
  static inline std::atomic<CblasGemm<Scalar>> gemm{nullptr};
  /// Products of fewer multiply-adds (m n k) stay with Eigen, where a library call costs
  /// more than the product. OpenBLAS already wins at 16^3: a sweep of 64-32-10 fits on
  /// digits (batch 32) runs 1.2-1.3x faster with it than with Eigen.
  static inline std::atomic<double> min_work{16.0 * 16.0 * 16.0};
};

namespace detail {
constexpr int cblas_row_major = 101, cblas_no_trans = 111, cblas_trans = 112;

/// An operand BLAS can read in place: direct access with unit inner stride. A row-major
/// operand is passed as is; a column-major one (e.g. the transpose of a row-major map) as
/// the transpose of the row-major matrix that owns its storage.
template <typename Derived>
constexpr bool blas_operand() {
  return (int(Derived::Flags) & Eigen::DirectAccessBit) != 0 && int(Derived::InnerStrideAtCompileTime) != 0;
}

template <typename Derived>
bool blas_layout(const Derived& x, int& trans, int& ld) {
  const Eigen::Index stored_row = x.innerSize();  // length of one row of the storage
  // A single stored row may report any outer stride; BLAS only needs ld >= its length.
  const Eigen::Index stride = x.outerSize() <= 1 ? std::max<Eigen::Index>(stored_row, 1) : x.outerStride();
  if (x.innerStride() != 1 || stride < stored_row || stride > INT_MAX) return false;
  trans = Derived::IsRowMajor ? cblas_no_trans : cblas_trans;
  ld = static_cast<int>(stride);
  return true;
}

/// Products of at least this many multiply-adds are split over the fit's threads (n_jobs).
constexpr double kParallelProductWork = 1 << 20;

/// One BLAS product, split with n_jobs > 1 into panels of C's columns (or rows, when C is
/// taller than wide), one per thread: each panel is the same product on a slice of the
/// operands (pointer offsets, no copies), so its values do not depend on the split.
template <typename Scalar>
void gemm_in_panels(CblasGemm<Scalar> gemm, int ta, int tb, Eigen::Index m, Eigen::Index n, Eigen::Index k,
                    Scalar alpha, const Scalar* A, int lda, const Scalar* B, int ldb, Scalar beta, Scalar* C, int ldc) {
  const int threads = parallel_threads();
  if (threads == 1 || double(m) * double(n) * double(k) < kParallelProductWork) {
    gemm(cblas_row_major, ta, tb, int(m), int(n), int(k), alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const bool by_columns = n >= m;
  parallel_for(threads, [&](int i) {
    const auto [begin, end] = split_range(by_columns ? n : m, threads, i, 16);
    if (end <= begin) return;
    if (by_columns)  // columns [begin, end) of B (rows of the stored B^T when transposed) and of C
      gemm(cblas_row_major, ta, tb, int(m), int(end - begin), int(k), alpha, A, lda,
           B + (tb == cblas_no_trans ? begin : begin * ldb), ldb, beta, C + begin, ldc);
    else  // rows [begin, end) of A (columns of the stored A^T when transposed) and of C
      gemm(cblas_row_major, ta, tb, int(end - begin), int(n), int(k), alpha,
           A + (ta == cblas_no_trans ? begin * lda : begin), lda, B, ldb, beta, C + begin * ldc, ldc);
  });
}
}  // namespace detail

/// C = alpha A B + beta C. C must be a row-major matrix (or a map or block of one) of the
/// product's shape that aliases neither A nor B; a temporary map is fine (Eigen's
/// const_cast_derived idiom for writable expressions). With n_jobs > 1, large BLAS products
/// are split over the fit's threads (detail::gemm_in_panels).
template <typename DerivedA, typename DerivedB, typename DerivedC>
void multiply(const Eigen::MatrixBase<DerivedA>& a, const Eigen::MatrixBase<DerivedB>& b,
              const Eigen::MatrixBase<DerivedC>& c, typename DerivedC::Scalar alpha = 1,
              typename DerivedC::Scalar beta = 0) {
  using Scalar = typename DerivedC::Scalar;
  const auto& A = a.derived();
  const auto& B = b.derived();
  auto& C = c.const_cast_derived();
  const Eigen::Index m = A.rows(), k = A.cols(), n = B.cols();
  if constexpr (detail::blas_operand<DerivedA>() && detail::blas_operand<DerivedB>() &&
                detail::blas_operand<DerivedC>() && bool(DerivedC::IsRowMajor)) {
    const CblasGemm<Scalar> gemm = BlasBackend<Scalar>::gemm.load(std::memory_order_relaxed);
    int ta = 0, tb = 0, tc = 0, lda = 0, ldb = 0, ldc = 0;
    // A product with a single row, column or inner index (a batch of one: GEMV and outer
    // products) stays with Eigen: OpenBLAS's GEMM would pack the whole weight matrix for
    // it, and zero C before accumulating into it, tripling the memory traffic that bounds
    // online learning.
    if (gemm != nullptr && std::min({m, n, k}) > 1 && std::max({m, n, k}) <= INT_MAX &&
        double(m) * double(n) * double(k) >= BlasBackend<Scalar>::min_work.load(std::memory_order_relaxed) &&
        detail::blas_layout(A, ta, lda) && detail::blas_layout(B, tb, ldb) && detail::blas_layout(C, tc, ldc) &&
        tc == detail::cblas_no_trans) {
      detail::gemm_in_panels<Scalar>(gemm, ta, tb, m, n, k, alpha, A.data(), lda, B.data(), ldb, beta, C.data(),
                                     ldc);
      return;
    }
  }
  const auto accumulate = [&](const auto& product) {  // C = product + beta C
    if (beta == Scalar(0))
      C.noalias() = product;
    else {
      if (beta != Scalar(1)) C *= beta;
      C.noalias() += product;
    }
  };
  // An outer product (a batch of one's weight gradient) spelled as one: Eigen's run-time
  // dispatch sends it to its GEMM, which zeroes C first; this writes C once.
  if (k == 1 && m > 1 && n > 1)
    accumulate((alpha * A.col(0)) * B.row(0));
  else
    accumulate(alpha * (A * B));
}

}  // namespace fastcredit
