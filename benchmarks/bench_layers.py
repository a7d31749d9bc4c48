"""One epoch of Bartunov et al.'s MNIST locally-connected net (RULES.md, "Layers"): input
(1, 28, 28), LC(3x3, 32, s2, p1), LC(3x3, 64, s2, p1) (28 -> 14 -> 7), dense 1024,
softmax 10, tanh, Adam, batch 100, float32, on MNIST-shaped random data (the first
FASTCREDIT_BENCH_LAYERS_N rows of the shared fixture, 20000 by default), single-threaded:

- fastcredit's BackpropClassifier against PyTorch (CPU, torch.set_num_threads(1)) with its
  LC layer built the usual way: F.unfold, then one batched product with a per-position
  weight (P, C k k, O) plus a bias per output unit, reshaped channels-first. Same Adam
  (lr, betas, eps), the same L2 (fastcredit's alpha as weight decay alpha / batch on the
  weights), the same Glorot-uniform scale for weights and biases, softmax cross-entropy
  averaged over the batch. Issue target: fastcredit at least 2x faster;
- the same shapes as a conv net (fastcredit Conv2d against torch.nn.Conv2d). Target: at
  least 1.5x faster;
- FA, sign symmetry, KP and DTP (both schedules) epochs on the LC net as ratios to
  backprop's (fastcredit only). Targets: FA/SS/KP at most 1.15x, DTP at most 2.5x.

Timed in CPU time of this process (as bench_feedback.py), so that the ratios hold on a
shared, loaded machine; every peer runs one thread, so CPU time is its run time. The torch
tests skip when torch is not installed. Run: pytest benchmarks/bench_layers.py -s
"""

import math
import os
import time

import numpy as np
import pytest

from _ratios import RESULTS, record
import fastcredit
from fastcredit.layers import Conv2d, Dense, LocallyConnected2d

N = int(os.environ.get("FASTCREDIT_BENCH_LAYERS_N", "20000"))
SHAPE, CLASSES, BATCH, HIDDEN_DENSE = (1, 28, 28), 10, 100, 1024
# (out_channels, kernel, stride, padding) of the two spatial layers
SPATIAL = [(32, 3, 2, 1), (64, 3, 2, 1)]
ADAM = dict(learning_rate_init=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=1e-4)
NET = dict(input_shape=SHAPE, activation="tanh", solver="adam", batch_size=BATCH, max_iter=1, random_state=0,
           diagnostics_every=0, **ADAM)
ROUNDS = dict(rounds=3, iterations=1, warmup_rounds=1)
GROUP_LC = f"Bartunov MNIST LC net, one epoch of {N} samples"
GROUP_CONV = f"Same shapes as a conv net, one epoch of {N} samples"
GROUP_RULES = f"Bartunov MNIST LC net, rules as ratios to backprop ({N} samples)"
RULES = {
    "FA": (fastcredit.FeedbackAlignmentClassifier, {}),
    "SS": (fastcredit.SignSymmetryClassifier, {}),
    "KP": (fastcredit.KolenPollackClassifier, {}),
    "DTP alternating": (fastcredit.DifferenceTargetPropagationClassifier, {"schedule": "alternating"}),
    "DTP parallel": (fastcredit.DifferenceTargetPropagationClassifier, {"schedule": "parallel"}),
    # Layer-wise DI is refused on this net (its first loop's eigenproblem would have 3136 units).
    "SLDI": (fastcredit.DynamicInversionClassifier, {"inversion": "single_loop"}),
}

pytestmark = pytest.mark.benchmark(timer=time.process_time)


def _layers(kind):
    spatial = [kind(c, k, stride=s, padding=p) for c, k, s, p in SPATIAL]
    return [*spatial, Dense(HIDDEN_DENSE)]


@pytest.fixture(scope="module")
def data(mnist_shaped):
    X, y = mnist_shaped
    return np.ascontiguousarray(X[:N]), y[:N]


def _fastcredit_epoch(benchmark, data, estimator, group, name, reference=False):
    X, y = data
    benchmark.pedantic(estimator.fit, args=(X, y), **ROUNDS)
    record(benchmark, group, name, reference=reference)


# --- PyTorch peers --------------------------------------------------------------------


def _torch_net(torch, kind):
    """The net in torch, initialised as fastcredit's glorot_uniform: weights and biases
    uniform in +-sqrt(6 / (fan_in + fan_out)), fans C k k and O k k for a spatial layer."""
    F = torch.nn.functional

    class LocallyConnected2d(torch.nn.Module):
        def __init__(self, in_channels, in_size, out_channels, kernel, stride, padding):
            super().__init__()
            self.kernel, self.stride, self.padding, self.out_channels = kernel, stride, padding, out_channels
            self.out_size = (in_size + 2 * padding - kernel) // stride + 1
            positions = self.out_size**2
            self.weight = torch.nn.Parameter(torch.empty(positions, in_channels * kernel * kernel, out_channels))
            self.bias = torch.nn.Parameter(torch.empty(positions, 1, out_channels))

        def forward(self, x):
            cols = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # (n, C k k, P)
            out = torch.bmm(cols.permute(2, 0, 1), self.weight) + self.bias  # (P, n, O)
            return out.permute(1, 2, 0).reshape(x.shape[0], self.out_channels, self.out_size, self.out_size)

    modules, channels, size = [], SHAPE[0], SHAPE[1]
    for out_channels, k, s, p in SPATIAL:
        if kind == "lc":
            layer = LocallyConnected2d(channels, size, out_channels, k, s, p)
        else:
            layer = torch.nn.Conv2d(channels, out_channels, k, stride=s, padding=p)
        scale = math.sqrt(6.0 / (channels * k * k + out_channels * k * k))
        modules += [layer, torch.nn.Tanh()]
        channels, size = out_channels, (size + 2 * p - k) // s + 1
        layer._glorot = scale
    dense_in = channels * size * size
    for a, b in [(dense_in, HIDDEN_DENSE), (HIDDEN_DENSE, CLASSES)]:
        layer = torch.nn.Linear(a, b)
        layer._glorot = math.sqrt(6.0 / (a + b))
        modules += [layer, torch.nn.Tanh()]
    modules.pop()  # the output layer stays linear: softmax is in the loss
    modules.insert(2 * len(SPATIAL), torch.nn.Flatten())
    net = torch.nn.Sequential(*modules)
    with torch.no_grad():
        for m in net:
            if hasattr(m, "_glorot"):
                m.weight.uniform_(-m._glorot, m._glorot)
                m.bias.uniform_(-m._glorot, m._glorot)
    return net


