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

py::dict train_one(const py::dict& fit, py::object epoch_callback) {
  const auto job = make_fit_job(fit, py::tuple());
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
py::tuple direction_typed(const std::string& rule, py::array X, py::array Y, const py::dict& architecture,
                          py::list coefs, py::list intercepts, py::list rule_state, const py::dict& options) {
  const Options o = to_options(options);
  const auto net = as_network<Scalar>(architecture, coefs, intercepts, o, false);
  auto state = as_rule_state<Scalar>(rule_state);
  const auto x = as_matrix<Scalar>(X, "X");
  const auto y = as_matrix<Scalar>(Y, "Y");
  const auto& entry = registry().get(rule).typed(Scalar{});
  std::optional<Gradients<Scalar>> g;
  {
    py::gil_scoped_release release;
    g.emplace(entry.direction(net, state, x, y, o));
  }
  py::list coef_dirs, intercept_dirs;
  for (int l = 0; l < net.n_layers(); ++l) {
    const auto& W = g->coefs[static_cast<std::size_t>(l)];
    const auto& b = g->intercepts[static_cast<std::size_t>(l)];
    py::array_t<Scalar> kernel(net.geometry(l).kernel_shape()), bias(net.geometry(l).bias_shape());
    std::copy(W.data(), W.data() + W.size(), kernel.mutable_data());
    std::copy(b.data(), b.data() + b.size(), bias.mutable_data());
    coef_dirs.append(kernel);
    intercept_dirs.append(bias);
  }
  return py::make_tuple(coef_dirs, intercept_dirs);
}

template <typename Scalar>
void initialize_typed(const py::dict& architecture, py::list coefs, py::list intercepts, const py::dict& options) {
  const Options o = to_options(options);
  auto net = as_network<Scalar>(architecture, coefs, intercepts, o, true);
  Rng rng(static_cast<std::uint64_t>(o.number("seed", 0)));
  initialize(net, parse_init(o.string("init", "glorot_uniform")), rng);
}

template <typename Scalar>
py::array predict_typed(py::array X, const py::dict& architecture, py::list coefs, py::list intercepts,
                        const py::dict& options) {
  const Options o = to_options(options);
  const auto net = as_network<Scalar>(architecture, coefs, intercepts, o, false);
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
  m.doc() = "fastcredit engine: credit-assignment rules for dense, conv and locally-connected networks (C++/Eigen)";
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
      "architecture",
      [](const py::dict& architecture) {
        py::list out;
        for (const auto& g : to_architecture(architecture)) {
          py::dict layer;
          layer["kind"] = kind_name(g.kind);
          layer["in_shape"] = std::vector<Index>{g.in.channels, g.in.height, g.in.width};
          layer["out_shape"] = std::vector<Index>{g.out.channels, g.out.height, g.out.width};
          layer["in_units"] = g.in_units();
          layer["out_units"] = g.out_units();
          layer["kernel_shape"] = py::tuple(py::cast(g.kernel_shape()));
          layer["bias_shape"] = py::tuple(py::cast(g.bias_shape()));
          out.append(layer);
        }
        return out;
      },
      py::arg("architecture"),
      "Per layer: kind, in/out shapes (C, H, W), unit counts, kernel and bias shapes; ValueError "
      "naming the layer and the shapes when the stack is invalid.");
  m.def(
      "rule_state_specs",
      [](const std::string& rule, const py::object& architecture, const py::dict& options) {
        const Options o = to_options(options);
        // A plain list of unit counts n_0 .. n_L stands for dense layers.
        const auto layers = py::isinstance<py::dict>(architecture)
                                ? to_architecture(architecture.cast<py::dict>())
                                : dense_architecture(py::cast<std::vector<Index>>(architecture));
        std::vector<py::tuple> out;
        for (const auto& s : registry().get(rule).state_specs(layers, o))
          out.push_back(py::make_tuple(s.name, py::tuple(py::cast(s.shape))));
        return out;
      },
      py::arg("rule"), py::arg("architecture"), py::arg("options"),
      "(name, shape) of every state array the rule keeps, for a network of this architecture (or of "
      "dense layers with these unit counts).");
  m.def("train", &train_one, py::arg("job"), py::arg("epoch_callback"),
        "Train in place: every array of the job dict (rule, X, Y, X_val, Y_val, architecture, coefs, "
        "intercepts, rule_state, optimizer_state, best_params, options, progress) is updated where it "
        "lies. Returns losses, scores, progress.");
  m.def(
      "direction",
      [](const std::string& rule, py::array X, py::array Y, const py::dict& architecture, py::list coefs,
         py::list intercepts, py::list rule_state, const py::dict& options) {
        return is_float32(X)
                   ? direction_typed<float>(rule, X, Y, architecture, coefs, intercepts, rule_state, options)
                   : direction_typed<double>(rule, X, Y, architecture, coefs, intercepts, rule_state, options);
      },
      py::arg("rule"), py::arg("X"), py::arg("Y"), py::arg("architecture"), py::arg("coefs"), py::arg("intercepts"),
      py::arg("rule_state"), py::arg("options"),
      "The rule's update direction (coefs, intercepts) on one batch, batch-averaged, without L2; "
      "the rule's state is read, not changed.");
  m.def(
      "initialize",
      [](const py::dict& architecture, py::list coefs, py::list intercepts, const py::dict& options) {
        if (coefs.empty()) throw py::value_error("no layers");
        auto first = py::reinterpret_borrow<py::array>(coefs[0]);
        if (is_float32(first)) initialize_typed<float>(architecture, coefs, intercepts, options);
        else initialize_typed<double>(architecture, coefs, intercepts, options);
      },
      py::arg("architecture"), py::arg("coefs"), py::arg("intercepts"), py::arg("options"),
      "Draw initial weights in place.");
  m.def(
      "predict",
      [](py::array X, const py::dict& architecture, py::list coefs, py::list intercepts, const py::dict& options) {
        return is_float32(X) ? predict_typed<float>(X, architecture, coefs, intercepts, options)
                             : predict_typed<double>(X, architecture, coefs, intercepts, options);
      },
      py::arg("X"), py::arg("architecture"), py::arg("coefs"), py::arg("intercepts"), py::arg("options"),
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
