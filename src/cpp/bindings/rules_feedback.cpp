// Backprop and the feedback-alignment family.
#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/rules/direct_feedback_alignment.hpp"
#include "fastcredit/rules/feedback_alignment.hpp"
#include "fastcredit/rules/kolen_pollack.hpp"
#include "fastcredit/rules/sign_symmetry.hpp"
#include "registry.hpp"

namespace fastcredit::bindings {

void register_feedback_rules(Registry& registry) {
  registry.add<Backprop>();
  registry.add<FeedbackAlignment>();
  registry.add<DirectFeedbackAlignment>();
  registry.add<SignSymmetry>();
  registry.add<KolenPollack>();
}

}  // namespace fastcredit::bindings
