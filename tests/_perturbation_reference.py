"""Weight and node perturbation (RULES.md, "Rules from the lecture") written out again in
NumPy, for the reference tests; moved out of test_perturbation.py so that tests of other
layer kinds can share them. Imports nothing of fastcredit: the noise is the caller's
`stream`, a flat array of standard normal draws consumed from the front.

The noise layout: WP one draw per parameter, laid out coefs[0], intercepts[0], coefs[1],
... each flattened in C order (kernels of any shape); NP xi_1 (batch x n_1), ..., xi_L, one
value per unit's pre-activation (conv / LC units channels-first, flattened in C order).

With ``layers`` (operators of _layers_reference, one per weight layer; None: dense) the
forward passes and the gradients go through the operators (RULES.md, "Layers").
"""

import numpy as np

from _reference import ACTIVATIONS, forward, gradients_from_deltas, layer_ops, output


def sample_losses(P, Y, out):
    """Each sample's loss (cross-entropy or half squared error)."""
    if out == "softmax":
        return -np.sum(Y * np.log(P), axis=1)
    if out == "logistic":
        return -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P), axis=1)
    return 0.5 * np.sum((P - Y) ** 2, axis=1)


def take(stream, shapes):
    """Consecutive arrays of these shapes from the front of the stream, and the rest."""
    sizes = [int(np.prod(s)) for s in shapes]
    parts = np.split(stream[: sum(sizes)], np.cumsum(sizes)[:-1])
    return [p.reshape(s) for p, s in zip(parts, shapes)], stream[sum(sizes) :]


def loss_change(loss, base, antithetic):
    """dL = Loss(+) - Loss(0), or (Loss(+) - Loss(-)) / 2 for antithetic pairs."""
    return (loss(1) - loss(-1)) / 2 if antithetic else loss(1) - base


def weight_perturbation(X, Y, coefs, intercepts, activation, out, sigma, n_samples, antithetic, stream,
                        layers=None):
    """RULES.md, WP: grad = (dL / sigma) xi over all parameters, batch-mean loss, averaged over draws."""
    ops = layer_ops(coefs, layers)

    def mean_loss(cs, bs):
        return sample_losses(forward(X, cs, bs, activation, out, ops)[1][-1], Y, out).mean()

    params = [p for pair in zip(coefs, intercepts) for p in pair]
    estimate = [np.zeros_like(p) for p in params]
    base = mean_loss(coefs, intercepts)
    for _ in range(n_samples):
        xi, stream = take(stream, [p.shape for p in params])

        def loss(sign):
            shifted = [p + sign * sigma * x for p, x in zip(params, xi)]
            return mean_loss(shifted[0::2], shifted[1::2])

        dL = loss_change(loss, base, antithetic)
        for e, x in zip(estimate, xi):
            e += dL / sigma * x / n_samples
    return estimate[0::2], estimate[1::2]


def node_perturbation(X, Y, coefs, intercepts, activation, out, sigma, n_samples, antithetic, stream,
                      layers=None):
    """RULES.md, NP: sigma xi_l on every pre-activation, d_l = (dL / sigma) xi_l with each
    sample's loss change, grad W_l = d_l h_{l-1}^T with the clean h."""
    f = ACTIVATIONS[activation][0]
    ops = layer_ops(coefs, layers)
    As, hs = forward(X, coefs, intercepts, activation, out, ops)
    base = sample_losses(hs[-1], Y, out)
    deltas = [np.zeros_like(a) for a in As]
    for _ in range(n_samples):
        xi, stream = take(stream, [a.shape for a in As])

        def loss(sign):
            h = X
            for l, (W, b) in enumerate(zip(coefs, intercepts)):
                a = ops[l].forward(h, W, b) + sign * sigma * xi[l]
                h = output(a, out) if l == len(coefs) - 1 else f(a)
            return sample_losses(h, Y, out)

        dL = loss_change(loss, base, antithetic)
        for d, x in zip(deltas, xi):
            d += (dL / sigma)[:, None] * x / n_samples
    return gradients_from_deltas(hs, deltas, ops)
