// One line per learning rule.
#include "registry.hpp"

#include "fastcredit/rules/backprop.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  registry.add<Backprop>();
}

}  // namespace fastcredit::bindings
