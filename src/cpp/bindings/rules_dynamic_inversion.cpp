// Dynamic inversion (DI, NDI, nonlinear DI, single-loop DI).
#include "fastcredit/rules/dynamic_inversion.hpp"
#include "registry.hpp"

namespace fastcredit::bindings {

void register_dynamic_inversion_rules(Registry& registry) {
  registry.add<DynamicInversion>();
}

}  // namespace fastcredit::bindings
