"""Target propagation (RULES.md, "Target propagation") written out again in NumPy, and the
engine's documented noise generator, for the reference tests. Imports nothing of fastcredit.

Layout as in scikit-learn: coefs[l] has shape (n_l, n_{l+1}); the inverse of layer l
(l = 2..top) is inverse_coefs[l - 2] of shape (n_l [+ n_z], n_{l-1}).
"""

import math

import numpy as np

from _reference import ACTIVATIONS, forward, gradients_from_deltas, output

_MASK = (1 << 64) - 1


class Xoshiro256:
    """xoshiro256** seeded by splitmix64, and Box-Muller pairs: the noise the engine draws
    (random.hpp; layer_inverses.hpp, fill_standard_normal)."""

    def __init__(self, seed):
        self.s = []
        x = seed
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & _MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _MASK

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK
        t = (s[1] << 17) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53

    def standard_normal(self, shape):
        n = int(np.prod(shape))
        out = np.empty(n)
        for i in range(0, n, 2):
            u1, u2 = 1.0 - self.uniform(), self.uniform()
            r, t = math.sqrt(-2.0 * math.log(u1)), 6.283185307179586 * u2
            out[i] = r * math.cos(t)
            if i + 1 < n:
                out[i + 1] = r * math.sin(t)
        return out.reshape(shape)


def inverse(activation, V, c, u, z=None):
    """g_l(u) = f(u V + c), or f(u V_o + z V_z + c) with auxiliary outputs z."""
    a = u @ V[: u.shape[1]] + c[0]
    if z is not None:
        a = a + z @ V[u.shape[1] :]
    return ACTIVATIONS[activation][0](a)


def forward_direction(X, Y, coefs, intercepts, inv_coefs, inv_intercepts, projection, activation, out, variant,
                      beta):
    """Forward weights' direction: targets top down, then the local deltas."""
    f_prime = ACTIVATIONS[activation][1]
    As, hs = forward(X, coefs, intercepts, activation, out)
    L = len(coefs)

    def g(l, u, z=None):
        return inverse(activation, inv_coefs[l - 2], inv_intercepts[l - 2], u, z)

    e = hs[L] - Y
    targets = {}
    if variant == "dtp":
        targets[L - 1] = hs[L - 1] - beta * (e @ coefs[L - 1].T)
    else:
        z = hs[L - 1] @ projection if projection is not None else None
        targets[L - 1] = hs[L - 1] - g(L, hs[L], z) + g(L, Y, z)
    for l in range(L - 2, 0, -1):
        targets[l] = hs[l] - g(l + 1, hs[l + 1]) + g(l + 1, targets[l + 1])
    deltas = [(hs[l] - targets[l]) * f_prime(As[l - 1], hs[l]) for l in range(1, L)] + [e]
    return gradients_from_deltas(hs, deltas)


def inverse_gradients(X, coefs, intercepts, inv_coefs, inv_intercepts, projection, activation, out, variant,
                      noise_std, rng):
    """Gradients of 0.5 ||g_l(f_l(h_{l-1} + eps)) - target||^2 (batch mean), target
    h_{l-1} + eps (DTP) or h_{l-1} (SDTP); eps drawn layer by layer from rng."""
    f, f_prime = ACTIVATIONS[activation]
    _, hs = forward(X, coefs, intercepts, activation, out)
    L, n = len(coefs), len(X)
    top = L - 1 if variant == "dtp" else L
    grads_V, grads_c = [], []
    for l in range(2, top + 1):
        x = hs[l - 1] + noise_std * rng.standard_normal(hs[l - 1].shape)
        a = x @ coefs[l - 1] + intercepts[l - 1]
        y = output(a, out) if l == L else f(a)
        z = x @ projection if (projection is not None and l == top) else None
        u = y if z is None else np.hstack([y, z])
        pre = u @ inv_coefs[l - 2] + inv_intercepts[l - 2][0]
        r = f(pre)
        target = x if variant == "dtp" else hs[l - 1]
        d = (r - target) * f_prime(pre, r)
        grads_V.append(u.T @ d / n)
        grads_c.append(d.mean(axis=0, keepdims=True))
    return grads_V, grads_c


def sgd_step(X, Y, params, activation, out, variant, schedule, beta, noise_std, lr, inverse_lr, rng):
    """One plain-SGD step of forward and inverse weights; params and result are dicts with
    coefs, intercepts, inverse_coefs, inverse_intercepts, projection."""
    p = params
    gW, gb = forward_direction(X, Y, p["coefs"], p["intercepts"], p["inverse_coefs"], p["inverse_intercepts"],
                               p["projection"], activation, out, variant, beta)
    coefs = [W - lr * g for W, g in zip(p["coefs"], gW)]
    intercepts = [b - lr * g for b, g in zip(p["intercepts"], gb)]
    # parallel: the inverses learn from the same forward weights; alternating: from the new ones.
    seen_coefs, seen_intercepts = (p["coefs"], p["intercepts"]) if schedule == "parallel" else (coefs, intercepts)
    gV, gc = inverse_gradients(X, seen_coefs, seen_intercepts, p["inverse_coefs"], p["inverse_intercepts"],
                               p["projection"], activation, out, variant, noise_std, rng)
    return {
        "coefs": coefs,
        "intercepts": intercepts,
        "inverse_coefs": [V - inverse_lr * g for V, g in zip(p["inverse_coefs"], gV)],
        "inverse_intercepts": [c - inverse_lr * g for c, g in zip(p["inverse_intercepts"], gc)],
        "projection": p["projection"],
    }
