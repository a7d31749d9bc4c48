// The perturbation rules and Kickback.
#include "fastcredit/rules/kickback.hpp"
#include "fastcredit/rules/node_perturbation.hpp"
#include "fastcredit/rules/weight_perturbation.hpp"
#include "registry.hpp"

namespace fastcredit::bindings {

void register_perturbation_rules(Registry& registry) {
  registry.add<Kickback>();
  registry.add<WeightPerturbation>();
  registry.add<NodePerturbation>();
}

}  // namespace fastcredit::bindings
