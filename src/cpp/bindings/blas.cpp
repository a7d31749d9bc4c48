// The engine's optional BLAS (fastcredit/gemm.hpp): an OpenBLAS shared library opened at
// run time, by default scipy-openblas from PyPI (fastcredit/_gemm_backend.py finds it).
// Opening it here rather than linking it keeps the build free of BLAS and lets a missing
// or broken library fall back to Eigen instead of failing the import.
#include "blas.hpp"

#include <string>

#include "fastcredit/eigenvalues.hpp"
#include "fastcredit/gemm.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#define FASTCREDIT_HAS_DLOPEN 1
#endif

namespace py = pybind11;

namespace fastcredit::bindings {
namespace {

struct LoadedBlas {
  CblasGemm<float> sgemm = nullptr;
  CblasGemm<double> dgemm = nullptr;
  LapackDgeev dgeev = nullptr;  // optional: OpenBLAS builds without LAPACK lack it
  std::string description;
};

LoadedBlas& loaded() {
  static LoadedBlas blas;
  return blas;
}

#ifdef FASTCREDIT_HAS_DLOPEN
/// The symbol under scipy-openblas's prefix, else under OpenBLAS's plain name.
void* find_symbol(void* handle, const std::string& name) {
  if (void* p = dlsym(handle, ("scipy_" + name).c_str())) return p;
  return dlsym(handle, name.c_str());
}
#endif

/// Opens the library at `path` (never closed) and pins it to one thread (a fit is one
/// core's work; sweeps run many fits side by side); use_blas(true) makes it the engine's GEMM.
std::string load_blas(const std::string& path) {
#ifdef FASTCREDIT_HAS_DLOPEN
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(std::string("cannot open BLAS: ") + dlerror());
  auto sgemm = reinterpret_cast<CblasGemm<float>>(find_symbol(handle, "cblas_sgemm"));
  auto dgemm = reinterpret_cast<CblasGemm<double>>(find_symbol(handle, "cblas_dgemm"));
  if (sgemm == nullptr || dgemm == nullptr) throw std::runtime_error(path + " has no cblas_sgemm/cblas_dgemm");
  if (auto set_threads = reinterpret_cast<void (*)(int)>(find_symbol(handle, "openblas_set_num_threads")))
    set_threads(1);
  std::string description = "OpenBLAS";
  if (auto config = reinterpret_cast<const char* (*)()>(find_symbol(handle, "openblas_get_config")))
    description = config();
  if (auto core = reinterpret_cast<const char* (*)()>(find_symbol(handle, "openblas_get_corename")))
    description += std::string(" (kernels: ") + core() + ")";
  auto dgeev = reinterpret_cast<LapackDgeev>(find_symbol(handle, "dgeev_"));
  loaded() = {sgemm, dgemm, dgeev, description};
  return description;
#else
  (void)path;
  throw std::runtime_error("loading a BLAS at run time is not supported on this platform");
#endif
}

/// Switches the engine between the loaded BLAS (true) and Eigen alone (false).
void use_blas(bool enabled) {
  if (enabled && loaded().sgemm == nullptr) throw std::runtime_error("no BLAS has been loaded");
  BlasBackend<float>::gemm = enabled ? loaded().sgemm : nullptr;
  BlasBackend<double>::gemm = enabled ? loaded().dgemm : nullptr;
  LapackBackend::dgeev = enabled ? loaded().dgeev : nullptr;
}

}  // namespace

void bind_blas(py::module_& m) {
  m.def("load_blas", &load_blas, py::arg("path"),
        "Open an OpenBLAS shared library (single-threaded) for use_blas(True). Returns its "
        "configuration string.");
  m.def("use_blas", &use_blas, py::arg("enabled"),
        "Route large products (and, where the library has LAPACK, the eigenvalues of dynamic "
        "inversion's stability check) through the loaded BLAS (True) or compute them all with "
        "Eigen (False).");
  m.def(
      "blas_in_use", [] { return BlasBackend<float>::gemm.load() != nullptr; },
      "Whether large products currently go through the loaded BLAS.");
  m.def(
      "lapack_in_use", [] { return LapackBackend::dgeev.load() != nullptr; },
      "Whether dynamic inversion's stability check currently computes eigenvalues with the "
      "loaded library's LAPACK (dgeev) rather than Eigen.");
  m.def(
      "set_blas_min_work",
      [](double work) {
        BlasBackend<double>::min_work = work;
        return BlasBackend<float>::min_work.exchange(work);
      },
      py::arg("work"), "Products with fewer multiply-adds (m n k) than this stay with Eigen. Returns the old value.");
}

}  // namespace fastcredit::bindings
