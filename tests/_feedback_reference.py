"""Independent NumPy transcriptions of RULES.md's feedback-alignment family (FA, DFA, sign
symmetry, Kolen-Pollack) and of their feedback-angle diagnostic.

Layout as in scikit-learn: coefs[l] has shape (n_l, n_{l+1}) (that is W_{l+1}^T), and a
feedback matrix B is stored in RULES.md's orientation: the one replacing coefs[k] has its
shape, DFA's B_k is (n_k, n_L). feedback[k - 1] belongs to hidden layer k = 1..L-1.
"""

import numpy as np

from _reference import ACTIVATIONS, forward, gradients_from_deltas


def feedback_alignment(X, Y, coefs, intercepts, feedback, activation, out):
    """RULES.md, FA: backprop with W_{l+1}^T replaced by B_{l+1}: d_l = (B_{l+1} d_{l+1}) * f'(a_l)."""
    As, hs = forward(X, coefs, intercepts, activation, out)
    df = ACTIVATIONS[activation][1]
    deltas = [hs[-1] - Y]
    for k in range(len(coefs) - 1, 0, -1):
        deltas.insert(0, (deltas[0] @ feedback[k - 1].T) * df(As[k - 1], hs[k]))
    return gradients_from_deltas(hs, deltas)


def direct_feedback_alignment(X, Y, coefs, intercepts, feedback, activation, out):
    """RULES.md, DFA: d_l = (B_l e) * f'(a_l) for every hidden layer, e = d_L."""
    As, hs = forward(X, coefs, intercepts, activation, out)
    df = ACTIVATIONS[activation][1]
    e = hs[-1] - Y
    deltas = [(e @ feedback[k - 1].T) * df(As[k - 1], hs[k]) for k in range(1, len(coefs))] + [e]
    return gradients_from_deltas(hs, deltas)


def sign_symmetric_feedback(coefs, magnitudes):
    """RULES.md, sign symmetry: B_{l+1} = sign(W_{l+1})^T, scaled by fixed magnitudes."""
    return [np.sign(W) * M for W, M in zip(coefs[1:], magnitudes)]


def glorot_mean_magnitude(rows, cols, init="uniform"):
    """E|x| of the default ('auto') feedback distribution for a rows x cols matrix."""
    if init == "uniform":
        return 0.5 * np.sqrt(6.0 / (rows + cols))
    return np.sqrt(2.0 / (rows + cols)) * np.sqrt(2.0 / np.pi)


def kolen_pollack_step(coefs, feedback, coef_grads, lr, decay):
    """RULES.md, KP, one plain-SGD step: dW = -eta g - lam W, dB = -eta g^T - lam B (g^T is
    g itself in this layout). Returns the new (coefs, feedback)."""
    new_coefs = [W - lr * g - decay * W for W, g in zip(coefs, coef_grads)]
    new_feedback = [B - lr * g - decay * B for B, g in zip(feedback, coef_grads[1:])]
    return new_coefs, new_feedback


def angle_degrees(a, b):
    a, b = np.ravel(a), np.ravel(b)
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))


def feedback_angles(coefs, feedback, direct=False):
    """Per layer (NaN for the first): angle between B and what it stands in for, W_{k+1}^T
    (coefs[k]), or for DFA the product coefs[k] ... coefs[L-1]."""
    angles = [np.nan]
    for k in range(1, len(coefs)):
        target = coefs[k]
        if direct:
            for W in coefs[k + 1 :]:
                target = target @ W
        angles.append(angle_degrees(target, feedback[k - 1]))
    return np.array(angles)
