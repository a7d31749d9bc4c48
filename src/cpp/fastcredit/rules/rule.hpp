// What every learning rule shares: the gradients it fills, the state it may keep between
// steps, the per-step context, and the building blocks of delta-based rules.
//
// A rule is a class template `Rule<Scalar>` with
//   static constexpr const char* name;
//   struct Params { explicit Params(const Options&); };         // its hyper-parameters
//   static std::vector<StateSpec> state_specs(const std::vector<LayerGeometry>&, const Params&);
//   Rule(const Params&, RuleState<Scalar>& state);              // state outlives the rule
//   void reserve(const Network<Scalar>&, Index max_batch);      // scratch buffers, before any backward
//   void init_state(const Network<Scalar>&, Rng&);              // fresh fit only
//   void backward(const Network<Scalar>&, Workspace<Scalar>&, StepContext<Scalar>&,
//                 Gradients<Scalar>&);                          // direction for every parameter
//   void after_step(const Network<Scalar>&, Workspace<Scalar>&, StepContext<Scalar>&,
//                   const Gradients<Scalar>&);                  // e.g. learn feedback weights
//   void report(const Network<Scalar>&, Workspace<Scalar>&, Report&);  // rule's own diagnostics
// `backward` is called after the forward pass, with ws.delta(L) = e = h_L - y; it must not
// change the rule's state (diagnostics call it on a probe batch): state changes belong in
// `after_step`. A rule that constrains the forward weights (e.g. Kickback's sign coherence)
// may take the network non-const in `init_state` and `after_step`: the trainer passes it
// mutable there and only there. `reserve` is called once per fit with the largest batch
// `backward` will see (training or probe), so that rules needing scratch buffers beyond the
// workspace (e.g. a second, perturbed forward pass) allocate them there, never in
// `backward`. RuleDefaults supplies no-op versions of everything but `backward`.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fastcredit/network.hpp"
#include "fastcredit/options.hpp"
#include "fastcredit/random.hpp"

namespace fastcredit {

/// Name and shape of one array of rule state (e.g. a feedback matrix, shaped like the
/// kernel it stands for), allocated by the caller. Arrays of one name form a group (e.g.
/// one feedback matrix per hidden layer, in layer order); the engine sees each array as
/// the 2-D matrix rows() x cols() (first dimension x the rest), as it sees kernels.
struct StateSpec {
  std::string name;
  std::vector<Index> shape;

  StateSpec(std::string n, std::vector<Index> s) : name(std::move(n)), shape(std::move(s)) {}
  StateSpec(std::string n, Index rows, Index cols) : name(std::move(n)), shape{rows, cols} {}
  Index rows() const { return shape.empty() ? 1 : shape[0]; }
  Index cols() const {
    Index cols = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) cols *= shape[i];
    return cols;
  }
};

/// The rule's state arrays, each with its group name (StateSpec::name).
template <typename Scalar>
struct RuleState {
  std::vector<std::string> names;
  std::vector<MatrixMap<Scalar>> arrays;

  void add(const std::string& name, MatrixMap<Scalar> array) {
    names.push_back(name);
    arrays.push_back(array);
  }
  /// Every array of the group `name`, in order (views of the caller's storage).
  std::vector<MatrixMap<Scalar>> group(const std::string& name) const {
    std::vector<MatrixMap<Scalar>> out;
    for (std::size_t i = 0; i < arrays.size(); ++i)
      if (names[i] == name) out.push_back(arrays[i]);
    return out;
  }
  /// The one array of the group `name`.
  MatrixMap<Scalar> single(const std::string& name) const {
    auto arrays_of = group(name);
    if (arrays_of.size() != 1) throw InvalidArgument("the rule state needs exactly one '" + name + "' array");
    return arrays_of.front();
  }
};

/// The geometries of a network's layers, for state_specs.
using Architecture = std::vector<LayerGeometry>;

/// Batch-averaged update directions, in the layout of the parameters.
template <typename Scalar>
struct Gradients {
  std::vector<Matrix<Scalar>> coefs;
  std::vector<Vector<Scalar>> intercepts;

  explicit Gradients(const Network<Scalar>& net) {
    for (int l = 0; l < net.n_layers(); ++l) {
      coefs.emplace_back(net.coefs[l].rows(), net.coefs[l].cols());
      intercepts.emplace_back(net.intercepts[l].size());
    }
  }
};

/// What a rule may need besides the forward pass: the batch's targets (rows of Y), the
/// random stream of this fit, and the optimizer's current learning rate.
template <typename Scalar>
struct StepContext {
  MatrixMap<Scalar> targets;
  Rng& rng;
  double learning_rate;
  bool measuring = false;  // the diagnostics' probe: rules also compute what they report
};

