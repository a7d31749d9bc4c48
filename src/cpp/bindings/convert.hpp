// NumPy arrays and Python dicts to engine types, checked and mapped without copies.
// Callers hold the GIL.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "fastcredit/network.hpp"
#include "fastcredit/optimizers.hpp"
#include "fastcredit/options.hpp"

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

/// A mutable view; with writable=false the caller promises only to read through it
/// (prediction maps read-only, e.g. memory-mapped, parameters this way).
template <typename Scalar>
MatrixMap<Scalar> as_mutable_matrix(py::array& a, const char* what, bool writable = true) {
  check_array<Scalar>(a, what, writable);
  if (a.ndim() != 2) throw py::value_error(std::string(what) + " must be 2-D");
  return MatrixMap<Scalar>(static_cast<Scalar*>(const_cast<void*>(a.data())), a.shape(0), a.shape(1));
}

template <typename Scalar>
Flat<Scalar> as_flat(py::array& a, const char* what) {
  check_array<Scalar>(a, what, true);
  return Flat<Scalar>(static_cast<Scalar*>(a.mutable_data()), a.size());
}

template <typename Scalar>
Network<Scalar> as_network(py::list coefs, py::list intercepts, const Options& o, bool writable) {
  Network<Scalar> net;
  for (auto item : coefs) {
    auto a = py::reinterpret_borrow<py::array>(item);
    net.coefs.push_back(as_mutable_matrix<Scalar>(a, "coefs", writable));
  }
  for (auto item : intercepts) {
    auto a = py::reinterpret_borrow<py::array>(item);
    check_array<Scalar>(a, "intercepts", writable);
    if (a.ndim() != 1) throw py::value_error("intercepts must be 1-D");
    net.intercepts.emplace_back(static_cast<Scalar*>(const_cast<void*>(a.data())), a.shape(0));
  }
  net.hidden_activation = parse_activation(o.string("activation", "relu"));
  net.output = parse_output(o.string("out_activation", "softmax"));
  net.check();
  return net;
}

inline bool is_float32(const py::array& X) { return py::isinstance<py::array_t<float>>(X); }

}  // namespace fastcredit::bindings
