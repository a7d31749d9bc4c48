// SGD (with momentum / Nesterov momentum and learning-rate schedules) and Adam, applied to
// whatever direction a rule returns. Semantics follow scikit-learn's
// neural_network/_stochastic_optimizers.py, so that hyper-parameters mean the same thing.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "fastcredit/options.hpp"
#include "fastcredit/types.hpp"

namespace fastcredit {

/// A flat view of one parameter array (or of its gradient or optimizer state).
template <typename Scalar>
using Flat = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

template <typename Scalar>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// param += update(grad + decay[i] param) for every block i (the L2 penalty's gradient
  /// added on the fly: one pass over the arrays instead of two); no decay when null.
  virtual void step(std::vector<Flat<Scalar>>& params, const std::vector<Flat<Scalar>>& grads,
                    const std::vector<Scalar>* decay = nullptr) = 0;
  /// Called at the end of each epoch with the number of samples seen so far.
  virtual void end_epoch(double /*samples_seen*/) {}
  /// No improvement for n_iter_no_change epochs: true to stop, false to go on (after
  /// adapting the learning rate).
  virtual bool on_plateau() { return true; }
  double learning_rate = 0.0;
};

/// Runs `update(gradient)` over block i, where gradient(j) is g[j], plus d p[j] when the
/// block decays (d = (*decay)[i] != 0): the L2 term joins the optimizer's own pass over
/// the arrays.
template <typename Scalar, typename Update>
void with_decayed_gradient(const Scalar* g, const Scalar* p, const std::vector<Scalar>* decay, std::size_t i,
                           Update update) {
  const Scalar d = decay != nullptr ? (*decay)[i] : Scalar(0);
  if (d == Scalar(0))
    update([g](Index j) { return g[j]; });
  else
    update([g, p, d](Index j) { return g[j] + d * p[j]; });
}

/// Momentum SGD: v = mu v - lr g; Nesterov: p += mu v - lr g, else p += v.
template <typename Scalar>
class Sgd : public Optimizer<Scalar> {
 public:
  Sgd(const Options& o, std::vector<Flat<Scalar>> velocities, double learning_rate)
      : velocities_(std::move(velocities)),
        lr_init_(o.number("learning_rate_init", 1e-3)),
        momentum_(o.number("momentum", 0.9)),
        power_t_(o.number("power_t", 0.5)),
        nesterov_(o.flag("nesterovs_momentum", true)),
        schedule_(o.string("learning_rate", "constant")) {
    this->learning_rate = learning_rate;
  }

  void step(std::vector<Flat<Scalar>>& params, const std::vector<Flat<Scalar>>& grads,
            const std::vector<Scalar>* decay = nullptr) override {
    const Scalar lr(this->learning_rate), mu(momentum_);
    // One pass over parameters, velocities and gradients (an Eigen expression per line
    // would stream the arrays twice; they outgrow the caches of an MNIST-sized net).
    for (std::size_t i = 0; i < params.size(); ++i) {
      Scalar* p = params[i].data();
      Scalar* v = velocities_[i].data();
      const Scalar* g = grads[i].data();
      const Index size = params[i].size();
      const auto update = [&](auto gradient) {
        if (nesterov_) {
          for (Index j = 0; j < size; ++j) {
            const Scalar gj = gradient(j);
            v[j] = mu * v[j] - lr * gj;
            p[j] += mu * v[j] - lr * gj;
          }
        } else {
          for (Index j = 0; j < size; ++j) {
            v[j] = mu * v[j] - lr * gradient(j);
            p[j] += v[j];
          }
        }
      };
      with_decayed_gradient(g, p, decay, i, update);
    }
  }

  void end_epoch(double samples_seen) override {
    if (schedule_ == "invscaling") this->learning_rate = lr_init_ / std::pow(samples_seen + 1.0, power_t_);
  }

  bool on_plateau() override {
    if (schedule_ != "adaptive" || this->learning_rate <= 1e-6) return true;
    this->learning_rate /= 5.0;
    return false;
  }

 private:
  std::vector<Flat<Scalar>> velocities_;
  double lr_init_, momentum_, power_t_;
  bool nesterov_;
  std::string schedule_;
};

/// Adam (Kingma & Ba 2014) with scikit-learn's bias-corrected step size.
template <typename Scalar>
class Adam : public Optimizer<Scalar> {
 public:
  Adam(const Options& o, std::vector<Flat<Scalar>> first, std::vector<Flat<Scalar>> second,
       double& step_count)
      : m_(std::move(first)),
        v_(std::move(second)),
        t_(step_count),
        beta1_(o.number("beta_1", 0.9)),
        beta2_(o.number("beta_2", 0.999)),
        epsilon_(o.number("epsilon", 1e-8)) {
    this->learning_rate = o.number("learning_rate_init", 1e-3);
  }

  void step(std::vector<Flat<Scalar>>& params, const std::vector<Flat<Scalar>>& grads,
            const std::vector<Scalar>* decay = nullptr) override {
    t_ += 1.0;
    const double lr_t = this->learning_rate * std::sqrt(1.0 - std::pow(beta2_, t_)) /
                        (1.0 - std::pow(beta1_, t_));
    const Scalar b1(beta1_), b2(beta2_), eps(epsilon_), lr(lr_t);
    // A plain loop, not an Eigen expression: Eigen's vectorised sqrt is an approximation
    // (EIGEN_FAST_MATH) while its scalar head/tail is exact, which would make results
    // depend on the arrays' alignment. The compiler vectorises this with exact sqrt.
    for (std::size_t i = 0; i < params.size(); ++i) {
      Scalar* p = params[i].data();
      Scalar* m = m_[i].data();
      Scalar* v = v_[i].data();
      const Scalar* g = grads[i].data();
      const Index size = params[i].size();
      const auto update = [&](auto gradient) {
        for (Index j = 0; j < size; ++j) {
          const Scalar gj = gradient(j);
          m[j] = b1 * m[j] + (Scalar(1) - b1) * gj;
          v[j] = b2 * v[j] + (Scalar(1) - b2) * gj * gj;
          p[j] -= lr * m[j] / (std::sqrt(v[j]) + eps);
        }
      };
      with_decayed_gradient(g, p, decay, i, update);
    }
  }

 private:
  std::vector<Flat<Scalar>> m_, v_;
  double& t_;
  double beta1_, beta2_, epsilon_;
};

}  // namespace fastcredit
