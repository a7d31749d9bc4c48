// Element-wise activations f and the factor f'(a) that multiplies a delta.
#pragma once

#include <string>

#include "fastcredit/types.hpp"

namespace fastcredit {

enum class Activation { identity, relu, leaky_relu, tanh, logistic, softplus };

inline Activation parse_activation(const std::string& name) {
  if (name == "identity") return Activation::identity;
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "tanh") return Activation::tanh;
  if (name == "logistic") return Activation::logistic;
  if (name == "softplus") return Activation::softplus;
  throw InvalidArgument("unknown activation '" + name + "'");
}

/// Negative-side slope of leaky_relu (as in PyTorch's default).
constexpr double kLeakySlope = 0.01;

/// h = f(a), element-wise; `h` may alias `a`.
template <typename Scalar, typename A, typename H>
void activate(Activation f, const Eigen::MatrixBase<A>& a, Eigen::MatrixBase<H>& h) {
  const auto x = a.array();
  auto y = h.array();
  const Scalar slope(kLeakySlope);
  switch (f) {
    case Activation::identity: y = x; break;
    case Activation::relu: y = x.max(Scalar(0)); break;
    case Activation::leaky_relu: y = (x > Scalar(0)).select(x, slope * x); break;
    case Activation::tanh: y = x.tanh(); break;
    case Activation::logistic: y = Scalar(1) / (Scalar(1) + (-x).exp()); break;
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|.
    case Activation::softplus: y = x.max(Scalar(0)) + (-x.abs()).exp().log1p(); break;
  }
}

/// delta *= f'(a), element-wise, given a and h = f(a) (whichever is cheaper is used).
template <typename Scalar, typename A, typename H, typename D>
void multiply_by_derivative(Activation f, const Eigen::MatrixBase<A>& a,
                            const Eigen::MatrixBase<H>& h, Eigen::MatrixBase<D>& delta) {
  auto d = delta.array();
  const auto x = a.array();
  const auto y = h.array();
  const Scalar slope(kLeakySlope);
  switch (f) {
    case Activation::identity: break;
    case Activation::relu: d = (x > Scalar(0)).select(d, Scalar(0)); break;
    case Activation::leaky_relu: d = (x > Scalar(0)).select(d, slope * d); break;
    case Activation::tanh: d *= Scalar(1) - y.square(); break;
    case Activation::logistic: d *= y * (Scalar(1) - y); break;
    case Activation::softplus: d *= Scalar(1) / (Scalar(1) + (-x).exp()); break;
  }
}

}  // namespace fastcredit