def _torch_adam(torch, net):
    """Adam as fastcredit's: L2 0.5 alpha |W|^2 / batch on the weights only."""
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in net.named_parameters() if name.endswith("bias")]
    return torch.optim.Adam([{"params": weights, "weight_decay": ADAM["alpha"] / BATCH},
                             {"params": biases, "weight_decay": 0.0}],
                            lr=ADAM["learning_rate_init"], betas=(ADAM["beta_1"], ADAM["beta_2"]),
                            eps=ADAM["epsilon"])


def _torch_epoch(benchmark, data, kind, group):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    X, y = data
    Xt, yt = torch.from_numpy(X).view(len(X), *SHAPE), torch.from_numpy(y)
    net = _torch_net(torch, kind)
    opt = _torch_adam(torch, net)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        order = torch.randperm(len(X))
        for start in range(0, len(X), BATCH):
            idx = order[start : start + BATCH]
            opt.zero_grad()
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()

    benchmark.pedantic(epoch, **ROUNDS)
    record(benchmark, group, f"PyTorch (CPU, 1 thread), {'F.unfold + bmm' if kind == 'lc' else 'nn.Conv2d'}")


# --- LC net: fastcredit against PyTorch -----------------------------------------------


def test_fastcredit_lc_epoch(benchmark, data):
    est = fastcredit.BackpropClassifier(layers=_layers(LocallyConnected2d), **NET)
    _fastcredit_epoch(benchmark, data, est, GROUP_LC, "fastcredit BackpropClassifier, LC", reference=True)
    RESULTS[GROUP_RULES]["BP: Backprop"] = (benchmark.stats.stats.min, True)


def test_torch_lc_epoch(benchmark, data):
    _torch_epoch(benchmark, data, "lc", GROUP_LC)


# --- the same shapes as a conv net ----------------------------------------------------


def test_fastcredit_conv_epoch(benchmark, data):
    est = fastcredit.BackpropClassifier(layers=_layers(Conv2d), **NET)
    _fastcredit_epoch(benchmark, data, est, GROUP_CONV, "fastcredit BackpropClassifier, Conv2d", reference=True)


def test_torch_conv_epoch(benchmark, data):
    _torch_epoch(benchmark, data, "conv", GROUP_CONV)


# --- the other rules on the LC net, as ratios to backprop -----------------------------


@pytest.mark.parametrize("rule", list(RULES), ids=lambda r: r.replace(" ", "-"))
def test_rule_lc_epoch(benchmark, data, rule):
    cls, extra = RULES[rule]
    est = cls(layers=_layers(LocallyConnected2d), **NET, **extra)
    _fastcredit_epoch(benchmark, data, est, GROUP_RULES, f"{rule}: {cls.__name__.removesuffix('Classifier')}")


# --- the torch peer computes fastcredit's function ------------------------------------


@pytest.mark.parametrize("kind", ["lc", "conv"])
def test_torch_peer_matches_fastcredit(kind):
    """Load a fitted fastcredit net's weights into the torch peer: same probabilities,
    so that the peer is the same network (layouts, padding, flattening order)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    X, y = rng.random((200, 784), dtype=np.float32), rng.integers(0, CLASSES, 200)
    layers = _layers(LocallyConnected2d if kind == "lc" else Conv2d)
    est = fastcredit.BackpropClassifier(layers=layers, **NET).fit(X, y)
    net = _torch_net(torch, kind)
    params = [m for m in net if hasattr(m, "weight")]
    with torch.no_grad():
        for m, W, b in zip(params, est.coefs_, est.intercepts_):
            W, b = torch.from_numpy(np.ascontiguousarray(W)), torch.from_numpy(np.ascontiguousarray(b))
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(W.T)
                m.bias.copy_(b)
            elif isinstance(m, torch.nn.Conv2d):
                m.weight.copy_(W)
                m.bias.copy_(b)
            else:  # LC: (O, OH, OW, C, kh, kw) -> (P, C kh kw, O); bias (O, OH, OW) -> (P, 1, O)
                O = W.shape[0]
                m.weight.copy_(W.reshape(O, m.weight.shape[0], -1).permute(1, 2, 0))
                m.bias.copy_(b.reshape(O, -1).T.unsqueeze(1))
        proba = torch.softmax(net(torch.from_numpy(X).view(-1, *SHAPE)), dim=1).numpy()
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-4, atol=1e-5)
