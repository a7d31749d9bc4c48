/// @file
/// Weight perturbation (RULES.md, "Weight perturbation"): draw xi ~ N(0, I) over every
/// parameter (weights and intercepts), measure on the batch
/// dL = Loss(W + sigma xi) - Loss(W) (batch-mean loss, without L2) and estimate
/// grad = (dL / sigma) xi, averaged over `n_samples` draws, optionally antithetic
/// (perturbation.hpp). A draw costs one normal per parameter and one forward pass (two
/// when antithetic) of the perturbed network; no backward pass.
/// Noise order of a draw: coefs[0], intercepts[0], coefs[1], intercepts[1], ...
/// @tparam Scalar float or double.
#pragma once

#include <optional>

#include "fastcredit/rules/perturbation.hpp"

namespace fastcredit {

template <typename Scalar>
class WeightPerturbation : public PerturbationRule {
 public:
  static constexpr const char* name = "weight_perturbation";
  WeightPerturbation(const Params& p, RuleState<Scalar>&) : PerturbationRule(p) {}

  /// The noise, the perturbed parameters (a network of their own) and its workspace.
  void reserve(const Network<Scalar>& net, Index max_batch) {
    noise_.emplace(net);
    perturbed_params_.emplace(net);
    perturbed_ = Network<Scalar>{{}, {}, net.hidden_activation, net.output};
    for (int l = 0; l < net.n_layers(); ++l) {
      auto& W = perturbed_params_->coefs[l];
      auto& b = perturbed_params_->intercepts[l];
      perturbed_.coefs.emplace_back(W.data(), W.rows(), W.cols());
      perturbed_.intercepts.emplace_back(b.data(), b.size());
    }
    ws_.allocate(net, max_batch);
    loop_.reserve(1);
  }

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>& ctx, Gradients<Scalar>& g) {
    const int L = net.n_layers();
    const Index rows = ws.batch();
    if (!noise_) throw InvalidArgument("weight_perturbation: reserve() was not called");
    ws_.resize_batch(rows);
    ws_.h(0) = ws.h(0);
    auto& xi = *noise_;
    auto& perturbed = *perturbed_params_;
    const auto batch_loss = [&](const MatrixMap<Scalar>& h) {
      return summed_loss<Scalar>(net.output, h, ctx.targets) / static_cast<double>(rows);
    };
    if (!loop_.params().antithetic) loop_.clean(1)[0] = batch_loss(ws.h(L));
    for (int l = 0; l < L; ++l) {
      g.coefs[l].setZero();
      g.intercepts[l].setZero();
    }
    loop_.run(
        1,
        [&] {
          for (int l = 0; l < L; ++l) {
            fill_standard_normal(ctx.rng, xi.coefs[l].data(), xi.coefs[l].size());
            fill_standard_normal(ctx.rng, xi.intercepts[l].data(), xi.intercepts[l].size());
          }
        },
        [&](double sign, auto&& loss) {
          const auto step = static_cast<Scalar>(sign * loop_.params().std);
          for (int l = 0; l < L; ++l) {
            perturbed.coefs[l] = net.coefs[l] + step * xi.coefs[l];
            perturbed.intercepts[l] = net.intercepts[l] + step * xi.intercepts[l];
          }
          forward(perturbed_, ws_);
          loss[0] = batch_loss(ws_.h(L));
        },
        [&](const auto& coefficient) {
          const auto c = static_cast<Scalar>(coefficient[0]);
          for (int l = 0; l < L; ++l) {
            g.coefs[l] += c * xi.coefs[l];
            g.intercepts[l] += c * xi.intercepts[l];
          }
        });
  }

 private:
  std::optional<Gradients<Scalar>> noise_, perturbed_params_;  // shaped like the parameters
  Network<Scalar> perturbed_;                                  // maps perturbed_params_
  Workspace<Scalar> ws_;
};

}  // namespace fastcredit
