"""Target propagation (RULES.md, "Target propagation") written out again in NumPy, for the
reference tests. Imports nothing of fastcredit: the noise comes from the caller's `rng`
(anything with `standard_normal(shape)`).

Layout as in scikit-learn: coefs[l] has shape (n_l, n_{l+1}); the inverse of layer l
(l = 2..top) is inverse_coefs[l - 2] of shape (n_l [+ n_z], n_{l-1}).

With ``layers`` (operators of _layers_reference, one per weight layer; None: dense) the
forward pass and DTP's dLoss/dh_{L-1} go through the operators, and the inverse of a conv /
LC layer l is the layer of the transposed kind (RULES.md, "Layers"): its kernel V_l,
inverse_coefs[l - 2], is shaped like the layer's kernel and g_l(u) = f(M(V_l)^T u + c_l)
(layers[l - 1].inverse). The inverse intercepts c_l stay (1, n_{l-1}) for every kind: one
bias per unit of the layer below. The auxiliary outputs z of AO-SDTP enter the top inverse
as dense extra rows of V, so they need a Dense top layer.
"""

import numpy as np

from _reference import ACTIVATIONS, forward, gradients_from_deltas, layer_ops, output
from _layers_reference import DenseRef


def inverse(activation, V, c, u, z=None, layer=None):
    """g_l(u) = f(u V + c), or f(u V_o + z V_z + c) with auxiliary outputs z; through a
    layer operator f(layer.inverse(V, u) + c) (None: dense, V's rows n_l [+ n_z])."""
    n = u.shape[1]
    if layer is None:
        layer = DenseRef(V.shape[1], n)
    if z is None:
        a = layer.inverse(V, u) + c[0]
    else:
        if not isinstance(layer, DenseRef):
            raise NotImplementedError("auxiliary outputs need a dense top layer")
        a = layer.inverse(V[:n], u) + c[0]
        a = a + z @ V[n:]
    return ACTIVATIONS[activation][0](a)


def forward_direction(X, Y, coefs, intercepts, inv_coefs, inv_intercepts, projection, activation, out, variant,
                      beta, layers=None):
    """Forward weights' direction: targets top down, then the local deltas."""
    f_prime = ACTIVATIONS[activation][1]
    ops = layer_ops(coefs, layers)
    As, hs = forward(X, coefs, intercepts, activation, out, ops)
    L = len(coefs)

    def g(l, u, z=None):
        return inverse(activation, inv_coefs[l - 2], inv_intercepts[l - 2], u, z, ops[l - 1])

    e = hs[L] - Y
    targets = {}
    if variant == "dtp":
        targets[L - 1] = hs[L - 1] - beta * ops[L - 1].transport(coefs[L - 1], e)
    else:
        z = hs[L - 1] @ projection if projection is not None else None
        output_target = Y if beta is None else hs[L] + beta * (Y - hs[L])
        targets[L - 1] = hs[L - 1] - g(L, hs[L], z) + g(L, output_target, z)
    for l in range(L - 2, 0, -1):
        targets[l] = hs[l] - g(l + 1, hs[l + 1]) + g(l + 1, targets[l + 1])
    deltas = [(hs[l] - targets[l]) * f_prime(As[l - 1], hs[l]) for l in range(1, L)] + [e]
    return gradients_from_deltas(hs, deltas, ops)


def inverse_gradients(hs, coefs, intercepts, inv_coefs, inv_intercepts, projection, activation, out, variant,
                      noise_std, rng, layers=None):
    """Gradients of 0.5 ||g_l(f_l(h_{l-1} + eps)) - target||^2 (batch mean), target
    h_{l-1} + eps (DTP) or h_{l-1} (SDTP), f_l with the given forward weights, around the
    activations hs; eps drawn layer by layer from rng."""
    f, f_prime = ACTIVATIONS[activation]
    ops = layer_ops(coefs, layers)
    L, n = len(coefs), len(hs[0])
    top = L - 1 if variant == "dtp" else L
    grads_V, grads_c = [], []
    for l in range(2, top + 1):
        op = ops[l - 1]
        x = hs[l - 1] + noise_std * rng.standard_normal(hs[l - 1].shape)
        a = op.forward(x, coefs[l - 1], intercepts[l - 1])
        y = output(a, out) if l == L else f(a)
        z = x @ projection if (projection is not None and l == top) else None
        u = y if z is None else np.hstack([y, z])
        if z is None:
            pre = op.inverse(inv_coefs[l - 2], y) + inv_intercepts[l - 2][0]
        else:
            if not isinstance(op, DenseRef):
                raise NotImplementedError("auxiliary outputs need a dense top layer")
            pre = u @ inv_coefs[l - 2] + inv_intercepts[l - 2][0]
        r = f(pre)
        target = x if variant == "dtp" else hs[l - 1]
        d = (r - target) * f_prime(pre, r)
        grads_V.append(op.inverse_gradient(y, d) if z is None else u.T @ d / n)
        grads_c.append(d.mean(axis=0, keepdims=True))
    return grads_V, grads_c


def sgd_step(X, Y, params, activation, out, variant, schedule, beta, noise_std, lr, inverse_lr, rng, layers=None):
    """One plain-SGD step of forward and inverse weights; params and result are dicts with
    coefs, intercepts, inverse_coefs, inverse_intercepts, projection."""
    p = params
    ops = layer_ops(p["coefs"], layers)
    gW, gb = forward_direction(X, Y, p["coefs"], p["intercepts"], p["inverse_coefs"], p["inverse_intercepts"],
                               p["projection"], activation, out, variant, beta, ops)
    coefs = [W - lr * g for W, g in zip(p["coefs"], gW)]
    intercepts = [b - lr * g for b, g in zip(p["intercepts"], gb)]
    # parallel: the inverses invert the same forward layers; alternating: the updated ones,
    # around the activations of the step's forward pass in both.
    hs = forward(X, p["coefs"], p["intercepts"], activation, out, ops)[1]
    seen_coefs, seen_intercepts = (p["coefs"], p["intercepts"]) if schedule == "parallel" else (coefs, intercepts)
    gV, gc = inverse_gradients(hs, seen_coefs, seen_intercepts, p["inverse_coefs"], p["inverse_intercepts"],
                               p["projection"], activation, out, variant, noise_std, rng, ops)
    return {
        "coefs": coefs,
        "intercepts": intercepts,
        "inverse_coefs": [V - inverse_lr * g for V, g in zip(p["inverse_coefs"], gV)],
        "inverse_intercepts": [c - inverse_lr * g for c, g in zip(p["inverse_intercepts"], gc)],
        "projection": p["projection"],
    }
