/// @file
/// Node perturbation (RULES.md, "Node perturbation"; Williams 1992, Fiete & Seung 2006):
/// a second forward pass adds sigma xi_k to every pre-activation a_k (k = 1..L, the output
/// layer's included), d_k = (dL / sigma) xi_k, and grad W_k = d_k h_{k-1}^T with the clean
/// activations, as in BP; averaged over `n_samples` draws, optionally antithetic
/// (perturbation.hpp).
/// dL is taken per sample: sample i's noise changes only sample i's loss, so this is the
/// batch's loss difference without the other samples' (zero-mean) terms: the same
/// expectation, B times less variance, and deltas on BP's scale (E d_L = e).
/// A draw costs a forward pass above the first layer (a_1 + sigma xi_1 needs no product).
/// Noise of a draw: one fill laid out xi_1 (batch x n_1), ..., xi_L (batch x n_L), row-major.
/// @tparam Scalar float or double.
#pragma once

#include <vector>

#include "fastcredit/rules/perturbation.hpp"

namespace fastcredit {

template <typename Scalar>
class NodePerturbation : public PerturbationRule {
 public:
  static constexpr const char* name = "node_perturbation";
  NodePerturbation(const Params& p, RuleState<Scalar>&) : PerturbationRule(p) {}

  /// The noise on every layer's pre-activations and the perturbed pass's workspace.
  void reserve(const Network<Scalar>& net, Index max_batch) {
    ws_.allocate(net, max_batch);
    first_unit_.assign(net.n_layers() + 2, 0);  // xi_k starts at batch * first_unit_[k]
    for (int k = 1; k <= net.n_layers(); ++k) first_unit_[k + 1] = first_unit_[k] + net.units(k);
    noise_.resize(max_batch * first_unit_.back());
    normal_.reserve(noise_.size());
    loop_.reserve(max_batch);
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx, Gradients<Scalar>& g) {
    const int L = net.n_layers();
    const Index rows = ws.batch();
    if (first_unit_.empty()) throw InvalidArgument("node_perturbation: reserve() was not called");
    ws_.resize_batch(rows);
    if (!loop_.params().antithetic) row_losses<Scalar>(net.output, ws.h(L), ctx.targets, loop_.clean(rows));
    for (int k = 1; k <= L; ++k) ws.delta(k).setZero();
    loop_.run(
        rows,
        [&] { normal_.fill(ctx.rng, noise_.data(), rows * first_unit_.back()); },
        [&](double sign, auto&& losses) {
          perturbed_forward(net, ws, static_cast<Scalar>(sign * loop_.params().std));
          row_losses<Scalar>(net.output, ws_.h(L), ctx.targets, losses);
        },
        [&](const auto& coefficients) {
          const auto c = coefficients.template cast<Scalar>();
          for (int k = 1; k <= L; ++k) ws.delta(k).array() += xi(k).array().colwise() * c;
        });
    gradients_from_deltas(net, ws, g);
  }

 private:
  MatrixMap<Scalar> xi(int k) {
    return MatrixMap<Scalar>(noise_.data() + ws_.batch() * first_unit_[k], ws_.batch(), ws_.a(k).cols());
  }

  /// ws_ = the forward pass with step * xi_k added to every a_k; the first layer's clean
  /// a_1 (in ws) is reused.
  void perturbed_forward(const Network<Scalar>& net, Workspace<Scalar>& ws, Scalar step) {
    const int L = net.n_layers();
    for (int k = 1; k <= L; ++k) {
      auto a = ws_.a(k);
      auto h = ws_.h(k);
      if (k == 1) {
        a = ws.a(1);
      } else {
        net.forward_layer(k - 1, ws_.h(k - 1), a);
      }
      a += step * xi(k);
      if (k < L)
        activate<Scalar>(net.hidden_activation, a, h);
      else
        output_activate<Scalar>(net.output, a, h);
    }
  }

  std::vector<Index> first_unit_;
  Vector<Scalar> noise_;
  NormalNoise<Scalar> normal_;
  Workspace<Scalar> ws_;
};

}  // namespace fastcredit
