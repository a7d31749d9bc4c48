// Rule registry of the Python module: one `add<Rule>()` line per rule (rules.cpp) makes it
// trainable from Python under Rule<float>::name, for float32 and float64.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fastcredit/diagnostics.hpp"
#include "fastcredit/options.hpp"
#include "fastcredit/trainer.hpp"

namespace fastcredit::bindings {

namespace py = pybind11;

/// The pieces of one fit that arrive from Python, already checked and mapped.
template <typename Scalar>
struct FitCall {
  TrainBuffers<Scalar>* buffers;
  ConstMatrixMap<Scalar> X, Y, X_val, Y_val;
  const Options* options;
  Progress* progress;
  const Hooks* hooks;
};

/// A rule's entry points for one scalar type.
template <typename Scalar>
struct TypedEntry {
  std::function<TrainResult(FitCall<Scalar>&)> train;
  std::function<Gradients<Scalar>(const Network<Scalar>&, RuleState<Scalar>&, const ConstMatrixMap<Scalar>&,
                                  const ConstMatrixMap<Scalar>&, const Options&)>
      direction;
};

struct RuleEntry {
  TypedEntry<float> f32;
  TypedEntry<double> f64;
  std::function<std::vector<StateSpec>(const Architecture&, const Options&)> state_specs;

  const TypedEntry<float>& typed(float) const { return f32; }
  const TypedEntry<double>& typed(double) const { return f64; }
};

class Registry {
 public:
  template <template <typename> class Rule>
  void add() {
    RuleEntry entry;
    entry.f32 = typed<Rule, float>();
    entry.f64 = typed<Rule, double>();
    entry.state_specs = [](const Architecture& layers, const Options& o) {
      return Rule<double>::state_specs(layers, typename Rule<double>::Params(o));
    };
    entries_[Rule<double>::name] = std::move(entry);
  }

  const RuleEntry& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) throw InvalidArgument("unknown rule '" + name + "'");
    return it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }

 private:
  template <template <typename> class Rule, typename Scalar>
  static TypedEntry<Scalar> typed() {
    TypedEntry<Scalar> t;
    t.train = [](FitCall<Scalar>& c) {
      return train<Rule, Scalar>(*c.buffers, c.X, c.Y, c.X_val, c.Y_val, *c.options, *c.progress, *c.hooks);
    };
    t.direction = &direction<Rule, Scalar>;
    return t;
  }
  std::map<std::string, RuleEntry> entries_;
};

/// Defined in rules.cpp: registers every rule, family by family (rules_<family>.cpp).
void register_rules(Registry& registry);
void register_feedback_rules(Registry& registry);
void register_perturbation_rules(Registry& registry);
void register_target_propagation_rules(Registry& registry);
void register_dynamic_inversion_rules(Registry& registry);

}  // namespace fastcredit::bindings
