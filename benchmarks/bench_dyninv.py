"""Dynamic inversion on MNIST-shaped float32 data, single-threaded (run:
pytest benchmarks/bench_dyninv.py).

1. Inverting the 1000 -> 10 layer of the paper's 784-1000-10 classifier, per sample: the
   authors' form (NumPy, one sample at a time, their Euler loop, 1000 steps of 0.1 as
   RULES.md describes it) against fastcredit's batched solver on the same dynamics (same
   steps; and at the defaults: 50 steps of 0.2 with early exit; and the direct solve).
   fastcredit's time is the rule's whole direction on a batch of 2000 (forward pass and
   gradients included), so the ratio understates the inversion's own speed-up.
2. One training epoch of 784-1000-10 tanh (60000 samples, batch 128, SGD): backprop
   against DI with 50 Euler steps (no early exit) and NDI.
"""

import numpy as np
import pytest

from _ratios import RESULTS, record
import fastcredit

N, D, HIDDEN, CLASSES, BATCH = 60000, 784, 1000, 10, 128
EPOCH = dict(hidden_layer_sizes=(HIDDEN,), activation="tanh", solver="sgd", momentum=0.9, batch_size=BATCH,
             learning_rate_init=0.01, max_iter=1, random_state=0, diagnostics_every=0)
INVERSION_GROUP = "inverting the 1000 -> 10 layer, per sample"
EPOCH_GROUP = "784-1000-10 tanh epoch"
AUTHORS_STEPS, AUTHORS_DT = 1000, 0.1
PER_SAMPLE_COUNT, BATCHED_COUNT = 20, 2000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, CLASSES, N)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    """A 784-1000-10 tanh DI classifier after a short fit, its layer and errors to invert."""
    X, y = data
    est = fastcredit.DynamicInversionClassifier(**{**EPOCH, "max_iter": 1}, inversion="direct")
    est.fit(X[:5000], y[:5000])
    return est


def _authors_inversion(W, B, e, alpha, dt, steps):
    """The per-sample loop of the authors' code (sim_tools.run_linear_di_net), transcribed."""
    rx = np.zeros(W.shape[1], dtype=W.dtype)
    ry = np.zeros(W.shape[0], dtype=W.dtype)
    for _ in range(1, steps):
        ry = ry + dt * (-alpha * ry + np.dot(W, rx) - e)
        rx = rx + dt * (-rx + np.dot(B, ry))
    return rx


def test_authors_per_sample_numpy(benchmark, fitted, data):
    X, y = data
    W = fitted.coefs_[1].T.copy()  # 10 x 1000
    B = fitted.feedback_weights_[0].copy()  # 1000 x 10
    errors = fitted.predict_proba(X[:PER_SAMPLE_COUNT]) - np.eye(CLASSES, dtype=np.float32)[y[:PER_SAMPLE_COUNT]]

    def run():
        for e in errors:
            _authors_inversion(W, B, e, 0.0, AUTHORS_DT, AUTHORS_STEPS)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    # Per-sample seconds (benchmark.stats times whole calls).
    RESULTS[INVERSION_GROUP][f"authors' form, NumPy per sample, {AUTHORS_STEPS} steps"] = (
        benchmark.stats.stats.min / PER_SAMPLE_COUNT, True)


@pytest.mark.parametrize(
    "label, params",
    [
        (f"fastcredit DI, same dynamics ({AUTHORS_STEPS} steps of {AUTHORS_DT})",
         dict(inversion="dynamic", dt=AUTHORS_DT, n_steps=AUTHORS_STEPS, inversion_tol=0.0)),
        ("fastcredit DI, 50 steps of 0.2", dict(inversion="dynamic", dt=0.2, n_steps=50, inversion_tol=0.0)),
        ("fastcredit NDI (direct solve)", dict(inversion="direct")),
    ],
)
def test_fastcredit_batched_inversion(benchmark, fitted, data, label, params):
    X, y = data
    est = fitted.set_params(**params)
    Xb, yb = X[:BATCHED_COUNT], y[:BATCHED_COUNT]
    benchmark.pedantic(est._rule_direction, args=(Xb, yb), rounds=3, iterations=1, warmup_rounds=1)
    RESULTS[INVERSION_GROUP][label] = (benchmark.stats.stats.min / BATCHED_COUNT, False)


@pytest.mark.parametrize(
    "label, cls, params",
    [
        ("fastcredit BackpropClassifier", fastcredit.BackpropClassifier, {}),
        ("fastcredit DI, 50 steps", fastcredit.DynamicInversionClassifier,
         dict(inversion="dynamic", n_steps=50, inversion_tol=0.0)),
        ("fastcredit NDI", fastcredit.DynamicInversionClassifier, dict(inversion="direct")),
    ],
)
def test_epoch(benchmark, data, label, cls, params):
    X, y = data
    est = cls(**EPOCH, **params)
    benchmark.pedantic(est.fit, args=(X, y), rounds=2, iterations=1, warmup_rounds=1)
    record(benchmark, EPOCH_GROUP, label, reference=cls is fastcredit.BackpropClassifier)
