// Target propagation (DTP, SDTP, AO-SDTP).
#include "fastcredit/rules/target_propagation.hpp"
#include "registry.hpp"

namespace fastcredit::bindings {

void register_target_propagation_rules(Registry& registry) {
  registry.add<DifferenceTargetPropagation>();
  registry.add<SimplifiedTargetPropagation>();
}

}  // namespace fastcredit::bindings
