// The pybind11 module `fastcredit._core`: NumPy arrays in and out, mapped without copies;
// the GIL is released while the engine works; engine errors become Python exceptions.
// One fit's conversion and outcome live in fit_job.cpp, many fits at once in sweep.cpp.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "blas.hpp"
#include "convert.hpp"
#include "fastcredit/evaluate.hpp"
#include "fastcredit/network.hpp"
#include "fastcredit/noise.hpp"
#include "fastcredit/trainer.hpp"
#include "fit_job.hpp"
#include "sweep.hpp"

namespace py = pybind11;
using namespace fastcredit;
using namespace fastcredit::bindings;

namespace {

#define FASTCREDIT_STRINGIFY(x) #x
#define FASTCREDIT_VERSION(x) FASTCREDIT_STRINGIFY(x)

/// Polls Python's signal handlers at most every 50 ms (they only run in the main thread
/// with the GIL held), so that Ctrl-C stops a fit within a batch or so.
struct InterruptPoll {
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  std::optional<py::error_already_set> error;

  bool operator()() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(50)) return false;
    last = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      error.emplace();  // fetches the pending exception (KeyboardInterrupt)
      return true;
    }
    return false;
  }
};

py::dict train_one(const std::string& rule, py::array X, py::array Y, py::array X_val, py::array Y_val,
                   py::list coefs, py::list intercepts, py::list rule_state, py::list optimizer_state,
                   py::list best_params, const py::dict& options, py::dict progress, py::object epoch_callback) {
  const auto job = make_fit_job(py::make_tuple(rule, X, Y, X_val, Y_val, coefs, intercepts, rule_state,
                                               optimizer_state, best_params, options, progress),
                                py::tuple());
  InterruptPoll poll;
  std::optional<py::error_already_set> callback_error;
  Hooks hooks;
  hooks.interrupted = [&]() { return callback_error.has_value() || poll(); };
  if (!epoch_callback.is_none()) {
    hooks.epoch_end = [&](long epoch, double loss, double val, double lr) {
      py::gil_scoped_acquire gil;
      try {
        epoch_callback(epoch, loss, val, lr);
      } catch (py::error_already_set& e) {
        callback_error.emplace(std::move(e));
      }
    };
  }
  {
    py::gil_scoped_release release;
    job->run(hooks);
  }
  py::dict out = job->outcome();
  // The caller finishes its bookkeeping, then re-raises (e.g. KeyboardInterrupt).
  if (callback_error) out["error"] = callback_error->value();
  else if (poll.error) out["error"] = poll.error->value();
  else out["error"] = py::none();
  return out;
}

template <typename Scalar>
py::tuple direction_typed(const std::string& rule, py::array X, py::array Y, py::list coefs, py::list intercepts,
                          py::list rule_state, const py::dict& options) {
  const Options o = to_options(options);
  const auto net = as_network<Scalar>(coefs, intercepts, o, false);
  RuleState<Scalar> state;
  for (auto item : rule_state) {
    auto a = py::reinterpret_borrow<py::array>(item);
    state.arrays.push_back(as_mutable_matrix<Scalar>(a, "rule state"));
  }
  const auto x = as_matrix<Scalar>(X, "X");
  const auto y = as_matrix<Scalar>(Y, "Y");
  const auto& entry = registry().get(rule).typed(Scalar{});
  std::optional<Gradients<Scalar>> g;
  {
    py::gil_scoped_release release;
    g.emplace(entry.direction(net, state, x, y, o));
  }
  py::list coef_dirs, intercept_dirs;
  for (const auto& W : g->coefs) {
    py::array_t<Scalar> a({W.rows(), W.cols()});
    std::copy(W.data(), W.data() + W.size(), a.mutable_data());
    coef_dirs.append(a);
  }
  for (const auto& b : g->intercepts) {
    py::array_t<Scalar> a(b.size());
    std::copy(b.data(), b.data() + b.size(), a.mutable_data());
    intercept_dirs.append(a);
  }
  return py::make_tuple(coef_dirs, intercept_dirs);
}

template <typename Scalar>
void initialize_typed(py::list coefs, py::list intercepts, const py::dict& options) {
  const Options o = to_options(options);
  auto net = as_network<Scalar>(coefs, intercepts, o, true);
  Rng rng(static_cast<std::uint64_t>(o.number("seed", 0)));
  initialize(net, parse_init(o.string("init", "glorot_uniform")), rng);
}

