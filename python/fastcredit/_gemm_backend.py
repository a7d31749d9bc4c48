"""Which library computes the engine's large matrix products: OpenBLAS or Eigen.

At import fastcredit opens scipy-openblas (the ``scipy-openblas32`` package from PyPI, a
dependency) and routes the batch loop's large products through it, single-threaded;
small products, and everything when OpenBLAS is unavailable, stay with Eigen. On the
machines we measure OpenBLAS runs an MNIST-sized epoch markedly faster than Eigen 3.4
(``benchmarks/bench_epoch.py`` reports both). Set ``FASTCREDIT_GEMM=eigen`` before the
import, or call :func:`set_gemm_backend`, to use Eigen alone.

Results depend on the backend through the rounding of the products (not on threads or
scheduling): a seeded fit is reproducible under the same backend and library build.
OpenBLAS chooses its kernels for the CPU at run time (``OPENBLAS_CORETYPE`` overrides
that choice, and with it the last bits of a fit).
"""

from __future__ import annotations

import glob
import os
import warnings

from . import _core

_BACKENDS = ("openblas", "eigen")
_openblas_description: str | None = None
_openblas_error: str | None = None


def _openblas_library() -> str:
    import scipy_openblas32

    lib_dir = scipy_openblas32.get_lib_dir()
    candidates = sorted(glob.glob(os.path.join(lib_dir, "*scipy_openblas*")))
    candidates = [c for c in candidates if c.endswith((".so", ".dylib", ".dll")) or ".so." in c]
    if not candidates:
        raise OSError(f"no OpenBLAS shared library in {lib_dir}")
    return candidates[0]


def _load_openblas() -> str:
    """Open scipy-openblas once; returns its description or raises RuntimeError."""
    global _openblas_description, _openblas_error
    if _openblas_description is None:
        if _openblas_error is not None:
            raise RuntimeError(_openblas_error)
        try:
            _openblas_description = _core.load_blas(_openblas_library())
        except (ImportError, OSError, RuntimeError) as exc:
            _openblas_error = f"OpenBLAS is unavailable ({exc}); install scipy-openblas32"
            raise RuntimeError(_openblas_error) from exc
    return _openblas_description


def set_gemm_backend(name: str) -> str:
    """Compute the engine's large matrix products with ``"openblas"`` or ``"eigen"``.

    Applies to fits started afterwards, in every thread. Returns :func:`gemm_backend`'s
    description. Raises ValueError for an unknown name and RuntimeError when OpenBLAS
    cannot be loaded.
    """
    if name not in _BACKENDS:
        raise ValueError(f"gemm backend must be one of {_BACKENDS}, got {name!r}")
    if name == "openblas":
        _load_openblas()
    _core.use_blas(name == "openblas")
    return gemm_backend()


def gemm_backend() -> str:
    """``"openblas: <its configuration>"`` or ``"eigen"``: what computes large products now."""
    if _core.blas_in_use():
        return f"openblas: {_openblas_description}"
    return "eigen"


def _select_at_import() -> None:
    choice = os.environ.get("FASTCREDIT_GEMM", "").strip().lower() or "auto"
    if choice == "eigen":
        return
    if choice not in ("auto", "openblas"):
        warnings.warn(f"FASTCREDIT_GEMM={choice!r} is not 'openblas' or 'eigen'; using the default", stacklevel=3)
    try:
        set_gemm_backend("openblas")
    except RuntimeError as exc:
        if choice == "openblas":
            warnings.warn(f"FASTCREDIT_GEMM=openblas: {exc}; using Eigen", stacklevel=3)
