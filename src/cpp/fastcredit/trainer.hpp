// The one training loop every rule shares: seeded shuffling, minibatches, loss, L2
// penalty, the rule's direction, the optimizer step, validation and early stopping,
// learning-rate schedules, divergence detection and interruption between batches.
// Epoch-level semantics follow scikit-learn's MLP (_fit_stochastic), so that n_iter_,
// t_, loss_curve_, tol and n_iter_no_change mean the same thing.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "fastcredit/diagnostics.hpp"
#include "fastcredit/evaluate.hpp"
#include "fastcredit/optimizers.hpp"
#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

struct TrainConfig {
  std::string solver;
  Index batch_size;
  long max_iter, n_iter_no_change, diagnostics_every, n_jobs;
  Index probe_size;
  bool shuffle, early_stopping, incremental;
  double alpha, tol;
  std::uint64_t seed;

  explicit TrainConfig(const Options& o)
      : solver(o.string("solver", "adam")),
        batch_size(o.integer("batch_size", 200)),
        max_iter(o.integer("max_iter", 200)),
        n_iter_no_change(o.integer("n_iter_no_change", 10)),
        diagnostics_every(o.integer("diagnostics_every", 1)),
        n_jobs(o.integer("n_jobs", 1)),
        probe_size(o.integer("probe_size", 256)),
        shuffle(o.flag("shuffle", true)),
        early_stopping(o.flag("early_stopping", false)),
        incremental(o.flag("incremental", false)),
        alpha(o.number("alpha", 1e-4)),
        tol(o.number("tol", 1e-4)),
        seed(static_cast<std::uint64_t>(o.number("seed", 0))) {
    if (solver != "sgd" && solver != "adam") throw InvalidArgument("solver must be 'sgd' or 'adam'");
    if (batch_size < 1) throw InvalidArgument("batch_size must be >= 1");
    if (max_iter < 1) throw InvalidArgument("max_iter must be >= 1");
    if (diagnostics_every < 0 || probe_size < 1) throw InvalidArgument("diagnostics_every >= 0, probe_size >= 1");
    if (n_jobs < 1 || n_jobs > 1024) throw InvalidArgument("n_jobs must be a thread count in 1..1024");
  }
};

/// Training progress that persists across calls (warm starts, partial_fit); owned by the caller.
struct Progress {
  double samples_seen = 0;  // scikit-learn's t_
  long epochs = 0;          // n_iter_
  double best_loss = std::numeric_limits<double>::infinity();
  double best_validation_score = -std::numeric_limits<double>::infinity();
  long no_improvement_count = 0;
  double learning_rate = 1e-3;
  double adam_steps = 0;
};

enum class StopReason { max_iter, converged, one_epoch, interrupted, diverged };

struct TrainResult {
  std::vector<double> losses, validation_scores;
  std::vector<long> diagnostic_epochs;                        // epochs at which diagnostics ran
  std::map<std::string, std::vector<std::vector<double>>> diagnostics;  // name -> rows of values
  StopReason reason = StopReason::max_iter;
  long diverged_epoch = -1, diverged_batch = -1;
};

struct Hooks {
  /// Polled between batches; true stops the fit (e.g. Ctrl-C).
  std::function<bool()> interrupted;
  /// Called at each epoch's end with (epoch, loss, validation score or NaN, learning rate).
  std::function<void(long, double, double, double)> epoch_end;
};

/// Caller-owned arrays a fit reads and updates in place.
template <typename Scalar>
struct TrainBuffers {
  Network<Scalar> net;
  RuleState<Scalar> rule_state;
  std::vector<Flat<Scalar>> optimizer_state;  // sgd: velocity per block; adam: first moments, then second
  std::vector<Flat<Scalar>> best_params;      // early stopping: best parameters so far, else empty
};

template <typename Scalar>
std::vector<Flat<Scalar>> parameter_blocks(Network<Scalar>& net) {
  std::vector<Flat<Scalar>> blocks;
  for (auto& W : net.coefs) blocks.emplace_back(W.data(), W.size());
  for (auto& b : net.intercepts) blocks.emplace_back(b.data(), b.size());
  return blocks;
}

template <typename Scalar>
std::vector<Flat<Scalar>> gradient_blocks(Gradients<Scalar>& g) {
  std::vector<Flat<Scalar>> blocks;
  for (auto& W : g.coefs) blocks.emplace_back(W.data(), W.size());
  for (auto& b : g.intercepts) blocks.emplace_back(b.data(), b.size());
  return blocks;
}

