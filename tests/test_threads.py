"""Thread safety: the engine releases the GIL, so estimators fit and predict concurrently
from Python threads; each result must equal the one computed alone."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.datasets import load_digits

import fastcredit

ESTIMATORS = [getattr(fastcredit, name) for name in fastcredit.__all__ if name.endswith(("Classifier", "Regressor"))]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _make(cls, seed, dtype):
    # Different sizes and seeds per job, so that a mixed-up buffer would show; no layer
    # widens towards the output (dynamic inversion refuses that without a leak).
    return cls(hidden_layer_sizes=(24 + 4 * (seed % 3),), max_iter=3, random_state=seed, dtype=dtype)


def _target(cls, y):
    return y if hasattr(cls, "predict_proba") else y / 10.0


def _fit(cls, seed, dtype, X, y):
    return _make(cls, seed, dtype).fit(X, _target(cls, y))


def _weights(est):
    return est.coefs_ + est.intercepts_ + [np.asarray(est.loss_curve_)]


def test_concurrent_fits_equal_sequential_fits(digits):
    X, y = digits
    jobs = [(cls, seed, dtype) for cls in ESTIMATORS for seed in range(3) for dtype in ("float32", "float64")]
    sequential = [_fit(cls, seed, dtype, X, y) for cls, seed, dtype in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda job: _fit(*job, X, y), jobs))
    for job, a, b in zip(jobs, sequential, concurrent):
        for wa, wb in zip(_weights(a), _weights(b)):
            assert np.array_equal(wa, wb), job


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_predict_while_another_thread_fits(cls, digits):
    X, y = digits
    fitted = _fit(cls, 0, "float64", X, y)
    expected = fitted.predict(X)
    busy = cls(hidden_layer_sizes=(64,), max_iter=20, tol=0, n_iter_no_change=np.inf, random_state=1)
    trainer = threading.Thread(target=busy.fit, args=(X, _target(cls, y)))
    overlapped = 0
    trainer.start()
    while trainer.is_alive():
        assert np.array_equal(fitted.predict(X), expected)
        overlapped += trainer.is_alive()
    trainer.join()
    assert overlapped > 0, "the fit ended before a single predict ran: make it longer"
    assert busy.n_iter_ == 20
    reference = cls(hidden_layer_sizes=(64,), max_iter=20, tol=0, n_iter_no_change=np.inf, random_state=1)
    for wa, wb in zip(_weights(busy), _weights(reference.fit(X, _target(cls, y)))):
        assert np.array_equal(wa, wb)


def test_one_fitted_estimator_predicts_from_many_threads(digits):
    X, y = digits
    for cls in ESTIMATORS:
        est = _fit(cls, 2, "float32", X, y)
        expected = est.predict(X)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: est.predict(X), range(16)))
        assert all(np.array_equal(r, expected) for r in results), cls.__name__
