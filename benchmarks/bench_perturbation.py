"""Weight and node perturbation: time per training step on the MNIST-shaped network
(784-256-256-10 ReLU, batch 128, float32, plain SGD, diagnostics off, single thread),
next to backprop's. A WP draw costs one normal per parameter (~270k) and a forward pass;
an NP draw a normal per unit and sample and a forward pass above the first layer.
Run: pytest benchmarks/bench_perturbation.py
"""

import numpy as np
import pytest

from _ratios import RESULTS
import fastcredit

D, HIDDEN, CLASSES, BATCH, STEPS = 784, (256, 256), 10, 128, 100
COMMON = dict(hidden_layer_sizes=HIDDEN, solver="sgd", momentum=0.9, batch_size=BATCH, learning_rate_init=0.01,
              max_iter=1, random_state=0, diagnostics_every=0)
GROUP = "MNIST-shaped training step (seconds per 1000 steps)"

CASES = {
    "fastcredit BackpropClassifier": (fastcredit.BackpropClassifier, {}),
    "WeightPerturbation (1 draw)": (fastcredit.WeightPerturbationClassifier, {}),
    "WeightPerturbation (1 antithetic pair)": (fastcredit.WeightPerturbationClassifier, {"antithetic": True}),
    "NodePerturbation (1 draw)": (fastcredit.NodePerturbationClassifier, {}),
    "NodePerturbation (1 antithetic pair)": (fastcredit.NodePerturbationClassifier, {"antithetic": True}),
}


@pytest.fixture(scope="module")
def data():
    """STEPS full batches of MNIST-shaped float32 data: one epoch is STEPS steps."""
    rng = np.random.default_rng(0)
    X = rng.random((STEPS * BATCH, D), dtype=np.float32)
    y = rng.integers(0, CLASSES, STEPS * BATCH)
    return X, y


@pytest.mark.parametrize("name", list(CASES))
def test_time_per_step(benchmark, data, name):
    cls, params = CASES[name]
    est = cls(**COMMON, **params)
    benchmark.pedantic(est.fit, args=data, rounds=5, iterations=1, warmup_rounds=1)
    assert est.t_ == STEPS * BATCH
    RESULTS[GROUP][name] = (benchmark.stats.stats.min / STEPS * 1000, name == "fastcredit BackpropClassifier")
