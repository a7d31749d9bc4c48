#include "fit_job.hpp"

#include <pybind11/stl.h>

#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "fastcredit/evaluate.hpp"

namespace fastcredit::bindings {

const Registry& registry() {
  static const Registry instance = [] {
    Registry r;
    register_rules(r);
    return r;
  }();
  return instance;
}

namespace {

const char* reason_name(StopReason r) {
  switch (r) {
    case StopReason::max_iter: return "max_iter";
    case StopReason::converged: return "converged";
    case StopReason::one_epoch: return "one_epoch";
    case StopReason::interrupted: return "interrupted";
    case StopReason::diverged: return "diverged";
  }
  return "?";
}

/// The array itself, never a converted copy: the engine keeps pointers into it.
py::array array_item(const py::handle& item, const char* what) {
  if (!py::isinstance<py::array>(item)) throw py::type_error(std::string(what) + " must be a NumPy array");
  return py::reinterpret_borrow<py::array>(item);
}

template <typename Scalar>
std::vector<Flat<Scalar>> as_flats(const py::list& arrays, const char* what) {
  std::vector<Flat<Scalar>> out;
  for (auto item : arrays) {
    auto a = array_item(item, what);
    out.push_back(as_flat<Scalar>(a, what));
  }
  return out;
}

Progress to_progress(const py::dict& d) {
  Progress p;
  p.samples_seen = py::cast<double>(d["samples_seen"]);
  p.epochs = py::cast<long>(d["epochs"]);
  p.best_loss = py::cast<double>(d["best_loss"]);
  p.best_validation_score = py::cast<double>(d["best_validation_score"]);
  p.no_improvement_count = py::cast<long>(d["no_improvement_count"]);
  p.learning_rate = py::cast<double>(d["learning_rate"]);
  p.adam_steps = py::cast<double>(d["adam_steps"]);
  return p;
}

py::dict from_progress(const Progress& p) {
  py::dict d;
  d["samples_seen"] = p.samples_seen;
  d["epochs"] = p.epochs;
  d["best_loss"] = p.best_loss;
  d["best_validation_score"] = p.best_validation_score;
  d["no_improvement_count"] = p.no_improvement_count;
  d["learning_rate"] = p.learning_rate;
  d["adam_steps"] = p.adam_steps;
  return d;
}

template <typename Scalar>
class TypedFitJob final : public FitJob {
 public:
  TypedFitJob(const py::dict& job, const py::sequence& evaluation)
      : keep_alive_(py::make_tuple(job, evaluation)),
        train_(registry().get(py::cast<std::string>(job["rule"])).typed(Scalar{}).train),
        options_(to_options(job["options"].cast<py::dict>())),
        X_(as_matrix<Scalar>(array_item(job["X"], "X"), "X")),
        Y_(as_matrix<Scalar>(array_item(job["Y"], "Y"), "Y")),
        X_val_(as_matrix<Scalar>(array_item(job["X_val"], "X_val"), "X_val")),
        Y_val_(as_matrix<Scalar>(array_item(job["Y_val"], "Y_val"), "Y_val")),
        progress_(to_progress(job["progress"].cast<py::dict>())) {
    buffers_.net = as_network<Scalar>(job["architecture"].cast<py::dict>(), job["coefs"].cast<py::list>(),
                                      job["intercepts"].cast<py::list>(), options_, true);
    buffers_.rule_state = as_rule_state<Scalar>(job["rule_state"].cast<py::list>());
    buffers_.optimizer_state = as_flats<Scalar>(job["optimizer_state"].cast<py::list>(), "optimizer state");
    buffers_.best_params = as_flats<Scalar>(job["best_params"].cast<py::list>(), "best parameters");
    for (auto pair : evaluation) {
      auto xy = pair.cast<py::sequence>();
      if (xy.size() != 2) throw py::value_error("evaluation items must be (X, Y) pairs");
      evaluation_.emplace_back(as_matrix<Scalar>(array_item(xy[0], "evaluation X"), "evaluation X"),
                               as_matrix<Scalar>(array_item(xy[1], "evaluation Y"), "evaluation Y"));
    }
  }

  void run(const Hooks& hooks) override {
    FitCall<Scalar> call{&buffers_, X_, Y_, X_val_, Y_val_, &options_, &progress_, &hooks};
    result_ = train_(call);
    if (result_.reason == StopReason::diverged) return;
    const auto& net = buffers_.net;
    const Index chunk = 512;
    Workspace<Scalar> ws(net, chunk);
    for (const auto& [x, y] : evaluation_) {
      if (x.cols() != net.units(0) || y.cols() != net.units(net.n_layers()) || x.rows() != y.rows())
        throw InvalidArgument("evaluation data does not match the network's input/output sizes");
      scores_.push_back(x.rows() > 0 ? score(net, ws, chunk, x, y) : std::numeric_limits<double>::quiet_NaN());
    }
  }

  py::dict outcome() const override {
    py::dict out;
    out["losses"] = result_.losses;
    out["validation_scores"] = result_.validation_scores;
    out["reason"] = reason_name(result_.reason);
    out["diverged_epoch"] = result_.diverged_epoch;
    out["diverged_batch"] = result_.diverged_batch;
    out["progress"] = from_progress(progress_);
    py::dict diagnostics;
    for (const auto& [name, rows] : result_.diagnostics) diagnostics[py::str(name)] = rows;
    out["diagnostic_epochs"] = result_.diagnostic_epochs;
    out["diagnostics"] = diagnostics;
    out["scores"] = scores_;
    return out;
  }

 private:
  py::tuple keep_alive_;
  std::function<TrainResult(FitCall<Scalar>&)> train_;
  Options options_;
  ConstMatrixMap<Scalar> X_, Y_, X_val_, Y_val_;
  Progress progress_;
  TrainBuffers<Scalar> buffers_;
  std::vector<std::pair<ConstMatrixMap<Scalar>, ConstMatrixMap<Scalar>>> evaluation_;
  TrainResult result_;
  std::vector<double> scores_;
};

}  // namespace

std::unique_ptr<FitJob> make_fit_job(const py::dict& job, const py::sequence& evaluation) {
  for (const char* key : {"rule", "X", "Y", "X_val", "Y_val", "architecture", "coefs", "intercepts", "rule_state",
                          "optimizer_state", "best_params", "options", "progress"})
    if (!job.contains(key)) throw py::value_error(std::string("a fit job needs the key '") + key + "'");
  if (is_float32(array_item(job["X"], "X"))) return std::make_unique<TypedFitJob<float>>(job, evaluation);
  return std::make_unique<TypedFitJob<double>>(job, evaluation);
}

}  // namespace fastcredit::bindings
