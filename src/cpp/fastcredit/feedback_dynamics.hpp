/// @file
/// The fast feedback dynamics of dynamic inversion (RULES.md, "Dynamic inversion"), run on
/// a whole minibatch at once (row-major `batch x units`, one matrix product per level and
/// step), and their steady state solved directly.
///
/// A *loop* spans the layers `bottom < top`: a controller `u` in layer `top`'s space, fed
/// the error `e = delta(top)`, and states `r_j` in the spaces of layers `bottom + j`
/// (`j = 0..m-1`, `m = top - bottom`), stored in place in `delta(bottom + j)`. From zero,
/// Euler steps of size `dt`, swept from the error down (Gauss-Seidel order, as the RULES.md
/// listing and the authors' code do for one layer):
///
///     u   <- u   + dt * (-alpha u + g_{m-1}(r_{m-1}) - e)
///     r_0 <- r_0 + dt * (-r_0 + B u)
///     r_j <- r_j + dt * (-r_j + g_{j-1}(r_{j-1}))          j = 1..m-1
///
/// with `g_j(r) = W_{bottom+j+1} r` (linear DI) or, through the nonlinearity at the forward
/// pass's operating point, `g_j(r) = W_{bottom+j+1} (f(a) - f(a - r))` with `a` the layer's
/// pre-activation (nonlinear DI, and the intermediate layers of single-loop DI): `r` is
/// then the pre-activation change that removes `e`. At `a = 0` and odd `f` this is the
/// authors' `W f(r)`. One layer (`m = 1`) with linear `g` is DI proper.
/// @tparam Scalar float or double.
#pragma once

#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastcredit/network.hpp"

namespace fastcredit {

struct DynamicsSettings {
  double dt = 0.2;
  long n_steps = 50;
  double tol = 0.0;    // stop once the residual falls under tol (0: run all n_steps)
  double leak = 0.0;   // alpha in RULES.md
  bool through_nonlinearity = false;
};

/// `residual` is |velocity| / |e| over the whole loop and batch (0 at the steady state),
/// measured at the last step; `diverged` when it became non-finite or exceeded 1e6.
struct DynamicsResult {
  double residual = 0.0;
  long steps = 0;
  bool diverged = false;
};

template <typename Scalar>
class FeedbackDynamics {
 public:
  /// Grows (never shrinks) the buffers; a fit's batch loop calls it with the same sizes,
  /// so only its first batch (and the first probe) allocates.
  void reserve(Index batch, Index width) {
    const Index size = batch * width;
    if (size <= static_cast<Index>(u_.size())) return;
    u_.resize(size);
    velocity_.resize(size);
    scratch_.resize(size);
  }

  /// Runs the loop from zero; leaves r_j in ws.delta(bottom + j).
  template <typename Feedback>
  DynamicsResult run(const Network<Scalar>& net, Workspace<Scalar>& ws, int bottom, int top,
                     const Eigen::MatrixBase<Feedback>& B, const DynamicsSettings& s) {
    const Index batch = ws.batch();
    Index widest = 0;
    for (int k = bottom; k <= top; ++k) widest = std::max(widest, net.units(k));
    reserve(batch, widest);
    const auto e = ws.delta(top);
    auto u = view(u_, batch, net.units(top));
    u.setZero();
    for (int k = bottom; k < top; ++k) ws.delta(k).setZero();
    const Scalar dt(s.dt), leak(s.leak);
    const double error_norm = std::max(static_cast<double>(e.norm()), 1e-300);
    DynamicsResult result;
    for (long step = 0; step < s.n_steps; ++step) {
      auto v = view(velocity_, batch, net.units(top));
      forward_term(net, ws, top - 1, s.through_nonlinearity, v);
      v -= e + leak * u;
      double squares = static_cast<double>(v.squaredNorm());
      u += dt * v;
      for (int k = bottom; k < top; ++k) {
        auto r = ws.delta(k);
        auto w = view(velocity_, batch, net.units(k));
        if (k == bottom)
          w.noalias() = u * B.transpose();
        else
          forward_term(net, ws, k - 1, s.through_nonlinearity, w);
        w -= r;
        squares += static_cast<double>(w.squaredNorm());
        r += dt * w;
      }
      result.steps = step + 1;
      result.residual = std::sqrt(squares) / error_norm;
      if (!std::isfinite(result.residual) || result.residual > 1e6) {
        result.diverged = true;
        break;
      }
      if (result.residual < s.tol) break;
    }
    return result;
  }

  /// The steady state of the one-layer linear loop, r = B (W B - alpha I)^{-1} e, written
  /// to ws.delta(k) for the error in ws.delta(k + 1) (W = coefs[k]^T). Contracting layers
  /// factorise the n_{k+1}-square W B - alpha I, expanding ones the n_k-square B W - alpha I
  /// (r = (B W - alpha I)^{-1} B e), once per batch. Returns the solve's relative residual.
  template <typename Feedback>
  double solve_direct(const Network<Scalar>& net, Workspace<Scalar>& ws, int k,
                      const Eigen::MatrixBase<Feedback>& B, double leak) {
    const auto& C = net.coefs[k];
    const Index batch = ws.batch(), below = C.rows(), above = C.cols();
    reserve(batch, std::max(below, above));
    const auto e = ws.delta(k + 1);
    auto r = ws.delta(k);
    const bool contracting = above <= below;
    const Index n = contracting ? above : below;
    system_.resize(n, n);  // no-op when the size is unchanged
    if (contracting)
      system_.noalias() = C.transpose() * B;
    else
      system_.noalias() = B * C.transpose();
    system_.diagonal().array() -= static_cast<Scalar>(leak);
    lu_.compute(system_);
    // Rows are samples, so M x = b for every sample is X M^T = RHS for the batch.
    auto rhs = view(scratch_, batch, n);
    auto x = contracting ? view(u_, batch, n) : r;
    if (contracting)
      rhs = e;
    else
      rhs.noalias() = e * B.transpose();
    x.transpose() = lu_.solve(rhs.transpose());
    auto check = view(velocity_, batch, n);
    check.noalias() = x * system_.transpose();
    check -= rhs;
    const double residual = static_cast<double>(check.norm()) / std::max(static_cast<double>(rhs.norm()), 1e-300);
    if (contracting) r.noalias() = x * B.transpose();
    return residual;
  }

 private:
  static MatrixMap<Scalar> view(Vector<Scalar>& storage, Index rows, Index cols) {
    return MatrixMap<Scalar>(storage.data(), rows, cols);
  }

  /// out = g_k(r_k) with r_k = ws.delta(k), mapped through coefs[k] to layer k + 1.
  void forward_term(const Network<Scalar>& net, Workspace<Scalar>& ws, int k, bool through_nonlinearity,
                    MatrixMap<Scalar>& out) {
    const auto r = ws.delta(k);
    if (!through_nonlinearity) {
      out.noalias() = r * net.coefs[k];
      return;
    }
    auto moved = view(scratch_, ws.batch(), net.units(k));
    moved = ws.a(k) - r;
    activate<Scalar>(net.hidden_activation, moved, moved);
    moved = ws.h(k) - moved;
    out.noalias() = moved * net.coefs[k];
  }

  Vector<Scalar> u_, velocity_, scratch_;
  Matrix<Scalar> system_;
  Eigen::PartialPivLU<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> lu_;
};

}  // namespace fastcredit