template <typename Scalar>
py::array predict_typed(py::array X, py::list coefs, py::list intercepts, const py::dict& options) {
  const Options o = to_options(options);
  const auto net = as_network<Scalar>(coefs, intercepts, o, false);
  const auto x = as_matrix<Scalar>(X, "X");
  if (x.cols() != net.units(0)) throw py::value_error("X has the wrong number of features");
  py::array_t<Scalar> out({x.rows(), net.units(net.n_layers())});
  MatrixMap<Scalar> y(out.mutable_data(), x.rows(), net.units(net.n_layers()));
  {
    py::gil_scoped_release release;
    if (x.rows() > 0) predict(net, x, y);
  }
  return out;
}

template <typename Scalar>
py::array normal_noise(std::uint64_t seed, const std::vector<Index>& sizes) {
  Index total = 0, largest = 0;
  for (Index size : sizes) {
    if (size < 0) throw py::value_error("sizes must be >= 0");
    total += size;
    largest = std::max(largest, size);
  }
  py::array_t<Scalar> out(total);
  NormalNoise<Scalar> noise;
  noise.reserve(largest);
  Rng rng(seed);
  Scalar* p = out.mutable_data();
  for (Index size : sizes) {
    noise.fill(rng, p, size);
    p += size;
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastcredit engine: credit-assignment rules for dense networks (C++/Eigen)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fastcredit::InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  bind_sweep(m);
  bind_blas(m);
  m.def("rules", [] { return registry().names(); }, "Names of the registered learning rules.");
  m.def(
      "rule_state_specs",
      [](const std::string& rule, const std::vector<Index>& units, const py::dict& options) {
        std::vector<py::tuple> out;
        for (const auto& s : registry().get(rule).state_specs(units, to_options(options)))
          out.push_back(py::make_tuple(s.name, s.rows, s.cols));
        return out;
      },
      py::arg("rule"), py::arg("units"), py::arg("options"),
      "(name, rows, cols) of every state array the rule keeps, for a network with these unit counts.");
  m.def("train", &train_one, py::arg("rule"), py::arg("X"), py::arg("Y"), py::arg("X_val"), py::arg("Y_val"),
        py::arg("coefs"), py::arg("intercepts"), py::arg("rule_state"), py::arg("optimizer_state"),
        py::arg("best_params"), py::arg("options"), py::arg("progress"), py::arg("epoch_callback"),
        "Train in place: every array is updated where it lies. Returns losses, scores, progress.");
  m.def(
      "direction",
      [](const std::string& rule, py::array X, py::array Y, py::list coefs, py::list intercepts, py::list rule_state,
         const py::dict& options) {
        return is_float32(X) ? direction_typed<float>(rule, X, Y, coefs, intercepts, rule_state, options)
                             : direction_typed<double>(rule, X, Y, coefs, intercepts, rule_state, options);
      },
      py::arg("rule"), py::arg("X"), py::arg("Y"), py::arg("coefs"), py::arg("intercepts"), py::arg("rule_state"),
      py::arg("options"),
      "The rule's update direction (coefs, intercepts) on one batch, batch-averaged, without L2; "
      "the rule's state is read, not changed.");
  m.def(
      "initialize",
      [](py::list coefs, py::list intercepts, const py::dict& options) {
        if (coefs.empty()) throw py::value_error("no layers");
        auto first = py::reinterpret_borrow<py::array>(coefs[0]);
        if (is_float32(first)) initialize_typed<float>(coefs, intercepts, options);
        else initialize_typed<double>(coefs, intercepts, options);
      },
      py::arg("coefs"), py::arg("intercepts"), py::arg("options"), "Draw initial weights in place.");
  m.def(
      "predict",
      [](py::array X, py::list coefs, py::list intercepts, const py::dict& options) {
        return is_float32(X) ? predict_typed<float>(X, coefs, intercepts, options)
                             : predict_typed<double>(X, coefs, intercepts, options);
      },
      py::arg("X"), py::arg("coefs"), py::arg("intercepts"), py::arg("options"),
      "Output activations (class probabilities for classifiers) for every row of X.");
  m.def(
      "normal_noise",
      [](std::uint64_t seed, const std::vector<Index>& sizes, const std::string& dtype) -> py::array {
        if (dtype == "float32") return normal_noise<float>(seed, sizes);
        if (dtype == "float64") return normal_noise<double>(seed, sizes);
        throw py::value_error("dtype must be 'float32' or 'float64'");
      },
      py::arg("seed"), py::arg("sizes"), py::arg("dtype") = "float64",
      "Consecutive NormalNoise fills of these sizes from the stream Rng(seed), concatenated: the "
      "noise a fit seeded with `seed` draws (tests reproduce the perturbation rules' noise with it).");
  m.attr("__version__") = FASTCREDIT_VERSION(VERSION_INFO);
}
