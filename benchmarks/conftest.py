"""Benchmark session setup: a fair, single-threaded machine for every peer.

On this machine OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE force a slow OpenBLAS kernel; they are
removed here, before NumPy (and its OpenBLAS) is first imported, so that the NumPy and
scikit-learn peers run at full speed. Every peer is limited to one thread. Never do this
in the test suite.
"""

import os

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_name, None)
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from _ratios import RESULTS, ratio_table  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="session")
def mnist_shaped():
    """MNIST-shaped random data shared by the epoch benchmarks: 60000 x 784 float32 in
    [0, 1) and labels of 10 classes."""
    rng = np.random.default_rng(0)
    return rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)


def pytest_terminal_summary(terminalreporter):
    for line in ratio_table(RESULTS):
        terminalreporter.write_line(line)
