"""32 small fits (digits, 64-32-10 ReLU, 20 epochs, batch 32, Adam, float64): fastcredit.sweep
on 1 and 2 engine threads against a scikit-learn MLPClassifier loop, the same fits with
joblib on 2 processes, and a plain loop of fastcredit fits; then the peak memory of a
1000-fit sweep. Run: pytest benchmarks/bench_sweep.py (the summary prints fits/s).

Fits/s and the 1 -> 2 thread speed-up only mean something on a quiet machine: on a shared
one the second thread competes with other processes for the second core.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from _ratios import RESULTS, record
import fastcredit

N_FITS = 32
SETTINGS = dict(hidden_layer_sizes=(32,), max_iter=20, batch_size=32)
GROUP = f"{N_FITS}-fit digits sweep"
FITS_PER_SECOND = {}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X / 16.0), y


def _report(request, lines):
    """Write to the terminal now (the conftest's summary only knows times and ratios)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def _fits_per_second_summary(request):
    yield
    lines = [f"== {GROUP}: fits per second (best round) =="]
    for name, rate in sorted(FITS_PER_SECOND.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<48} {rate:8.1f} fits/s")
    one, two = FITS_PER_SECOND.get("fastcredit.sweep, 1 thread"), FITS_PER_SECOND.get("fastcredit.sweep, 2 threads")
    if one and two:
        lines.append(f"  fastcredit.sweep 1 -> 2 threads: {two / one:.2f}x")
    _report(request, lines)


def _record(benchmark, name, reference=False):
    record(benchmark, GROUP, name, reference)
    FITS_PER_SECOND[name] = N_FITS / RESULTS[GROUP][name][0]


def _sklearn_fit(X, y, seed):
    return MLPClassifier(**SETTINGS, random_state=seed).fit(X, y).n_iter_


def _fastcredit_estimator(**kw):
    return fastcredit.BackpropClassifier(**SETTINGS, diagnostics_every=0, **kw)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_fastcredit_sweep(benchmark, digits, n_jobs):
    X, y = digits

    def run():
        table = fastcredit.sweep(_fastcredit_estimator(), X, y, seeds=range(N_FITS), validation=None,
                                 n_jobs=n_jobs, progress=False)
        assert (table["status"] == "ok").all()

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _record(benchmark, f"fastcredit.sweep, {n_jobs} thread{'s' if n_jobs > 1 else ''}", reference=n_jobs == 2)


def test_fastcredit_sweep_float32(benchmark, digits):
    X, y = digits
    X = X.astype(np.float32)
    benchmark.pedantic(fastcredit.sweep, args=(_fastcredit_estimator(), X, y),
                       kwargs=dict(seeds=range(N_FITS), validation=None, n_jobs=2, progress=False),
                       rounds=3, iterations=1, warmup_rounds=1)
    _record(benchmark, "fastcredit.sweep, 2 threads, float32")


def test_fastcredit_fit_loop(benchmark, digits):
    X, y = digits
    benchmark.pedantic(lambda: [_fastcredit_estimator(random_state=s).fit(X, y) for s in range(N_FITS)],
                       rounds=2, iterations=1, warmup_rounds=1)
    _record(benchmark, "fastcredit fit() loop, 1 thread")


def test_sklearn_loop(benchmark, digits):
    X, y = digits
    benchmark.pedantic(lambda: [_sklearn_fit(X, y, s) for s in range(N_FITS)], rounds=1, iterations=1)
    _record(benchmark, "scikit-learn MLPClassifier loop")


def test_sklearn_joblib_two_processes(benchmark, digits):
    X, y = digits
    parallel = Parallel(n_jobs=2, backend="loky")
    # The warm-up round starts the worker processes: what is timed is the steady state.
    benchmark.pedantic(lambda: parallel(delayed(_sklearn_fit)(X, y, s) for s in range(N_FITS)),
                       rounds=1, iterations=1, warmup_rounds=1)
    _record(benchmark, "scikit-learn MLPClassifier, joblib 2 processes")


PEAK_RSS = """
import resource, sys, warnings
import numpy as np
from sklearn.datasets import load_digits
import fastcredit
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16.0
est = fastcredit.BackpropClassifier(hidden_layer_sizes=(32,), max_iter=2, batch_size=32)
fastcredit.sweep(est, X, y, seeds=range(2), n_jobs=2, progress=False)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
table = fastcredit.sweep(est, X, y, seeds=range(int(sys.argv[1])), n_jobs=2, progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after, (table["status"] == "ok").sum())
"""


def test_peak_memory_of_a_1000_fit_sweep(request):
    """Peak RSS of a process that ran a 2-fit sweep, then a 1000-fit one (2 epochs each:
    memory does not depend on the epochs): a sweep holds one fit per thread, not 1000."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(PEAK_RSS), "1000"], capture_output=True,
                         text=True, check=True).stdout.split()
    before, after, ok = (int(v) for v in out)
    assert ok == 1000
    _report(request, [f"== 1000-fit sweep (2 threads): peak RSS {after / 1024:.1f} MiB; after a 2-fit sweep "
                      f"{before / 1024:.1f} MiB: +{(after - before) / 1024:.1f} MiB =="])
