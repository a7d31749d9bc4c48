"""One epoch of MNIST-shaped float32 data (60000 x 784, 784-256-256-10 ReLU, batch 128,
Nesterov-momentum SGD), single-threaded: fastcredit against scikit-learn's MLPClassifier
and a plain NumPy implementation. fastcredit runs with its default product backend
(OpenBLAS from scipy-openblas32) and, for comparison, with Eigen alone.
Run: pytest benchmarks/bench_epoch.py
"""

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from _numpy_mlp import NumpyMLP
from _ratios import record
import fastcredit

N, D, HIDDEN, CLASSES, BATCH = 60000, 784, (256, 256), 10, 128
SGD = dict(hidden_layer_sizes=HIDDEN, solver="sgd", momentum=0.9, batch_size=BATCH, learning_rate_init=0.01,
           max_iter=1, random_state=0)
GROUP = "MNIST-shaped epoch"



def test_fastcredit_backprop_epoch(benchmark, mnist_shaped):
    X, y = mnist_shaped
    est = fastcredit.BackpropClassifier(**SGD, diagnostics_every=0)
    benchmark.pedantic(est.fit, args=(X, y), rounds=5, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, "fastcredit BackpropClassifier", reference=True)


def test_fastcredit_backprop_epoch_eigen_products(benchmark, mnist_shaped):
    """The same fit with every product computed by Eigen (FASTCREDIT_GEMM=eigen)."""
    X, y = mnist_shaped
    est = fastcredit.BackpropClassifier(**SGD, diagnostics_every=0)
    before = fastcredit.gemm_backend()
    fastcredit.set_gemm_backend("eigen")
    try:
        benchmark.pedantic(est.fit, args=(X, y), rounds=5, iterations=1, warmup_rounds=1)
    finally:
        fastcredit.set_gemm_backend("openblas" if before.startswith("openblas") else "eigen")
    record(benchmark, GROUP, "fastcredit BackpropClassifier (Eigen products)")


def test_fastcredit_backprop_epoch_with_diagnostics(benchmark, mnist_shaped):
    X, y = mnist_shaped
    est = fastcredit.BackpropClassifier(**SGD, diagnostics_every=1)
    benchmark.pedantic(est.fit, args=(X, y), rounds=5, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, "fastcredit BackpropClassifier + diagnostics")


def test_sklearn_mlpclassifier_epoch(benchmark, mnist_shaped):
    X, y = mnist_shaped
    est = MLPClassifier(**SGD)
    benchmark.pedantic(est.fit, args=(X, y), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, "scikit-learn MLPClassifier")


def test_numpy_epoch(benchmark, mnist_shaped):
    X, y = mnist_shaped
    Y = np.eye(CLASSES, dtype=np.float32)[y]
    model = NumpyMLP([D, *HIDDEN, CLASSES])
    rng = np.random.default_rng(0)
    benchmark.pedantic(model.epoch, args=(X, Y, BATCH, rng), rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, "plain NumPy")


def test_torch_epoch(benchmark, mnist_shaped):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    X, y = mnist_shaped
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    sizes = [D, *HIDDEN, CLASSES]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        order = torch.randperm(N)
        for start in range(0, N, BATCH):
            idx = order[start : start + BATCH]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    benchmark.pedantic(epoch, rounds=3, iterations=1, warmup_rounds=1)
    record(benchmark, GROUP, "PyTorch (CPU)")
