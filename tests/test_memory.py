"""Resource limits: a fit too large for the memory left fails up front with MemoryError
(naming the sizes), instead of being OOM-killed halfway."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import fastcredit
from fastcredit._memory import available_bytes, fit_bytes

ESTIMATORS = [getattr(fastcredit, name) for name in fastcredit.__all__ if name.endswith(("Classifier", "Regressor"))]


def _data(cls):
    X = np.random.default_rng(0).normal(size=(50, 64))
    y = np.arange(50) % 3
    return X, (y if hasattr(cls, "predict_proba") else y / 3.0)


@pytest.mark.skipif(available_bytes()[0] is None, reason="this platform does not tell the available memory")
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_a_hidden_layer_larger_than_memory_is_refused_before_allocating(cls):
    X, y = _data(cls)
    available, _ = available_bytes()
    # The first weight matrix alone is four times what is left: no allocation may happen.
    hidden = 4 * available // (8 * X.shape[1]) + 1
    est = cls(hidden_layer_sizes=(hidden,), max_iter=1, random_state=0)
    with pytest.raises(MemoryError, match=r"needs at least .* GiB .* only .* GiB are available"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    est.set_params(hidden_layer_sizes=(4,))  # the estimator is fine with a sensible size
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):  # one epoch
        est.fit(X, y)
    assert np.all(np.isfinite(est.predict(X)))


@pytest.mark.skipif(bool(os.environ.get("FASTCREDIT_SANITIZED")), reason="ASan reserves terabytes of address space")
def test_rlimit_as_binds_a_fit_whose_parts_each_fit():
    # Under a 1 GiB address-space limit, a fit needing ~1.6 GiB in several arrays of
    # ~0.3 GiB: without the up-front check the first arrays would be allocated and
    # written before one failed. A child process, so the limit stays there.
    child = textwrap.dedent(
        """
        import resource, warnings
        import numpy as np
        from fastcredit import BackpropClassifier
        from fastcredit._memory import available_bytes
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 2**30, resource.RLIM_INFINITY))
        assert available_bytes()[1] == "RLIMIT_AS", available_bytes()
        X = np.random.default_rng(0).normal(size=(20, 64))
        y = np.arange(20) % 2
        est = BackpropClassifier(hidden_layer_sizes=(40000, 1000), max_iter=1, random_state=0)
        try:
            est.fit(X, y)
        except MemoryError as e:
            print(e)
        """
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "needs at least" in out.stdout and "(RLIMIT_AS)" in out.stdout, out.stdout


def test_the_estimate_counts_every_buffer():
    units = [64, 100, 10]
    parameters = 64 * 100 + 100 + 100 * 10 + 10
    base = dict(batch_size=200, n_samples=1000, new_parameters=True, optimizer_copies=2, rule_state_elements=0,
                early_stopping=False, diagnostics=False)
    workspace = 3 * 200 * sum(units) + 200 * 10
    assert fit_bytes(units, 8, **base) == 8 * (4 * parameters + workspace)
    assert fit_bytes(units, 4, **base) == 4 * (4 * parameters + workspace)
    assert fit_bytes(units, 8, **{**base, "rule_state_elements": 7}) == 8 * (4 * parameters + workspace + 7)
    warm = fit_bytes(units, 8, **{**base, "new_parameters": False, "optimizer_copies": 0})
    assert warm == 8 * (parameters + workspace)
    probe = 2 * parameters + 3 * 256 * sum(units) + 256 * (64 + 10)
    assert fit_bytes(units, 8, **{**base, "diagnostics": True}) == 8 * (4 * parameters + workspace + probe)


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="Linux only")
def test_available_memory_is_read_from_the_kernel():
    with open("/proc/meminfo") as f:
        meminfo = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    available, binding = available_bytes()
    assert 0 < available <= meminfo["MemAvailable"] + meminfo.get("SwapFree", 0) + 2**30
    assert binding
