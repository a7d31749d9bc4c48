// One line per learning rule.
#include "registry.hpp"

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/kickback.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  registry.add<Backprop>();
  registry.add<Kickback>();
}

}  // namespace fastcredit::bindings
