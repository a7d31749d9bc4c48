"""Independent NumPy transcriptions of RULES.md, for the rules' reference tests.

Nothing here imports fastcredit's engine: these are the equations, written out again.
Layout as in scikit-learn: coefs[l] has shape (n_l, n_{l+1}) (that is W_{l+1}^T).

Every rule function takes an optional ``layers``: one operator of _layers_reference per
weight layer (DenseRef, Conv2dRef, LocallyConnected2dRef), through which the equations are
written (RULES.md, "Layers"): forward ``layers[l].forward(h, coefs[l], intercepts[l])``,
``W^T d`` as ``layers[l].transport(W, d)``, gradients ``layers[l].weight_gradient(h, d)``.
coefs[l] and intercepts[l] then have the operator's kernel_shape and bias_shape, batches
are (n, units) with units channels-first and flattened in C order. ``layers=None`` means
dense layers read off the coefs' shapes, the equations as written for dense nets.
"""

import numpy as np

from _layers_reference import dense_layers

# Plain SGD, no momentum, decay or shuffling: one partial_fit on one batch is one step
# along the rule's direction, as the transcriptions assume.
SGD = dict(solver="sgd", momentum=0.0, alpha=0.0, shuffle=False, learning_rate_init=0.1)


def one_step_tolerance(dtype):
    """What the arithmetic allows a one-step reference (relative error of the direction
    recovered as (old - new) / lr): float64 rounding stays near 1e-13, so 1e-10 catches a
    float64 path that computed in float32 (about 1e-7); float32 gets a few hundred eps."""
    return 1e-10 if np.dtype(dtype) == np.float64 else 500 * np.finfo(np.float32).eps

ACTIVATIONS = {
    "identity": (lambda a: a, lambda a, h: np.ones_like(a)),
    "relu": (lambda a: np.maximum(a, 0), lambda a, h: (a > 0).astype(a.dtype)),
    "leaky_relu": (lambda a: np.where(a > 0, a, 0.01 * a), lambda a, h: np.where(a > 0, 1.0, 0.01)),
    "tanh": (np.tanh, lambda a, h: 1 - h**2),
    "logistic": (lambda a: 1 / (1 + np.exp(-a)), lambda a, h: h * (1 - h)),
    "softplus": (lambda a: np.logaddexp(0, a), lambda a, h: 1 / (1 + np.exp(-a))),
}


def output(a, kind):
    if kind == "softmax":
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == "logistic":
        return 1 / (1 + np.exp(-a))
    return a


def layer_ops(coefs, layers=None):
    """The operators the equations go through: `layers`, or dense ones for the coefs."""
    if layers is None:
        return dense_layers(coefs)
    if len(layers) != len(coefs):
        raise ValueError(f"{len(layers)} layer operators for {len(coefs)} weight layers")
    return list(layers)


def forward(X, coefs, intercepts, activation, out, layers=None):
    """Pre-activations a_1..a_L and activations h_0..h_L."""
    f = ACTIVATIONS[activation][0]
    ops = layer_ops(coefs, layers)
    hs, As = [X], []
    for l, (W, b) in enumerate(zip(coefs, intercepts)):
        a = ops[l].forward(hs[-1], W, b)
        As.append(a)
        hs.append(output(a, out) if l == len(coefs) - 1 else f(a))
    return As, hs


def loss(X, Y, coefs, intercepts, activation, out, alpha=0.0, layers=None):
    """Batch-mean loss (softmax/logistic cross-entropy or half squared error) + L2."""
    p = forward(X, coefs, intercepts, activation, out, layers)[1][-1]
    if out == "softmax":
        value = -np.sum(Y * np.log(p)) / len(X)
    elif out == "logistic":
        value = -np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p)) / len(X)
    else:
        value = 0.5 * np.sum((p - Y) ** 2) / len(X)
    return value + 0.5 * alpha * sum(np.sum(W**2) for W in coefs) / len(X)


def gradients_from_deltas(hs, deltas, layers=None):
    """grad W_l = d_l h_{l-1}^T, grad b_l = d_l, averaged over the batch; with operators,
    each layer's weight_gradient (the correlation of inputs and deltas for conv / LC)."""
    if layers is None:
        n = len(hs[0])
        return [h.T @ d / n for h, d in zip(hs[:-1], deltas)], [d.mean(axis=0) for d in deltas]
    pairs = [op.weight_gradient(h, d) for op, h, d in zip(layers, hs[:-1], deltas)]
    return [gK for gK, _ in pairs], [gb for _, gb in pairs]


def backprop_deltas(X, Y, coefs, intercepts, activation, out, layers=None):
    """Backprop's (As, hs, deltas): d_L = e, d_l = (W_{l+1}^T d_{l+1}) * f'(a_l), each row
    one sample's gradient of its own loss with respect to a_l."""
    ops = layer_ops(coefs, layers)
    As, hs = forward(X, coefs, intercepts, activation, out, ops)
    df = ACTIVATIONS[activation][1]
    deltas = [hs[-1] - Y]
    for l in range(len(coefs) - 1, 0, -1):
        deltas.insert(0, ops[l].transport(coefs[l], deltas[0]) * df(As[l - 1], hs[l]))
    return As, hs, deltas


def backprop(X, Y, coefs, intercepts, activation, out, layers=None):
    """RULES.md, Backprop: d_L = e, d_l = (W_{l+1}^T d_{l+1}) * f'(a_l)."""
    ops = layer_ops(coefs, layers)
    _, hs, deltas = backprop_deltas(X, Y, coefs, intercepts, activation, out, ops)
    return gradients_from_deltas(hs, deltas, ops)


def sgd_step_direction(estimator, X, y, **partial_fit_kwargs):
    """The direction of one plain SGD step of `estimator` on the whole batch (X, y).

    The estimator must use solver='sgd', momentum=0, alpha=0, batch_size >= len(X) and
    shuffle=False; then new = old - lr * direction.
    """
    old = [p.astype(np.float64) for p in estimator.coefs_ + estimator.intercepts_]
    estimator.partial_fit(X, y, **partial_fit_kwargs)
    new = [p.astype(np.float64) for p in estimator.coefs_ + estimator.intercepts_]
    lr = estimator.learning_rate_init
    directions = [(o - n) / lr for o, n in zip(old, new)]
    L = len(estimator.coefs_)
    return directions[:L], directions[L:]


def random_problem(kind, rng, n=12, d=5, k=3):
    """A small random batch: (X, y, Y) with Y the one-hot (classifier) or raw (regressor) targets."""
    X = rng.standard_normal((n, d))
    if kind == "classifier":
        y = np.arange(n) % k
        return X, y, np.eye(k)[y]
    y = rng.standard_normal((n, 2))
    return X, y, y


def set_weights(estimator, rng, scale=0.5):
    """Overwrite a fitted estimator's weights in place with fresh random values."""
    for p in estimator.coefs_ + estimator.intercepts_:
        p[...] = scale * rng.standard_normal(p.shape)


def relative_error(actual, expected):
    actual = np.concatenate([np.ravel(a) for a in actual])
    expected = np.concatenate([np.ravel(e) for e in expected])
    return np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1e-300)