/// Shuffled rows are gathered from all over X (MNIST: 188 MB), so every row starts with a
/// cache miss; asking for a row a few rows ahead hides most of that latency.
constexpr Index kPrefetchRows = 4;

template <typename Scalar>
void prefetch_row(const ConstMatrixMap<Scalar>& X, Index row) {
#if defined(__GNUC__) || defined(__clang__)
  const char* begin = reinterpret_cast<const char*>(X.data() + row * X.cols());
  const char* end = reinterpret_cast<const char*>(X.data() + (row + 1) * X.cols());
  for (const char* line = begin; line < end; line += 64) __builtin_prefetch(line, 0, 3);
#else
  (void)X;
  (void)row;
#endif
}

template <typename Scalar>
std::unique_ptr<Optimizer<Scalar>> make_optimizer(const TrainConfig& cfg, const Options& o,
                                                  std::vector<Flat<Scalar>> state, Index n_blocks,
                                                  Progress& progress) {
  if (cfg.solver == "sgd") {
    if (static_cast<Index>(state.size()) != n_blocks)
      throw InvalidArgument("sgd needs one velocity buffer per parameter array");
    return std::make_unique<Sgd<Scalar>>(o, std::move(state), progress.learning_rate);
  }
  if (static_cast<Index>(state.size()) != 2 * n_blocks)
    throw InvalidArgument("adam needs two moment buffers per parameter array");
  std::vector<Flat<Scalar>> first(state.begin(), state.begin() + n_blocks);
  std::vector<Flat<Scalar>> second(state.begin() + n_blocks, state.end());
  return std::make_unique<Adam<Scalar>>(o, std::move(first), std::move(second), progress.adam_steps);
}

