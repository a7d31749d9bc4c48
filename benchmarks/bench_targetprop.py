"""One epoch of MNIST-shaped float32 data (60000 x 784) through Bartunov et al.'s network
(784-5x256-10 tanh, Adam, batch 100), single-threaded: target propagation against backprop
on the same net. Target: a DTP epoch costs at most 2.5x a backprop epoch.
Run: pytest benchmarks/bench_targetprop.py
"""

import pytest

from _ratios import record
from bench_epoch import data  # noqa: F401  (the same MNIST-shaped random data, a fixture)
import fastcredit

HIDDEN = (256,) * 5
NET = dict(hidden_layer_sizes=HIDDEN, activation="tanh", solver="adam", batch_size=100, max_iter=1, random_state=0,
           diagnostics_every=0)
GROUP = "Target propagation epoch, 784-5x256-10 tanh"


def _epoch(benchmark, data, estimator, name, reference=False):
    X, y = data
    benchmark.pedantic(estimator.fit, args=(X, y), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, name, reference=reference)


def test_backprop_epoch(benchmark, data):
    _epoch(benchmark, data, fastcredit.BackpropClassifier(**NET), "backprop", reference=True)


@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
def test_dtp_epoch(benchmark, data, schedule):
    est = fastcredit.DifferenceTargetPropagationClassifier(**NET, schedule=schedule)
    _epoch(benchmark, data, est, f"DTP ({schedule})")


@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
def test_sdtp_epoch(benchmark, data, schedule):
    est = fastcredit.SimplifiedDTPClassifier(**NET, schedule=schedule)
    _epoch(benchmark, data, est, f"SDTP ({schedule})")


def test_aosdtp_epoch(benchmark, data):
    est = fastcredit.AuxiliaryOutputSDTPClassifier(**NET, auxiliary_output_size=512)
    _epoch(benchmark, data, est, "AO-SDTP (alternating, 512 auxiliary outputs)")
