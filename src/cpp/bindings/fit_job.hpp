// One fit handed over from Python, shared by `_core.train` (one fit) and `_core.sweep`
// (many fits on a thread pool): built with the GIL held from the same arguments as
// `_core.train` (arrays mapped in place, never copied), run without the GIL, and turned
// back into the dict `_BaseCreditAssigner._finish_fit` reads.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>

#include "fastcredit/trainer.hpp"
#include "registry.hpp"

namespace fastcredit::bindings {

namespace py = pybind11;

/// The registry of every rule (rules.cpp), built on first use.
const Registry& registry();

class FitJob {
 public:
  virtual ~FitJob() = default;
  /// Trains in place, then scores the network on every evaluation pair. Call without the
  /// GIL; engine errors are thrown (InvalidArgument for bad data or options).
  virtual void run(const Hooks& hooks) = 0;
  /// The outcome of `run` as a dict: losses, validation_scores, reason, diverged_epoch,
  /// diverged_batch, progress, diagnostic_epochs, diagnostics, scores. Needs the GIL.
  virtual py::dict outcome() const = 0;
};

/// `job` is `_core.train`'s fit description, a dict with the keys rule, X, Y, X_val, Y_val,
/// architecture, coefs, intercepts, rule_state ((name, array) pairs), optimizer_state,
/// best_params, options and progress.
/// `evaluation` is a sequence of (X, Y) pairs scored after training (accuracy or R^2, as
/// `score`); the job keeps every array alive until it is destroyed (with the GIL held).
std::unique_ptr<FitJob> make_fit_job(const py::dict& job, const py::sequence& evaluation);

}  // namespace fastcredit::bindings