template <template <typename> class Rule, typename Scalar>
TrainResult train(TrainBuffers<Scalar>& buf, const ConstMatrixMap<Scalar>& X,
                  const ConstMatrixMap<Scalar>& Y, const ConstMatrixMap<Scalar>& X_val,
                  const ConstMatrixMap<Scalar>& Y_val, const Options& options,
                  Progress& progress, const Hooks& hooks) {
  const TrainConfig cfg(options);
  // n_jobs > 1: this fit's products, LC positions and patches are split
  // over its own threads (parallel.hpp); the same n_jobs gives the same bits.
  std::optional<ThreadPool> pool;
  if (cfg.n_jobs > 1) pool.emplace(static_cast<int>(cfg.n_jobs));
  const ParallelScope parallel(pool ? &*pool : nullptr);
  Network<Scalar>& net = buf.net;
  net.check();
  const int L = net.n_layers();
  const Index n = X.rows();
  if (n == 0) throw InvalidArgument("no training samples");
  if (X.cols() != net.units(0) || Y.cols() != net.units(L) || Y.rows() != n)
    throw InvalidArgument("data does not match the network's input/output sizes");
  const bool validate = cfg.early_stopping && !cfg.incremental && X_val.rows() > 0;

  const Index batch = std::min(cfg.batch_size, n);
  Workspace<Scalar> ws(net, batch);
  Matrix<Scalar> targets(batch, Y.cols());
  Gradients<Scalar> grads(net);
  auto params = parameter_blocks(net);
  const auto grad_blocks = gradient_blocks(grads);
  auto optimizer = make_optimizer(cfg, options, buf.optimizer_state, static_cast<Index>(params.size()), progress);
  Rng rng(cfg.seed);
  const typename Rule<Scalar>::Params rule_params(options);
  Rule<Scalar> rule(rule_params, buf.rule_state);
  if (!options.flag("warm", false)) rule.init_state(net, rng);
  std::unique_ptr<Probe<Rule, Scalar>> probe;
  if (cfg.diagnostics_every > 0)
    probe = std::make_unique<Probe<Rule, Scalar>>(net, X, Y, cfg.probe_size, cfg.seed ^ 0x5eedULL);
  rule.reserve(net, probe ? std::max(batch, probe->rows()) : batch);

  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  TrainResult result;
  const Scalar alpha(cfg.alpha);
  std::vector<Scalar> block_decay(params.size(), Scalar(0));  // weights only, not intercepts

  for (long it = 0; it < cfg.max_iter; ++it) {
    if (cfg.shuffle) rng.shuffle(order);
    double summed_loss_epoch = 0.0;
    long batch_index = 0;
    for (Index start = 0; start < n; start += batch, ++batch_index) {
      const Index rows = std::min(batch, n - start);
      ws.resize_batch(rows);
      auto input = ws.h(0);
      MatrixMap<Scalar> y(targets.data(), rows, Y.cols());
      for (Index i = 0; i < rows; ++i) {
        if (i + kPrefetchRows < rows) prefetch_row(X, order[static_cast<std::size_t>(start + i + kPrefetchRows)]);
        input.row(i) = X.row(order[static_cast<std::size_t>(start + i)]);
        y.row(i) = Y.row(order[static_cast<std::size_t>(start + i)]);
      }
      forward(net, ws);

      double loss = reported_loss<Scalar>(net.output, ws.h(L), y);
      if (cfg.alpha > 0.0) {
        double squares = 0.0;
        for (const auto& W : net.coefs) squares += static_cast<double>(W.squaredNorm());
        loss += 0.5 * cfg.alpha * squares;  // scikit-learn: 0.5 alpha ||W||^2 / B per batch, times B
      }
      const auto diverged = [&] {
        result.reason = StopReason::diverged;
        result.diverged_epoch = progress.epochs + 1;
        result.diverged_batch = batch_index + 1;
        return result;
      };
      if (!std::isfinite(loss)) return diverged();
      summed_loss_epoch += loss;

      ws.delta(L) = ws.h(L) - y;
      StepContext<Scalar> ctx{y, rng, optimizer->learning_rate};
      rule.backward(net, ws, ctx, grads);
      // L2: the gradient of 0.5 alpha |W|^2 / B, added by the optimizer as it steps.
      for (int l = 0; l < L; ++l) block_decay[static_cast<std::size_t>(l)] = alpha / static_cast<Scalar>(rows);
      // A step can overflow the weights (e.g. Adam with a tiny epsilon) while the loss that
      // preceded it was finite: the optimizer checks them in its own pass.
      if (!optimizer->step(params, grad_blocks, &block_decay)) return diverged();
      rule.after_step(net, ws, ctx, grads);

      if (hooks.interrupted && hooks.interrupted()) {
        result.reason = StopReason::interrupted;
        return result;
      }
    }

    progress.epochs += 1;
    progress.samples_seen += static_cast<double>(n);
    const double epoch_loss = summed_loss_epoch / static_cast<double>(n);
    result.losses.push_back(epoch_loss);

    double val_score = std::numeric_limits<double>::quiet_NaN();
    if (validate) {
      val_score = score(net, ws, batch, X_val, Y_val);
      result.validation_scores.push_back(val_score);
      progress.no_improvement_count =
          val_score < progress.best_validation_score + cfg.tol ? progress.no_improvement_count + 1 : 0;
      if (val_score > progress.best_validation_score) {
        progress.best_validation_score = val_score;
        for (std::size_t i = 0; i < buf.best_params.size(); ++i) buf.best_params[i] = params[i];
      }
    } else {
      progress.no_improvement_count =
          epoch_loss > progress.best_loss - cfg.tol ? progress.no_improvement_count + 1 : 0;
      if (epoch_loss < progress.best_loss) progress.best_loss = epoch_loss;
    }
    if (probe && progress.epochs % cfg.diagnostics_every == 0) {
      result.diagnostic_epochs.push_back(progress.epochs);
      for (auto& [name, values] : probe->measure(net, rule, optimizer->learning_rate))
        result.diagnostics[name].push_back(std::move(values));
    }
    optimizer->end_epoch(progress.samples_seen);
    progress.learning_rate = optimizer->learning_rate;
    if (hooks.epoch_end) hooks.epoch_end(progress.epochs, epoch_loss, val_score, progress.learning_rate);

    if (progress.no_improvement_count > cfg.n_iter_no_change) {
      const bool stop = optimizer->on_plateau();
      progress.learning_rate = optimizer->learning_rate;
      if (stop) {
        result.reason = StopReason::converged;
        break;
      }
      progress.no_improvement_count = 0;
    }
    if (cfg.incremental) {
      result.reason = StopReason::one_epoch;
      break;
    }
  }
  if (validate && !buf.best_params.empty() && progress.best_validation_score > -std::numeric_limits<double>::infinity())
    for (std::size_t i = 0; i < params.size(); ++i) params[i] = buf.best_params[i];
  // The last step's weights were never used on data: one more forward pass of the batch
  // still in the workspace catches a final step that made the outputs overflow.
  forward(net, ws);
  if (!ws.h(L).allFinite()) {
    result.reason = StopReason::diverged;
    result.diverged_epoch = progress.epochs;
    result.diverged_batch = (n + batch - 1) / batch;
  }
  return result;
}

}  // namespace fastcredit
