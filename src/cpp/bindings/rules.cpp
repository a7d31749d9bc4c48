// One line per learning rule.
#include "registry.hpp"

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/kickback.hpp"
#include "fastcredit/rules/direct_feedback_alignment.hpp"
#include "fastcredit/rules/feedback_alignment.hpp"
#include "fastcredit/rules/kolen_pollack.hpp"
#include "fastcredit/rules/sign_symmetry.hpp"
#include "fastcredit/rules/node_perturbation.hpp"
#include "fastcredit/rules/weight_perturbation.hpp"
#include "fastcredit/rules/target_propagation.hpp"
#include "fastcredit/rules/dynamic_inversion.hpp"

namespace fastcredit::bindings {

void register_rules(Registry& registry) {
  registry.add<Backprop>();
  registry.add<Kickback>();
  registry.add<FeedbackAlignment>();
  registry.add<DirectFeedbackAlignment>();
  registry.add<SignSymmetry>();
  registry.add<KolenPollack>();
  registry.add<WeightPerturbation>();
  registry.add<NodePerturbation>();
  registry.add<DifferenceTargetPropagation>();
  registry.add<SimplifiedTargetPropagation>();
  registry.add<DynamicInversion>();
}

}  // namespace fastcredit::bindings
