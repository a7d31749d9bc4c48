// One line per learning rule.
#include "registry.hpp"

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/dynamic_inversion.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  registry.add<Backprop>();
  registry.add<DynamicInversion>();
}

}  // namespace fastcredit::bindings
