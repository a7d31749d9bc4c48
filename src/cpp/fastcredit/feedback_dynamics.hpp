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
/// with `g_j(r) = W_{bottom+j+1} r` (linear DI; M(W) r for a conv/LC layer) or, through the nonlinearity at the forward
/// pass's operating point, `g_j(r) = W_{bottom+j+1} (f(a) - f(a - r))` with `a` the layer's
/// pre-activation (nonlinear DI, and the intermediate layers of single-loop DI): `r` is
/// then the pre-activation change that removes `e`. At `a = 0` and odd `f` this is the
/// authors' `W f(r)`. One layer (`m = 1`) with linear `g` is DI proper. `B u` is the
/// transport of u through the bottom layer with kernel B (`LoopFeedback::layer_kernel`: B
/// shaped like that layer's kernel, M(B)^T u) or a dense product (`LoopFeedback::dense`: B is
/// n_bottom x n_top over the flattened units, single-loop DI's).
/// @tparam Scalar float or double.
#pragma once

#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastcredit/network.hpp"

namespace fastcredit {

enum class LoopFeedback { layer_kernel, dense };

struct DynamicsSettings {
  double dt = 0.2;
  long n_steps = 50;
  double tol = 0.0;    // stop once the residual falls under tol (0: run all n_steps)
  double leak = 0.0;   // alpha in RULES.md
  bool through_nonlinearity = false;
  bool report_residual = true;  // false: the reduced loop skips the last step's r share
};

/// `residual` is |velocity| / |e| over the whole loop and batch (0 at the steady state),
/// at each block's last step (NaN unless DynamicsSettings::report_residual); `steps` the
/// most any block took; `diverged` when a block's residual became non-finite or exceeded 1e6.
struct DynamicsResult {
  double residual = 0.0;
  long steps = 0;
  bool diverged = false;
};

template <typename Scalar>
class FeedbackDynamics {
 public:
  /// Grows (never shrinks) the buffers: `width` for the states the steps sweep over,
  /// `reduced_width` for the narrow-layer state s of the reduced loop (0: none); a fit's
  /// batch loop calls it with the same sizes, so only its first batch (and the first
  /// probe) allocates.
  void reserve(Index batch, Index width, Index reduced_width = 0) {
    if (batch * reduced_width > static_cast<Index>(reduced_.size())) reduced_.resize(batch * reduced_width);
    const Index size = batch * width;
    if (size <= static_cast<Index>(u_.size())) return;
    u_.resize(size);
    velocity_.resize(size);
    scratch_.resize(size);
  }

  /// Runs the loop from zero; leaves r_j in ws.delta(bottom + j). Samples are independent,
  /// so the loop runs block by block of rows small enough to stay in cache for all its
  /// steps, and each block stops on its own tolerance.
  template <typename FeedbackMatrix>
  DynamicsResult run(const Network<Scalar>& net, Workspace<Scalar>& ws, int bottom, int top,
                     const Eigen::MatrixBase<FeedbackMatrix>& B, LoopFeedback feedback, const DynamicsSettings& s) {
    const Index batch = ws.batch();
    const Index n_top = net.units(top);
    // Linear one-layer DI into a layer at least as wide: r starts at 0 and only ever moves
    // along B u, so r = s B^T for a state s of the top layer's width, and the loop
    //     u <- u + dt (-alpha u + s M - e),   s <- s + dt (u - s),   M = B^T W^T
    // gives the very same Euler iterates (up to rounding) for one n_top^2 product per step
    // instead of two n_top * n_bottom ones (half the work for a square layer);
    // |B u - r|^2 = (u - s) G (u - s)^T with G = B^T B.
    const bool reduced = top == bottom + 1 && !s.through_nonlinearity && n_top <= net.units(bottom) &&
                         net.layers[static_cast<std::size_t>(bottom)].is_dense();
    Index widest = 0;  // of the states the steps sweep over
    for (int k = reduced ? top : bottom; k <= top; ++k) widest = std::max(widest, net.units(k));
    const Index rows_in_cache = std::max<Index>(kMinBlockRows, kBlockElements / widest);
    const Index block = std::max<Index>(1, std::min<Index>(batch, rows_in_cache));
    reserve(block, widest, reduced ? n_top : 0);
    const Scalar dt(s.dt), leak(s.leak);
    const double tol_squared = s.tol * s.tol;
    if (reduced) {
      loop_map_.resize(n_top, n_top);
      loop_gram_.resize(n_top, n_top);
      multiply(B.transpose(), net.coefs[bottom], loop_map_);
      multiply(B.transpose(), B, loop_gram_);
    }
    DynamicsResult result;
    double squares = 0.0, error_squares = 0.0;
    for (Index first = 0; first < batch; first += block) {
      const Index n = std::min(block, batch - first);
      const auto e = rows(ws.delta(top), first, n);
      auto u = view(u_, n, n_top);
      u.setZero();
      for (int k = bottom; k < top; ++k) rows(ws.delta(k), first, n).setZero();
      auto state = view(reduced_, reduced ? n : 0, n_top);  // s (empty unless reduced)
      state.setZero();
      const double block_error = static_cast<double>(e.squaredNorm());
      error_squares += block_error;
      double block_squares = 0.0;
      for (long step = 0; step < s.n_steps; ++step) {
        auto v = view(velocity_, n, n_top);
        if (reduced)
          multiply(state, loop_map_, v);
        else
          forward_term(net, ws, top - 1, first, n, s.through_nonlinearity, v);
        v -= e + leak * u;
        block_squares = static_cast<double>(v.squaredNorm());
        u += dt * v;
        if (reduced) {
          auto gap = view(velocity_, n, n_top);  // u - s
          gap = u - state;
          // r's share of the residual costs a product as large as the step's own: only
          // the last step (the reported residual) and a tolerance test that u's share
          // alone does not already fail need it; u's share alone shows a divergence.
          if ((s.report_residual && step + 1 == s.n_steps) || block_squares <= tol_squared * block_error) {
            auto weighted = view(scratch_, n, n_top);
            multiply(gap, loop_gram_, weighted);
            block_squares += static_cast<double>((weighted.array() * gap.array()).sum());
          }
          state += dt * gap;
        }
        for (int k = bottom; k < top && !reduced; ++k) {
          auto r = rows(ws.delta(k), first, n);
          auto w = view(velocity_, n, net.units(k));
          if (k == bottom && feedback == LoopFeedback::layer_kernel)
            net.layers[static_cast<std::size_t>(bottom)].transport(B, u, w);
          else if (k == bottom)
            multiply(u, B.transpose(), w);
          else
            forward_term(net, ws, k - 1, first, n, s.through_nonlinearity, w);
          w -= r;
          block_squares += static_cast<double>(w.squaredNorm());
          r += dt * w;
        }
        result.steps = std::max(result.steps, step + 1);
        if (!std::isfinite(block_squares) || block_squares > 1e12 * std::max(block_error, 1e-300)) {
          result.diverged = true;
          result.residual = std::sqrt(block_squares / std::max(block_error, 1e-300));
          return result;
        }
        if (block_squares <= tol_squared * block_error) break;
      }
      if (reduced) {
        auto r = rows(ws.delta(bottom), first, n);
        multiply(state, B.transpose(), r);
      }
      squares += block_squares;
    }
    // Unasked, the reduced loop's sum lacks r's share at the last step: report nothing.
    result.residual = s.report_residual ? std::sqrt(squares / std::max(error_squares, 1e-300)) : std::nan("");
    return result;
  }

