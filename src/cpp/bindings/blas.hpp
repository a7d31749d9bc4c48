// Registers `_core.load_blas` / `_core.use_blas` (blas.cpp) on the module.
#pragma once

#include <pybind11/pybind11.h>

namespace fastcredit::bindings {

void bind_blas(pybind11::module_& m);

}  // namespace fastcredit::bindings
