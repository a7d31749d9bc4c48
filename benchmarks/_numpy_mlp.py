"""A plain NumPy MLP epoch (ReLU, softmax cross-entropy, Nesterov-momentum SGD): the
"write it yourself" peer that fastcredit's engine is measured against."""

import numpy as np


class NumpyMLP:
    def __init__(self, sizes, dtype=np.float32, lr=0.01, momentum=0.9, seed=0):
        rng = np.random.default_rng(seed)
        self.W, self.b = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            self.W.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
            self.b.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.lr, self.mu = dtype(lr), dtype(momentum)

    def epoch(self, X, Y, batch_size, rng):
        order = rng.permutation(len(X))
        loss = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            hs = [X[idx]]
            for W, b in zip(self.W[:-1], self.b[:-1]):
                hs.append(np.maximum(hs[-1] @ W + b, 0))
            a = hs[-1] @ self.W[-1] + self.b[-1]
            a -= a.max(axis=1, keepdims=True)
            p = np.exp(a)
            p /= p.sum(axis=1, keepdims=True)
            y = Y[idx]
            loss -= float(np.sum(y * np.log(np.maximum(p, 1e-7))))
            d = (p - y) / len(idx)
            for l in range(len(self.W) - 1, -1, -1):
                gW, gb = hs[l].T @ d, d.sum(axis=0)
                if l:
                    d = (d @ self.W[l].T) * (hs[l] > 0)
                for param, vel, g in ((self.W[l], self.vW[l], gW), (self.b[l], self.vb[l], gb)):
                    vel *= self.mu
                    vel -= self.lr * g
                    param += self.mu * vel - self.lr * g
        return loss / len(X)
