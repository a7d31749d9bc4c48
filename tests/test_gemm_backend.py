"""The engine's two product backends (OpenBLAS, Eigen): every rule computes the same fit
with either, up to the rounding of the products, and the switch behaves."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

import fastcredit
from fastcredit import _core

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
ESTIMATORS = [name for name in fastcredit.__all__ if name.endswith(("Classifier", "Regressor"))]

openblas = pytest.mark.skipif(
    not fastcredit.gemm_backend().startswith("openblas"), reason="OpenBLAS (scipy-openblas32) is not in use"
)


def test_openblas_is_in_use_wherever_its_wheel_is_installed():
    # The tests below skip without OpenBLAS (machines without the wheel keep Eigen quietly);
    # where the wheel is installed, as in CI, a broken load must fail here, not hide as skips.
    if importlib.util.find_spec("scipy_openblas32") is None:
        pytest.skip("scipy-openblas32 is not installed: Eigen alone is the documented fallback")
    if os.environ.get("FASTCREDIT_GEMM") == "eigen":
        pytest.skip("FASTCREDIT_GEMM=eigen asks for Eigen alone")
    assert fastcredit.gemm_backend().startswith("openblas"), fastcredit.gemm_backend()
    # scipy-openblas has LAPACK: dynamic inversion's stability check uses its dgeev (Eigen's
    # eigensolver is about 30x slower at n = 256, a third of a DI epoch).
    assert _core.lapack_in_use()


@pytest.fixture
def restore_backend():
    before = "openblas" if fastcredit.gemm_backend().startswith("openblas") else "eigen"
    yield
    fastcredit.set_gemm_backend(before)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:256] / 16.0, y[:256]


def fit(name, backend, X, y, dtype="float64"):
    fastcredit.set_gemm_backend(backend)
    cls = getattr(fastcredit, name)
    target = y if hasattr(cls, "predict_proba") else y / 10.0
    # Layers and batch large enough (64 x 64 x 48 and up) that products go to the BLAS.
    return cls(hidden_layer_sizes=(64, 48), batch_size=64, max_iter=2, random_state=3, dtype=dtype).fit(X, target)


@pytest.fixture(params=["large products", "every product"])
def blas_min_work(request):
    """Only products above the engine's size threshold go to the BLAS, or all of them
    (then vectors, single rows and blocks of every rule reach it too)."""
    before = _core.set_blas_min_work(0.0) if request.param == "every product" else None
    yield
    if before is not None:
        _core.set_blas_min_work(before)


@openblas
@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_rule_fits_the_same_with_either_backend(name, digits, restore_backend, blas_min_work):
    """The Eigen path is checked against NumPy by each rule's reference tests; the same
    fit through OpenBLAS (different operand layouts: transposes, blocks, accumulation
    into an output) must agree with it to rounding."""
    X, y = digits
    with_blas, with_eigen = fit(name, "openblas", X, y), fit(name, "eigen", X, y)
    for a, b in zip(with_blas.coefs_ + with_blas.intercepts_, with_eigen.coefs_ + with_eigen.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(with_blas.loss_curve_, with_eigen.loss_curve_, rtol=1e-10)


@openblas
def test_blas_fit_is_deterministic_in_float32(digits, restore_backend):
    X, y = digits
    first = fit("BackpropClassifier", "openblas", X, y, dtype="float32")
    second = fit("BackpropClassifier", "openblas", X, y, dtype="float32")
    for a, b in zip(first.coefs_, second.coefs_):
        np.testing.assert_array_equal(a, b)


@openblas
def test_switching_backends(restore_backend):
    assert fastcredit.set_gemm_backend("eigen") == "eigen"
    assert fastcredit.gemm_backend() == "eigen" and not _core.lapack_in_use()
    assert fastcredit.set_gemm_backend("openblas").startswith("openblas: OpenBLAS")
    assert _core.lapack_in_use()


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="gemm backend must be one of"):
        fastcredit.set_gemm_backend("mkl")


def test_environment_variable_selects_eigen():
    env = dict(os.environ, FASTCREDIT_GEMM="eigen")
    out = subprocess.run(
        [sys.executable, "-c", "import fastcredit; print(fastcredit.gemm_backend())"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "eigen"


def test_without_openblas_the_engine_uses_eigen():
    """A missing scipy-openblas32 (installed with --no-deps, an unsupported platform) is
    not an error: fastcredit imports quietly, fits with Eigen, and says so."""
    code = (
        "import sys, warnings; sys.modules['scipy_openblas32'] = None\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('error')\n"
        "    import numpy as np, fastcredit\n"
        "warnings.simplefilter('ignore')\n"
        "X = np.random.default_rng(0).random((200, 5)); y = (X[:, 0] > X[:, 1]).astype(int)\n"
        "est = fastcredit.BackpropClassifier(hidden_layer_sizes=(8,), max_iter=200, learning_rate_init=0.05,\n"
        "                                    random_state=0).fit(X, y)\n"
        "print(fastcredit.gemm_backend(), est.score(X, y) > 0.9)\n"
        "try:\n"
        "    fastcredit.set_gemm_backend('openblas')\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "eigen True"
    assert out[1].startswith("refused: OpenBLAS is unavailable") and "scipy-openblas32" in out[1]