/// grad coefs[l] = dLoss/dK of layer l for the deltas d_{l+1} and inputs h_l (dense:
/// h_l^T d_{l+1} / B), grad intercepts[l] the batch mean of d_{l+1} (RULES.md, BP, "Layers").
template <typename Scalar>
void gradients_from_deltas(const Network<Scalar>& net, Workspace<Scalar>& ws, Gradients<Scalar>& g) {
  const Scalar inv_batch = Scalar(1) / static_cast<Scalar>(ws.batch());
  for (int l = 0; l < ws.n_layers(); ++l) {
    const auto& layer = net.layers[static_cast<std::size_t>(l)];
    auto d = ws.delta(l + 1);
    layer.kernel_gradient(ws.h(l), d, g.coefs[l], inv_batch);
    layer.bias_gradient(d, g.intercepts[l], inv_batch);
  }
}

/// d_k = M(F)^T d_{k+1} * f'(a_k) for a hidden layer k, where the kernel F stands where
/// coefs[k] (= W_{k+1}^T) stands in backprop: the transport of the error through one
/// layer (dense: d_{k+1} F^T).
template <typename Scalar, typename Feedback>
void propagate_delta(const Network<Scalar>& net, Workspace<Scalar>& ws, int k,
                     const Eigen::MatrixBase<Feedback>& F) {
  auto d = ws.delta(k);
  net.layers[static_cast<std::size_t>(k)].transport(F, ws.delta(k + 1), d);
  multiply_by_derivative<Scalar>(net.hidden_activation, ws.a(k), ws.h(k), d);
}

/// The matrix (n_top x n_bottom) of the map that sends an error at layer `top` down to
/// layer `bottom` through the transports of the layers between (dense: (coefs[bottom] ...
/// coefs[top - 1])^T): the identity of layer top sent down, layer by layer.
template <typename Scalar>
Matrix<Scalar> transported_identity(const Network<Scalar>& net, int top, int bottom) {
  Matrix<Scalar> T = Matrix<Scalar>::Identity(net.units(top), net.units(top)), below;
  for (int k = top - 1; k >= bottom; --k) {
    below.resize(T.rows(), net.units(k));
    net.layers[static_cast<std::size_t>(k)].transport(net.coefs[k], T, below);
    T.swap(below);
  }
  return T;
}

/// ws.delta(k) holds a target hat h_k for hidden layer k; make it the delta of the local
/// loss 0.5 ||h_k - hat h_k||^2 through layer k alone: d_k = (h_k - hat h_k) * f'(a_k)
/// (RULES.md, "Target propagation").
template <typename Scalar>
void delta_from_target(const Network<Scalar>& net, Workspace<Scalar>& ws, int k) {
  auto d = ws.delta(k);
  d = ws.h(k) - d;
  multiply_by_derivative<Scalar>(net.hidden_activation, ws.a(k), ws.h(k), d);
}

/// Named per-layer diagnostic values of one probe (e.g. "feedback_angle" -> one value per
/// layer); NaN where a value does not apply to a layer.
using Report = std::map<std::string, std::vector<double>>;

/// Angle in degrees between two arrays seen as flat vectors (NaN if either is zero), as
/// 2 atan2(|u - v|, |u + v|) of the unit vectors: accurate near 0 and 180 degrees too.
template <typename A, typename B>
double angle_degrees(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  const Eigen::ArrayXd u = a.template cast<double>().reshaped().array().eval();
  const Eigen::ArrayXd v = b.template cast<double>().reshaped().array().eval();
  const double nu = std::sqrt((u * u).sum()), nv = std::sqrt((v * v).sum());
  if (nu == 0.0 || nv == 0.0) return std::nan("");
  const double diff = std::sqrt((u / nu - v / nv).square().sum());
  const double sum = std::sqrt((u / nu + v / nv).square().sum());
  return 2.0 * std::atan2(diff, sum) * 57.29577951308232;
}

/// Defaults for everything in the rule interface except `backward`.
struct RuleDefaults {
  template <typename Params>
  static std::vector<StateSpec> state_specs(const Architecture&, const Params&) { return {}; }
  template <typename Network>
  void init_state(const Network&, Rng&) {}
  template <typename Network>
  void reserve(const Network&, Index) {}
  template <typename... Args>
  void after_step(Args&&...) {}
  template <typename... Args>
  void report(Args&&...) {}
};

}  // namespace fastcredit
