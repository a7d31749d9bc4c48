// SGD (with momentum / Nesterov momentum and learning-rate schedules) and Adam, applied to
// whatever direction a rule returns. Semantics follow scikit-learn's
// neural_network/_stochastic_optimizers.py, so that hyper-parameters mean the same thing.
#pragma once

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "fastcredit/options.hpp"
#include "fastcredit/parallel.hpp"
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
  /// Returns whether every updated parameter is finite (checked in the same pass).
  virtual bool step(std::vector<Flat<Scalar>>& params, const std::vector<Flat<Scalar>>& grads,
                    const std::vector<Scalar>* decay = nullptr) = 0;
  /// Called at the end of each epoch with the number of samples seen so far.
  virtual void end_epoch(double /*samples_seen*/) {}
  /// No improvement for n_iter_no_change epochs: true to stop, false to go on (after
  /// adapting the learning rate).
  virtual bool on_plateau() { return true; }
  double learning_rate = 0.0;
};

/// Blocks at least this large are stepped by the fit's threads, in ranges.
constexpr Index kParallelStepElements = Index(1) << 15;

/// Runs update(begin, end) -> bool (all finite) over the element ranges of a block: the
/// whole block on one thread, or one range per thread of the fit's pool when the
/// block is large. Element j's update never depends on the split, so results are the
/// same for every n_jobs. Returns whether every range reported finite parameters.
template <typename Update>
bool step_in_ranges(Index size, Update update) {
  if (size < kParallelStepElements) return update(Index(0), size);
  std::atomic<bool> finite{true};
  parallel_ranges(
      size,
      [&](long begin, long end) {
        if (!update(static_cast<Index>(begin), static_cast<Index>(end))) finite.store(false);
      },
      16);
  return finite.load();
}

/// The decay of block i (0 without decay).
template <typename Scalar>
Scalar block_decay(const std::vector<Scalar>* decay, std::size_t i) {
  return decay != nullptr ? (*decay)[i] : Scalar(0);
}

/// 1 when x is NaN or infinite (x - x is then NaN, and NaN != 0): an integer or-reduction,
/// which vectorises where a floating-point sum would not.
template <typename Scalar>
inline int not_finite(Scalar x) {
  return (x - x) != Scalar(0);
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

  bool step(std::vector<Flat<Scalar>>& params, const std::vector<Flat<Scalar>>& grads,
            const std::vector<Scalar>* decay = nullptr) override {
    const Scalar lr(this->learning_rate), mu(momentum_);
    bool finite = true;
    for (std::size_t i = 0; i < params.size(); ++i) {
      Scalar* p = params[i].data();
      Scalar* v = velocities_[i].data();
      const Scalar* g = grads[i].data();
      const Scalar d = block_decay(decay, i);
      finite &= step_in_ranges(params[i].size(), [&](Index begin, Index end) {
        if (mu == Scalar(0)) return plain_range(p, g, d, lr, begin, end);
        return nesterov_ ? nesterov_range(p, v, g, d, lr, mu, begin, end)
                         : momentum_range(p, v, g, d, lr, mu, begin, end);
      });
    }
    return finite;
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
  // One pass over parameters, velocities and gradients per range (an Eigen expression per
  // line would stream the arrays twice; they outgrow the caches of an MNIST-sized net).
  // The pointers are restrict so that the loops vectorise.
  static bool nesterov_range(Scalar* __restrict p, Scalar* __restrict v, const Scalar* __restrict g, Scalar d,
                             Scalar lr, Scalar mu, Index begin, Index end) {
    int bad = 0;
    for (Index j = begin; j < end; ++j) {
      const Scalar gj = g[j] + d * p[j];
      v[j] = mu * v[j] - lr * gj;
      p[j] += mu * v[j] - lr * gj;
      bad |= not_finite(p[j]);
    }
    return bad == 0;
  }

  // Without momentum the velocity is -lr g, never read again: not stored (two of the four
  // streams of a step), so a later fit with momentum starts it from its last stored value.
  static bool plain_range(Scalar* __restrict p, const Scalar* __restrict g, Scalar d, Scalar lr, Index begin,
                          Index end) {
    int bad = 0;
    for (Index j = begin; j < end; ++j) {
      p[j] += -lr * (g[j] + d * p[j]);
      bad |= not_finite(p[j]);
    }
    return bad == 0;
  }

  static bool momentum_range(Scalar* __restrict p, Scalar* __restrict v, const Scalar* __restrict g, Scalar d,
                             Scalar lr, Scalar mu, Index begin, Index end) {
    int bad = 0;
    for (Index j = begin; j < end; ++j) {
      v[j] = mu * v[j] - lr * (g[j] + d * p[j]);
      p[j] += v[j];
      bad |= not_finite(p[j]);
    }
    return bad == 0;
  }

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

  bool step(std::vector<Flat<Scalar>>& params, const std::vector<Flat<Scalar>>& grads,
            const std::vector<Scalar>* decay = nullptr) override {
    t_ += 1.0;
    const double lr_t = this->learning_rate * std::sqrt(1.0 - std::pow(beta2_, t_)) /
                        (1.0 - std::pow(beta1_, t_));
    const Scalar b1(beta1_), b2(beta2_), eps(epsilon_), lr(lr_t);
    bool finite = true;
    for (std::size_t i = 0; i < params.size(); ++i) {
      Scalar* p = params[i].data();
      Scalar* m = m_[i].data();
      Scalar* v = v_[i].data();
      const Scalar* g = grads[i].data();
      const Scalar d = block_decay(decay, i);
      finite &= step_in_ranges(params[i].size(), [&](Index begin, Index end) {
        return adam_range(p, m, v, g, d, b1, b2, eps, lr, begin, end);
      });
    }
    return finite;
  }

 private:
  // A plain loop, not an Eigen expression: Eigen's vectorised sqrt is an approximation
  // (EIGEN_FAST_MATH) while its scalar head/tail is exact, which would make results
  // depend on the arrays' alignment. With restrict pointers the compiler vectorises this
  // with the exact sqrt.
  static bool adam_range(Scalar* __restrict p, Scalar* __restrict m, Scalar* __restrict v, const Scalar* __restrict g,
                         Scalar d, Scalar b1, Scalar b2, Scalar eps, Scalar lr, Index begin, Index end) {
    int bad = 0;
    for (Index j = begin; j < end; ++j) {
      const Scalar gj = g[j] + d * p[j];
      m[j] = b1 * m[j] + (Scalar(1) - b1) * gj;
      v[j] = b2 * v[j] + (Scalar(1) - b2) * gj * gj;
      p[j] -= lr * m[j] / (std::sqrt(v[j]) + eps);
      bad |= not_finite(p[j]);
    }
    return bad == 0;
  }

  std::vector<Flat<Scalar>> m_, v_;
  double& t_;
  double beta1_, beta2_, epsilon_;
};

}  // namespace fastcredit