  /// The steady state of the one-layer linear loop, r = B (W B - alpha I)^{-1} e, written
  /// to ws.delta(k) for the error in ws.delta(k + 1) (W = coefs[k]^T). Contracting layers
  /// factorise the n_{k+1}-square W B - alpha I, expanding ones the n_k-square B W - alpha I
  /// (r = (B W - alpha I)^{-1} B e), once per batch. Returns the solve's relative residual
  /// (a product as large as the solve: NaN unless `residual`).
  template <typename FeedbackMatrix>
  double solve_direct(const Network<Scalar>& net, Workspace<Scalar>& ws, int k,
                      const Eigen::MatrixBase<FeedbackMatrix>& B, double leak, bool residual = true) {
    if (!net.layers[static_cast<std::size_t>(k)].is_dense())
      throw InvalidArgument("the direct solve of dynamic inversion needs a dense layer");
    const auto& C = net.coefs[k];
    const Index batch = ws.batch(), below = C.rows(), above = C.cols();
    reserve(batch, std::max(below, above));
    const auto e = ws.delta(k + 1);
    auto r = ws.delta(k);
    const bool contracting = above <= below;
    const Index n = contracting ? above : below;
    system_.resize(n, n);  // no-op when the size is unchanged
    if (contracting)
      multiply(C.transpose(), B, system_);
    else
      multiply(B, C.transpose(), system_);
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
    double relative = std::nan("");
    if (residual) {
      auto check = view(velocity_, batch, n);
      multiply(x, system_.transpose(), check);
      check -= rhs;
      relative = static_cast<double>(check.norm()) / std::max(static_cast<double>(rhs.norm()), 1e-300);
    }
    if (contracting) multiply(x, B.transpose(), r);
    return relative;
  }

 private:
  static MatrixMap<Scalar> view(Vector<Scalar>& storage, Index rows, Index cols) {
    return MatrixMap<Scalar>(storage.data(), rows, cols);
  }

  /// Rows first .. first + n - 1 of a batch matrix.
  static MatrixMap<Scalar> rows(MatrixMap<Scalar> m, Index first, Index n) {
    return MatrixMap<Scalar>(m.data() + first * m.cols(), n, m.cols());
  }

  /// out = g_k(r_k) for the rows [first, first + n) of r_k = ws.delta(k), mapped through
  /// layer k's kernel (M(coefs[k]), no bias) to layer k + 1.
  void forward_term(const Network<Scalar>& net, Workspace<Scalar>& ws, int k, Index first, Index n,
                    bool through_nonlinearity, MatrixMap<Scalar>& out) {
    const auto& layer = net.layers[static_cast<std::size_t>(k)];
    const auto r = rows(ws.delta(k), first, n);
    if (!through_nonlinearity) {
      layer.linear(net.coefs[k], r, out);
      return;
    }
    auto moved = view(scratch_, n, net.units(k));
    moved = rows(ws.a(k), first, n) - r;
    activate<Scalar>(net.hidden_activation, moved, moved);
    moved = rows(ws.h(k), first, n) - moved;
    layer.linear(net.coefs[k], moved, out);
  }

  /// Rows per block of run(): r, its velocity and scratch (~256 KiB each in float) in cache,
  /// but never fewer than kMinBlockRows: every product of a step packs its weights once per
  /// block, and for wide layers that costs more than the cache misses of a taller block
  /// (single-loop DI on Bartunov's LC net ran 10-row blocks, packing the 3136 x 1024 dense
  /// weights ten times a step: 29 % of its time).
  static constexpr Index kBlockElements = 1 << 16;
  static constexpr Index kMinBlockRows = 128;

  Vector<Scalar> u_, velocity_, scratch_, reduced_;
  Matrix<Scalar> system_, loop_map_, loop_gram_;
  Eigen::PartialPivLU<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> lu_;
};

}  // namespace fastcredit
