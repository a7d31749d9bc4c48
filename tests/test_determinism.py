"""Determinism: the same seed and data give bit-identical weights in a fresh process, with
any thread count, hash seed or allocator layout (README, "Determinism", names the limits)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import fastcredit

ESTIMATORS = [name for name in fastcredit.__all__ if name.endswith(("Classifier", "Regressor"))]

# Prints, per estimator and dtype, a hash of every fitted array and of the loss curve.
FIT_AND_HASH = textwrap.dedent(
    """
    import hashlib, json, sys, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    import fastcredit
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    X, y = X[:500] / 16.0, y[:500]
    out = {}
    for name in sys.argv[1:]:
        cls = getattr(fastcredit, name)
        target = y if hasattr(cls, "predict_proba") else y / 10.0
        for dtype in ("float32", "float64"):
            est = cls(hidden_layer_sizes=(32, 16), max_iter=4, batch_size=64, random_state=7, dtype=dtype,
                      early_stopping=True, n_iter_no_change=2).fit(X, target)
            digest = hashlib.sha256()
            for a in est.coefs_ + est.intercepts_ + [np.asarray(est.loss_curve_), est.predict(X)]:
                digest.update(np.ascontiguousarray(a).tobytes())
            out[name + "/" + dtype] = digest.hexdigest()
    print(json.dumps(out))
    """
)

ENVIRONMENTS = [
    {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"},
    {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "PYTHONHASHSEED": "1",
     "MALLOC_PERTURB_": "165"},  # glibc fills fresh allocations with garbage: no reads of uninitialised memory
    {"OMP_NUM_THREADS": "4", "PYTHONHASHSEED": "2", "MALLOC_ARENA_MAX": "1"},
]


def _hashes(env):
    out = subprocess.run([sys.executable, "-c", FIT_AND_HASH, *ESTIMATORS], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_fresh_processes_with_any_thread_count_give_identical_fits():
    reference = _hashes(ENVIRONMENTS[0])
    assert len(reference) == 2 * len(ESTIMATORS)
    for env in ENVIRONMENTS[1:]:
        assert _hashes(env) == reference, env
