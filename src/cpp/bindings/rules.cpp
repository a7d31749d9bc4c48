// One line per learning rule.
#include "registry.hpp"

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/target_propagation.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  registry.add<Backprop>();
  registry.add<DifferenceTargetPropagation>();
  registry.add<SimplifiedTargetPropagation>();
}

}  // namespace fastcredit::bindings
