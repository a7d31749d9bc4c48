// Eigenvalues of a general real matrix, through LAPACK's dgeev when one is registered (the
// bindings register scipy-openblas's alongside its GEMM), else through Eigen.
//
// Why: dynamic inversion's stability check (loop_stability.hpp) needs the spectrum of a
// loop's n x n product every `stability_check_every` batches and at every repair attempt.
// Eigen 3.4's unblocked Francis QR takes 0.6 s for n = 256 here, LAPACK's multishift QR
// with aggressive early deflation about 0.02 s: with Eigen the check was a third of an
// epoch of DI on 784-256-256-10. The two agree to rounding; a fit's result depends on the
// backend (as with the GEMM), never on threads.
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <vector>

namespace fastcredit {

/// LAPACK's dgeev with the Fortran ABI (32-bit integers, hidden string lengths last).
using LapackDgeev = void (*)(const char* jobvl, const char* jobvr, const int* n, double* a, const int* lda,
                             double* wr, double* wi, double* vl, const int* ldvl, double* vr, const int* ldvr,
                             double* work, const int* lwork, int* info, std::size_t jobvl_len,
                             std::size_t jobvr_len);

struct LapackBackend {
  static inline std::atomic<LapackDgeev> dgeev{nullptr};
};

/// The eigenvalues of the square matrix A, in no particular order.
inline Eigen::VectorXcd general_eigenvalues(const Eigen::MatrixXd& A) {
  const LapackDgeev dgeev = LapackBackend::dgeev.load();
  const Eigen::Index size = A.rows();
  if (dgeev == nullptr || size == 0 || size > INT_MAX / 64)
    return Eigen::EigenSolver<Eigen::MatrixXd>(A, false).eigenvalues();
  // Column-major in, as LAPACK wants; dgeev overwrites its copy.
  Eigen::MatrixXd a = A;
  const int n = static_cast<int>(size), one = 1;
  std::vector<double> wr(size), wi(size);
  double unused = 0.0, optimal = 0.0;
  int info = 0, query = -1;
  dgeev("N", "N", &n, a.data(), &n, wr.data(), wi.data(), &unused, &one, &unused, &one, &optimal, &query, &info, 1,
        1);
  int lwork = info == 0 ? std::max(static_cast<int>(optimal), 3 * n) : 3 * n;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgeev("N", "N", &n, a.data(), &n, wr.data(), wi.data(), &unused, &one, &unused, &one, work.data(), &lwork, &info,
        1, 1);
  if (info != 0)  // QR failed to converge (info > 0): let Eigen try
    return Eigen::EigenSolver<Eigen::MatrixXd>(A, false).eigenvalues();
  Eigen::VectorXcd values(size);
  for (std::size_t i = 0; i < wr.size(); ++i) values[static_cast<Eigen::Index>(i)] = {wr[i], wi[i]};
  return values;
}

}  // namespace fastcredit
