/// @file
/// Stability of the feedback loop of dynamic inversion (RULES.md, "Stability"): the
/// linear dynamics converge iff every eigenvalue of their matrix has a negative real part.
/// For one layer that matrix is `[[-I, B], [W, -alpha I]]`; for a loop through `m` layers
/// (single-loop DI, forward map `P = W_top ... W_{bottom+1}`, linearised at f' = 1) it is
/// block bidiagonal. Its determinant factorises (Schur complement on the controller) as
///
///     det(lambda I - J) = (lambda + 1)^c * det((lambda + 1)^m (lambda + alpha) I - P B),
///
/// so its spectrum is -1 (c times), and for every eigenvalue mu of the small product P B
/// (or B P, which has the same non-zero eigenvalues) the m + 1 roots of
/// `(lambda + 1)^m (lambda + alpha) = mu`; when the top layer is wider than the bottom one
/// the zero eigenvalues of P B add the root -alpha. One small eigenproblem (of size
/// min(n_bottom, n_top)) instead of one of size n_bottom + n_top.
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <complex>
#include <limits>

#include "fastcredit/eigenvalues.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

/// Largest real part of the roots of (lambda + 1)^m (lambda + alpha) = mu.
inline double loop_root_abscissa(std::complex<double> mu, int m, double alpha) {
  using C = std::complex<double>;
  if (m == 1) {  // lambda^2 + (1 + alpha) lambda + alpha - mu = 0
    const C root = (-(1.0 + alpha) + std::sqrt(C((1.0 - alpha) * (1.0 - alpha)) + 4.0 * mu)) / 2.0;
    return root.real();
  }
  // Monic polynomial (lambda + 1)^m (lambda + alpha) - mu, then its companion matrix.
  Eigen::VectorXcd coefficients = Eigen::VectorXcd::Zero(m + 2);  // coefficients[i] of lambda^i
  coefficients[0] = 1.0;
  for (int i = 0; i < m; ++i)  // multiply by (lambda + 1)
    for (int j = i + 1; j >= 0; --j) coefficients[j] = (j > 0 ? coefficients[j - 1] : C(0)) + coefficients[j];
  for (int j = m + 1; j >= 0; --j)  // multiply by (lambda + alpha)
    coefficients[j] = (j > 0 ? coefficients[j - 1] : C(0)) + alpha * coefficients[j];
  coefficients[0] -= mu;
  const int degree = m + 1;
  Eigen::MatrixXcd companion = Eigen::MatrixXcd::Zero(degree, degree);
  for (int i = 1; i < degree; ++i) companion(i, i - 1) = 1.0;
  for (int i = 0; i < degree; ++i) companion(i, degree - 1) = -coefficients[i];
  return Eigen::ComplexEigenSolver<Eigen::MatrixXcd>(companion, false).eigenvalues().real().maxCoeff();
}

/// Spectral abscissa of the loop with forward map P (n_top x n_bottom), feedback B
/// (n_bottom x n_top), m layers and leak alpha.
inline double loop_spectral_abscissa(const Eigen::MatrixXd& P, const Eigen::MatrixXd& B, int m, double alpha) {
  const bool contracting = P.rows() <= P.cols();
  const Eigen::MatrixXd product = contracting ? Eigen::MatrixXd(P * B) : Eigen::MatrixXd(B * P);
  const Eigen::VectorXcd mus = general_eigenvalues(product);
  double abscissa = P.rows() < P.cols() ? -1.0 : -std::numeric_limits<double>::infinity();
  if (!contracting) abscissa = std::max(abscissa, -alpha);
  for (Index i = 0; i < mus.size(); ++i) abscissa = std::max(abscissa, loop_root_abscissa(mus[i], m, alpha));
  return abscissa;
}

}  // namespace fastcredit
