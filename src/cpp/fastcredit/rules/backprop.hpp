/// @file
/// Backpropagation (RULES.md, "Backprop"): d_L = e, d_l = (W_{l+1}^T d_{l+1}) * f'(a_l),
/// grad W_l = d_l h_{l-1}^T. The reference every other rule is measured against.
/// @tparam Scalar float or double.
#pragma once

#include "fastcredit/rules/rule.hpp"

namespace fastcredit {

template <typename Scalar>
struct Backprop : RuleDefaults {
  static constexpr const char* name = "backprop";
  struct Params {
    explicit Params(const Options&) {}
  };

  Backprop(const Params&, RuleState<Scalar>&) {}

  void backward(const Network<Scalar>& net, Workspace<Scalar>& ws, StepContext<Scalar>&,
                Gradients<Scalar>& g) {
    for (int k = net.n_layers() - 1; k >= 1; --k) propagate_delta(net, ws, k, net.coefs[k]);
    gradients_from_deltas(net, ws, g);
  }
};

}  // namespace fastcredit
