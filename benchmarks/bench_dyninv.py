"""Dynamic inversion on MNIST-shaped float32 data, single-threaded (run:
pytest benchmarks/bench_dyninv.py).

1. Inverting the 1000 -> 10 layer of the paper's 784-1000-10 classifier, per sample: the
   authors' form (NumPy, one sample at a time, their Euler loop, 1000 steps of 0.1 as
   RULES.md describes it) against fastcredit's batched solver on the same dynamics (same
   steps; and at the defaults: 50 steps of 0.2 with early exit; and the direct solve).
   fastcredit's time is a whole training epoch of a 1-1000-10 network on 2000 samples
   (batch 200) divided by 2000 (see `inversion_problem`): forward pass, gradients and
   updates included, an upper bound on the inversion's time (the ratio a lower bound).
2. One training epoch of 784-1000-10 tanh (60000 samples, batch 128, SGD): backprop
   against DI with 50 Euler steps (no early exit) and NDI.
3. Deep nets, 784-256-256-10 (batch 128) and Bartunov's 784-5x256-10 (batch 100), tanh,
   Adam, 20000 samples: every inversion against backprop's epoch.
4. Online learning, the protocol of Podlaski & Machens: 784-1000-10 tanh, batch 1, plain
   SGD, 3000 samples, diagnostics off, per sample: backprop, DI and NDI against a
   hand-written NumPy per-sample backprop loop.
"""

import warnings

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
AUTHORS_SECONDS = []  # per sample, filled by test_authors_per_sample_numpy (runs first)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, CLASSES, N)
    return X, y


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():  # module-scoped fixtures run outside conftest's filter
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.fixture(scope="module")
def inversion_problem():
    """The 1000 -> 10 layer to invert, in a 1-1000-10 tanh network: its one-unit input
    layer keeps the rest of an epoch (forward pass, gradients, updates) small."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCHED_COUNT, 1)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCHED_COUNT)
    small = {**EPOCH, "batch_size": BATCHED_COUNT // 10}
    di = _quiet_fit(fastcredit.DynamicInversionClassifier(**small, inversion="direct"), X, y)
    return di, X, y


def _authors_inversion(W, B, e, alpha, dt, steps):
    """The per-sample loop of the authors' code (sim_tools.run_linear_di_net), transcribed."""
    rx = np.zeros(W.shape[1], dtype=W.dtype)
    ry = np.zeros(W.shape[0], dtype=W.dtype)
    for _ in range(1, steps):
        ry = ry + dt * (-alpha * ry + np.dot(W, rx) - e)
        rx = rx + dt * (-rx + np.dot(B, ry))
    return rx


def test_authors_per_sample_numpy(benchmark, inversion_problem):
    di, X, y = inversion_problem
    W = di.coefs_[1].T.copy()  # 10 x 1000
    B = di.feedback_weights_[0].copy()  # 1000 x 10
    errors = di.predict_proba(X[:PER_SAMPLE_COUNT]) - np.eye(CLASSES, dtype=np.float32)[y[:PER_SAMPLE_COUNT]]

    def run():
        for e in errors:
            _authors_inversion(W, B, e, 0.0, AUTHORS_DT, AUTHORS_STEPS)

    benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    AUTHORS_SECONDS.append(benchmark.stats.stats.min / PER_SAMPLE_COUNT)


@pytest.mark.parametrize(
    "label, params",
    [
        (f"fastcredit DI, same dynamics ({AUTHORS_STEPS} steps of {AUTHORS_DT})",
         dict(inversion="dynamic", dt=AUTHORS_DT, n_steps=AUTHORS_STEPS, inversion_tol=0.0)),
        ("fastcredit DI, 50 steps of 0.2", dict(inversion="dynamic", dt=0.2, n_steps=50, inversion_tol=0.0)),
        ("fastcredit NDI (direct solve)", dict(inversion="direct")),
    ],
)
def test_fastcredit_batched_inversion(benchmark, inversion_problem, label, params):
    di, X, y = inversion_problem
    di.set_params(**params)
    benchmark.pedantic(di.fit, args=(X, y), rounds=3, iterations=1, warmup_rounds=1)
    # One group per variant, the variant as reference: the authors' line reads as the speed-up.
    group = f"{INVERSION_GROUP}: {label}"
    RESULTS[group][label] = (benchmark.stats.stats.min / BATCHED_COUNT, True)
    if AUTHORS_SECONDS:
        RESULTS[group][f"authors' form, NumPy per sample, {AUTHORS_STEPS} steps"] = (AUTHORS_SECONDS[0], False)


