// Registers `_core.sweep` (sweep.cpp) on the module.
#pragma once

#include <pybind11/pybind11.h>

namespace fastcredit::bindings {

void bind_sweep(pybind11::module_& m);

}  // namespace fastcredit::bindings
