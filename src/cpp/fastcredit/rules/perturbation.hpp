/// @file
/// What weight and node perturbation share (RULES.md, "Rules from the lecture", WP and NP):
/// the hyper-parameters, the noise drawn from the fit's random stream, per-sample losses,
/// and the zeroth-order estimate's loop over noise draws
///
///   estimate = 1 / (n sigma) sum_s dL_s xi_s,   dL_s = Loss(+sigma xi_s) - Loss(0),
///
/// or with antithetic pairs dL_s = (Loss(+sigma xi_s) - Loss(-sigma xi_s)) / 2: a central
/// difference, in which the even-order terms of the loss change (the curvature's, zero-mean
/// for Gaussian xi but noisy) cancel, for a second forward pass per draw.
///
/// Noise: every draw is one NormalNoise fill (noise.hpp) of all of the rule's noise, laid
/// out as documented in the rule's header; tests reproduce it with `_core.normal_noise`.
#pragma once

#include <cmath>

#include "fastcredit/noise.hpp"
#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

struct PerturbationParams {
  double std;       // sigma, the scale of the noise
  long n_samples;   // noise draws averaged per step
  bool antithetic;  // also evaluate every draw at -sigma xi

  explicit PerturbationParams(const Options& o)
      : std(o.number("perturbation_std", 1e-3)),
        n_samples(o.integer("n_samples", 1)),
        antithetic(o.flag("antithetic", false)) {
    if (!(std > 0.0) || !std::isfinite(std)) throw InvalidArgument("perturbation_std must be positive and finite");
    if (n_samples < 1) throw InvalidArgument("n_samples must be >= 1");
  }
};

/// A network of net's shape whose parameters live in `storage` (resized to fit), laid out
/// coefs[0], intercepts[0], coefs[1], ... (each flat in C order): perturbed weights, or noise.
template <typename Scalar>
Network<Scalar> network_over(const Network<Scalar>& net, Vector<Scalar>& storage) {
  Index size = 0;
  for (int l = 0; l < net.n_layers(); ++l) size += net.coefs[l].size() + net.intercepts[l].size();
  storage.resize(size);
  Network<Scalar> out;
  out.layers = net.layers;
  out.hidden_activation = net.hidden_activation;
  out.output = net.output;
  Scalar* p = storage.data();
  for (int l = 0; l < net.n_layers(); ++l) {
    out.coefs.emplace_back(p, net.coefs[l].rows(), net.coefs[l].cols());
    p += net.coefs[l].size();
    out.intercepts.emplace_back(p, net.intercepts[l].size());
    p += net.intercepts[l].size();
  }
  return out;
}

/// losses[i] = the loss of output row i of h against row i of y.
template <typename Scalar, typename H, typename Y, typename Losses>
void row_losses(Output out, const Eigen::MatrixBase<H>& h, const Eigen::MatrixBase<Y>& y, Losses&& losses) {
  for (Index i = 0; i < h.rows(); ++i) losses[i] = summed_loss<Scalar>(out, h.row(i), y.row(i));
}

/// The loop over noise draws, on loss arrays of `entries` values each (one per sample for
/// NP; one, the batch mean, for WP). The caller fills `clean()` with the unperturbed
/// losses when the estimate is not antithetic; `draw()` fills xi from the stream,
/// `perturbed_loss(sign, losses)` the losses with sign * sigma * xi added, and
/// `accumulate(c)` adds c[i] * xi (entry i's part of the noise) to the estimate.
class PerturbationLoop {
 public:
  explicit PerturbationLoop(const PerturbationParams& p) : p_(p) {}

  void reserve(Index max_entries) {
    for (auto* a : {&clean_, &plus_, &minus_, &coefficients_}) a->resize(max_entries);
  }
  const PerturbationParams& params() const { return p_; }
  Eigen::VectorBlock<Eigen::ArrayXd> clean(Index entries) { return segment(clean_, entries); }

  template <typename Draw, typename PerturbedLoss, typename Accumulate>
  void run(Index entries, Draw draw, PerturbedLoss perturbed_loss, Accumulate accumulate) {
    auto plus = segment(plus_, entries), minus = segment(minus_, entries);
    auto coefficients = segment(coefficients_, entries);
    const double scale = 1.0 / (p_.std * (p_.antithetic ? 2.0 : 1.0) * static_cast<double>(p_.n_samples));
    for (long s = 0; s < p_.n_samples; ++s) {
      draw();
      perturbed_loss(1.0, plus);
      if (p_.antithetic) perturbed_loss(-1.0, minus);
      coefficients = scale * (plus - (p_.antithetic ? minus : segment(clean_, entries)));
      accumulate(coefficients);
    }
  }

 private:
  static Eigen::VectorBlock<Eigen::ArrayXd> segment(Eigen::ArrayXd& a, Index entries) {
    if (entries > a.size()) throw InvalidArgument("perturbation rule used on a batch larger than it reserved");
    return a.head(entries);
  }
  PerturbationParams p_;
  Eigen::ArrayXd clean_, plus_, minus_, coefficients_;
};

/// What both rules' classes share: their hyper-parameters and the loop over draws.
class PerturbationRule : public RuleDefaults {
 public:
  using Params = PerturbationParams;
  explicit PerturbationRule(const Params& p) : loop_(p) {}

 protected:
  PerturbationLoop loop_;
};

}  // namespace fastcredit
