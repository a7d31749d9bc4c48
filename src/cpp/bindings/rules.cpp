// One line per learning rule. The rules are instantiated (float and double) in one
// translation unit per family (rules_<family>.cpp), so that they compile in parallel.
#include "registry.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  register_feedback_rules(registry);
  register_perturbation_rules(registry);
  register_target_propagation_rules(registry);
  register_dynamic_inversion_rules(registry);
}

}  // namespace fastcredit::bindings
