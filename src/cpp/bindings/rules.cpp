// One line per learning rule.
#include "registry.hpp"

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/kickback.hpp"
#include "fastcredit/rules/node_perturbation.hpp"
#include "fastcredit/rules/weight_perturbation.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  registry.add<Backprop>();
  registry.add<Kickback>();
  registry.add<WeightPerturbation>();
  registry.add<NodePerturbation>();
}

}  // namespace fastcredit::bindings
