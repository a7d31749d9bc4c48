"""Kickback against backprop on the same regression net, single-threaded, diagnostics off:
50 epochs of a diabetes-sized problem (442 x 10, 10-64-64-64-1, batch 32) and one epoch
of an MNIST-sized one (60000 x 784 float32, 784-256-256-1, batch 128), Nesterov SGD.
Kickback is timed with coherence enforced (a projection after every step) and without.
Run: pytest benchmarks/bench_kickback.py
"""

import numpy as np
import pytest

from _ratios import record
import fastcredit

PROBLEMS = {
    "diabetes-sized regression, 50 epochs": dict(n=442, d=10, hidden=(64, 64, 64), batch=32, epochs=50, rounds=5),
    "MNIST-sized regression, 1 epoch": dict(n=60000, d=784, hidden=(256, 256), batch=128, epochs=1, rounds=3),
}
RULES = {
    "fastcredit BackpropRegressor": (fastcredit.BackpropRegressor, {}),
    "fastcredit KickbackRegressor (coherent)": (fastcredit.KickbackRegressor, {"coherent": True}),
    "fastcredit KickbackRegressor (not enforced)": (fastcredit.KickbackRegressor, {"coherent": False}),
}


@pytest.fixture(scope="module", params=list(PROBLEMS))
def problem(request):
    p = PROBLEMS[request.param]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((p["n"], p["d"])).astype(np.float32)
    y = (np.tanh(X @ rng.standard_normal(p["d"]) / np.sqrt(p["d"])) + 0.1 * rng.standard_normal(p["n"]))
    return request.param, p, X, y.astype(np.float32)


@pytest.mark.parametrize("rule", list(RULES))
def test_regression_epochs(benchmark, problem, rule):
    group, p, X, y = problem
    cls, extra = RULES[rule]
    est = cls(
        hidden_layer_sizes=p["hidden"], solver="sgd", momentum=0.9, learning_rate_init=1e-3, batch_size=p["batch"],
        max_iter=p["epochs"], tol=0.0, n_iter_no_change=p["epochs"], random_state=0, diagnostics_every=0, **extra,
    )
    benchmark.pedantic(est.fit, args=(X, y), rounds=p["rounds"], iterations=1, warmup_rounds=1)
    assert est.n_iter_ == p["epochs"]
    record(benchmark, group, rule, reference=cls is fastcredit.BackpropRegressor)
