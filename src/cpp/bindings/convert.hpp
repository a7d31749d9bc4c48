// NumPy arrays and Python dicts to engine types, checked and mapped without copies.
// Callers hold the GIL.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "fastcredit/network.hpp"
#include "fastcredit/optimizers.hpp"
#include "fastcredit/options.hpp"
#include "fastcredit/rules/rule.hpp"

namespace fastcredit::bindings {

namespace py = pybind11;

inline Options to_options(const py::dict& d) {
  Options o;
  for (auto item : d) {
    const auto key = py::cast<std::string>(item.first);
    if (py::isinstance<py::str>(item.second))
      o.strings[key] = py::cast<std::string>(item.second);
    else
      o.numbers[key] = py::cast<double>(item.second);
  }
  return o;
}

template <typename Scalar>
void check_array(const py::array& a, const char* what, bool writable) {
  if (!py::isinstance<py::array_t<Scalar>>(a) || !(a.flags() & py::array::c_style))
    throw py::type_error(std::string(what) + " must be a C-contiguous array of the fit's dtype");
  if (writable && !a.writeable()) throw py::value_error(std::string(what) + " must be writeable");
}

template <typename Scalar>
ConstMatrixMap<Scalar> as_matrix(const py::array& a, const char* what) {
  check_array<Scalar>(a, what, false);
  if (a.ndim() != 2) throw py::value_error(std::string(what) + " must be 2-D");
  return ConstMatrixMap<Scalar>(static_cast<const Scalar*>(a.data()), a.shape(0), a.shape(1));
}

/// A mutable view of an array of any rank >= 1 as the engine's 2-D matrix (first dimension
/// x the rest); with writable=false the caller promises only to read through it
/// (prediction maps read-only, e.g. memory-mapped, parameters this way).
template <typename Scalar>
MatrixMap<Scalar> as_mutable_matrix(py::array& a, const char* what, bool writable = true) {
  check_array<Scalar>(a, what, writable);
  if (a.ndim() < 1) throw py::value_error(std::string(what) + " must have at least one dimension");
  const Index rows = a.shape(0), cols = rows == 0 ? 0 : a.size() / rows;
  return MatrixMap<Scalar>(static_cast<Scalar*>(const_cast<void*>(a.data())), rows, cols);
}

template <typename Scalar>
Flat<Scalar> as_flat(py::array& a, const char* what) {
  check_array<Scalar>(a, what, true);
  return Flat<Scalar>(static_cast<Scalar*>(a.mutable_data()), a.size());
}

inline std::vector<Index> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

inline std::string shape_str(const std::vector<Index>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

/// The layers of a network, from the caller's architecture dict: {"input_shape": (C, H, W),
/// "layers": [{"kind": "dense" | "conv2d" | "locally_connected2d", "size": units or
/// channels, "kernel_size": (kh, kw), "stride": (sh, sw), "padding": (ph, pw)}, ...]},
/// the output layer last.
inline std::vector<LayerGeometry> to_architecture(const py::dict& d) {
  const auto input = py::cast<std::vector<Index>>(d["input_shape"]);
  if (input.size() != 3) throw py::value_error("input_shape must be (channels, height, width)");
  std::vector<LayerSpec> specs;
  for (auto item : py::cast<py::list>(d["layers"])) {
    const auto layer = py::cast<py::dict>(item);
    LayerSpec spec;
    spec.kind = parse_layer_kind(py::cast<std::string>(layer["kind"]));
    spec.size = py::cast<Index>(layer["size"]);
    const auto pair = [&](const char* key, Index& first, Index& second) {
      if (!layer.contains(key)) return;
      const auto values = py::cast<std::vector<Index>>(layer[key]);
      if (values.size() != 2) throw py::value_error(std::string(key) + " must be a pair");
      first = values[0];
      second = values[1];
    };
    pair("kernel_size", spec.kernel_h, spec.kernel_w);
    pair("stride", spec.stride_h, spec.stride_w);
    pair("padding", spec.pad_h, spec.pad_w);
    specs.push_back(spec);
  }
  if (specs.empty()) throw py::value_error("a network needs at least one layer");
  return resolve_layers({input[0], input[1], input[2]}, specs);
}

/// Dense layers with the unit counts n_0 .. n_L.
inline std::vector<LayerGeometry> dense_architecture(const std::vector<Index>& units) {
  if (units.size() < 2) throw py::value_error("a network needs at least an input and an output size");
  std::vector<LayerSpec> specs;
  for (std::size_t k = 1; k < units.size(); ++k) specs.push_back({LayerKind::dense, units[k]});
  return resolve_layers({units[0], 1, 1}, specs);
}

/// The network over the caller's kernels and intercepts, each of exactly the shape its
/// layer gives (kernel_shape, bias_shape).
template <typename Scalar>
Network<Scalar> as_network(const py::dict& architecture, py::list coefs, py::list intercepts, const Options& o,
                           bool writable) {
  const auto layers = to_architecture(architecture);
  if (coefs.size() != layers.size() || intercepts.size() != layers.size())
    throw py::value_error("one kernel and one intercept array per layer are needed");
  Network<Scalar> net;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    auto W = py::reinterpret_borrow<py::array>(coefs[l]);
    auto b = py::reinterpret_borrow<py::array>(intercepts[l]);
    const auto& g = layers[l];
    if (shape_of(W) != g.kernel_shape() || shape_of(b) != g.bias_shape())
      throw py::value_error("coefs[" + std::to_string(l) + "] / intercepts[" + std::to_string(l) + "] have shapes " +
                            shape_str(shape_of(W)) + " / " + shape_str(shape_of(b)) + "; layer " +
                            std::to_string(l) + " (" + kind_name(g.kind) + ") needs " + shape_str(g.kernel_shape()) +
                            " / " + shape_str(g.bias_shape()));
    net.coefs.push_back(as_mutable_matrix<Scalar>(W, "coefs", writable));
    check_array<Scalar>(b, "intercepts", writable);
    net.intercepts.emplace_back(static_cast<Scalar*>(const_cast<void*>(b.data())), b.size());
    net.layers.emplace_back(g);
  }
  net.hidden_activation = parse_activation(o.string("activation", "relu"));
  net.output = parse_output(o.string("out_activation", "softmax"));
  net.check();
  return net;
}

/// The rule's state from the caller's list of (name, array) pairs, in spec order.
template <typename Scalar>
RuleState<Scalar> as_rule_state(const py::list& pairs) {
  RuleState<Scalar> state;
  for (auto item : pairs) {
    const auto pair = py::cast<py::tuple>(item);
    if (pair.size() != 2) throw py::value_error("rule state items must be (name, array) pairs");
    auto a = py::reinterpret_borrow<py::array>(pair[1]);
    state.add(py::cast<std::string>(pair[0]), as_mutable_matrix<Scalar>(a, "rule state"));
  }
  return state;
}

inline bool is_float32(const py::array& X) { return py::isinstance<py::array_t<float>>(X); }

}  // namespace fastcredit::bindings
