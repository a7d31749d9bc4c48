"""One epoch of MNIST-shaped float32 data (60000 x 784) through Bartunov et al.'s network
(784-5x256-10 tanh, Adam, batch 100), single-threaded: target propagation against backprop
on the same net. Target: a DTP epoch costs at most 2.5x a backprop epoch.
Run: pytest benchmarks/bench_targetprop.py
"""

import pytest

from _ratios import record
import fastcredit

HIDDEN = (256,) * 5
NET = dict(hidden_layer_sizes=HIDDEN, activation="tanh", solver="adam", batch_size=100, max_iter=1, random_state=0,
           diagnostics_every=0)
GROUP = "Target propagation epoch, 784-5x256-10 tanh"


def _epoch(benchmark, mnist_shaped, estimator, name, reference=False):
    X, y = mnist_shaped
    benchmark.pedantic(estimator.fit, args=(X, y), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, name, reference=reference)


def test_backprop_epoch(benchmark, mnist_shaped):
    _epoch(benchmark, mnist_shaped, fastcredit.BackpropClassifier(**NET), "backprop", reference=True)


@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
def test_dtp_epoch(benchmark, mnist_shaped, schedule):
    est = fastcredit.DifferenceTargetPropagationClassifier(**NET, schedule=schedule)
    _epoch(benchmark, mnist_shaped, est, f"DTP ({schedule})")


@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
def test_sdtp_epoch(benchmark, mnist_shaped, schedule):
    est = fastcredit.SimplifiedDTPClassifier(**NET, schedule=schedule)
    _epoch(benchmark, mnist_shaped, est, f"SDTP ({schedule})")


def test_aosdtp_epoch(benchmark, mnist_shaped):
    est = fastcredit.AuxiliaryOutputSDTPClassifier(**NET, auxiliary_output_size=512)
    _epoch(benchmark, mnist_shaped, est, "AO-SDTP (alternating, 512 auxiliary outputs)")
