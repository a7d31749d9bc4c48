/// @file
/// Weight perturbation (RULES.md, "Weight perturbation"): draw xi ~ N(0, I) over every
/// parameter (weights and intercepts), measure on the batch
/// dL = Loss(W + sigma xi) - Loss(W) (batch-mean loss, without L2) and estimate
/// grad = (dL / sigma) xi, averaged over `n_samples` draws, optionally antithetic
/// (perturbation.hpp). A draw costs one normal per parameter and one forward pass (two
/// when antithetic) of the perturbed network; no backward pass.
/// Noise of a draw: one fill laid out coefs[0], intercepts[0], coefs[1], ... (network_over).
/// @tparam Scalar float or double.
#pragma once

#include "fastcredit/rules/perturbation.hpp"

namespace fastcredit {

template <typename Scalar>
class WeightPerturbation : public PerturbationRule {
 public:
  static constexpr const char* name = "weight_perturbation";
  WeightPerturbation(const Params& p, RuleState<Scalar>&) : PerturbationRule(p) {}

  /// The noise and the perturbed parameters (networks of their own) and a workspace.
  void reserve(const Network<Scalar>& net, Index max_batch) {
    xi_ = network_over(net, noise_storage_);
    perturbed_ = network_over(net, perturbed_storage_);
    normal_.reserve(noise_storage_.size());
    ws_.allocate(net, max_batch);
    loop_.reserve(1);
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx, Gradients<Scalar>& g) {
    const int L = net.n_layers();
    const Index rows = ws.batch();
    if (xi_.n_layers() != L) throw InvalidArgument("weight_perturbation: reserve() was not called");
    ws_.resize_batch(rows);
    ws_.h(0) = ws.h(0);
    const auto batch_loss = [&](const MatrixMap<Scalar>& h) {
      return summed_loss<Scalar>(net.output, h, ctx.targets) / static_cast<double>(rows);
    };
    if (!loop_.params().antithetic) loop_.clean(1)[0] = batch_loss(ws.h(L));
    for (int l = 0; l < L; ++l) {
      g.coefs[l].setZero();
      g.intercepts[l].setZero();
    }
    loop_.run(
        1, [&] { normal_.fill(ctx.rng, noise_storage_.data(), noise_storage_.size()); },
        [&](double sign, auto&& loss) {
          const auto step = static_cast<Scalar>(sign * loop_.params().std);
          for (int l = 0; l < L; ++l) {
            perturbed_.coefs[l] = net.coefs[l] + step * xi_.coefs[l];
            perturbed_.intercepts[l] = net.intercepts[l] + step * xi_.intercepts[l];
          }
          forward(perturbed_, ws_);
          loss[0] = batch_loss(ws_.h(L));
        },
        [&](const auto& coefficient) {
          const auto c = static_cast<Scalar>(coefficient[0]);
          for (int l = 0; l < L; ++l) {
            g.coefs[l] += c * xi_.coefs[l];
            g.intercepts[l] += c * xi_.intercepts[l];
          }
        });
  }

 private:
  Vector<Scalar> noise_storage_, perturbed_storage_;
  Network<Scalar> xi_, perturbed_;  // map the storage above, in the parameters' shapes
  NormalNoise<Scalar> normal_;
  Workspace<Scalar> ws_;
};

}  // namespace fastcredit