# Backprop (the reference) and the inversions, as the epoch benchmarks run them.
VARIANTS = [
    ("fastcredit BackpropClassifier", fastcredit.BackpropClassifier, {}),
    ("fastcredit DI, 50 steps", fastcredit.DynamicInversionClassifier,
     dict(inversion="dynamic", n_steps=50, inversion_tol=0.0)),
    ("fastcredit NDI", fastcredit.DynamicInversionClassifier, dict(inversion="direct")),
    ("fastcredit nonlinear DI", fastcredit.DynamicInversionClassifier, dict(inversion="nonlinear")),
    ("fastcredit single-loop DI", fastcredit.DynamicInversionClassifier, dict(inversion="single_loop")),
]


@pytest.mark.parametrize("label, cls, params", VARIANTS[:3])
def test_epoch(benchmark, data, label, cls, params):
    X, y = data
    est = cls(**EPOCH, **params)
    benchmark.pedantic(est.fit, args=(X, y), rounds=2, iterations=1, warmup_rounds=1)
    record(benchmark, EPOCH_GROUP, label, reference=cls is fastcredit.BackpropClassifier)


DEEP = {"784-256-256-10 tanh epoch, batch 128": ((256, 256), 128),
        "784-5x256-10 tanh epoch, batch 100": ((256,) * 5, 100)}
DEEP_SAMPLES = 20000


@pytest.mark.parametrize("group", list(DEEP))
@pytest.mark.parametrize("label, cls, params", VARIANTS)
def test_deep_epoch(benchmark, data, group, label, cls, params):
    X, y = data
    hidden, batch = DEEP[group]
    est = cls(hidden_layer_sizes=hidden, activation="tanh", solver="adam", batch_size=batch, max_iter=1,
              random_state=0, diagnostics_every=0, **params)
    benchmark.pedantic(est.fit, args=(X[:DEEP_SAMPLES], y[:DEEP_SAMPLES]), rounds=2, iterations=1, warmup_rounds=1)
    record(benchmark, group, label, reference=cls is fastcredit.BackpropClassifier)


ONLINE_GROUP = "online 784-1000-10 tanh, batch 1, plain SGD, per sample"
ONLINE_SAMPLES = 3000
ONLINE = dict(hidden_layer_sizes=(HIDDEN,), activation="tanh", solver="sgd", momentum=0.0, batch_size=1,
              learning_rate_init=1e-3, max_iter=1, random_state=0, diagnostics_every=0, shuffle=False)


@pytest.mark.parametrize(
    "label, cls, params",
    [
        ("fastcredit BackpropClassifier", fastcredit.BackpropClassifier, {}),
        ("fastcredit DI (defaults)", fastcredit.DynamicInversionClassifier, {}),
        ("fastcredit NDI", fastcredit.DynamicInversionClassifier, dict(inversion="direct")),
    ],
)
def test_online_per_sample(benchmark, data, label, cls, params):
    X, y = data
    est = cls(**ONLINE, **params)
    benchmark.pedantic(est.fit, args=(X[:ONLINE_SAMPLES], y[:ONLINE_SAMPLES]), rounds=3, iterations=1,
                       warmup_rounds=1)
    RESULTS[ONLINE_GROUP][label] = (benchmark.stats.stats.min / ONLINE_SAMPLES, cls is fastcredit.BackpropClassifier)


def _numpy_online_epoch(X, Y, W1, b1, W2, b2, lr):
    """Per-sample backprop of a tanh-softmax net, written the way one would in NumPy."""
    for x, t in zip(X, Y):
        h = np.tanh(x @ W1 + b1)
        a = h @ W2 + b2
        p = np.exp(a - a.max())
        p /= p.sum()
        d2 = p - t
        d1 = (W2 @ d2) * (1 - h * h)
        W2 -= lr * np.outer(h, d2)
        b2 -= lr * d2
        W1 -= lr * np.outer(x, d1)
        b1 -= lr * d1


def test_online_numpy_per_sample(benchmark, data):
    X, y = data
    rng = np.random.default_rng(0)
    W1 = (rng.standard_normal((D, HIDDEN)) * 0.03).astype(np.float32)
    W2 = (rng.standard_normal((HIDDEN, CLASSES)) * 0.03).astype(np.float32)
    b1, b2 = np.zeros(HIDDEN, np.float32), np.zeros(CLASSES, np.float32)
    Y = np.eye(CLASSES, dtype=np.float32)[y[:ONLINE_SAMPLES]]
    benchmark.pedantic(_numpy_online_epoch, args=(X[:ONLINE_SAMPLES], Y, W1, b1, W2, b2, np.float32(1e-3)),
                       rounds=3, iterations=1, warmup_rounds=1)
    RESULTS[ONLINE_GROUP]["NumPy per-sample loop (backprop)"] = (benchmark.stats.stats.min / ONLINE_SAMPLES, False)
