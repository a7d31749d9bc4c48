"""Independent NumPy transcriptions of RULES.md's feedback-alignment family (FA, DFA, sign
symmetry, Kolen-Pollack) and of their feedback-angle diagnostic.

Layout as in scikit-learn: coefs[l] has shape (n_l, n_{l+1}) (that is W_{l+1}^T), and a
feedback matrix B is stored in RULES.md's orientation: the one replacing coefs[k] has its
shape, DFA's B_k is (n_k, n_L). feedback[k - 1] belongs to hidden layer k = 1..L-1.

With ``layers`` (operators of _layers_reference, one per weight layer; None: dense, as
_reference.forward) coefs[k] is a kernel and the feedback replacing it is shaped like it,
applied as ``layers[k].transport(B, d)`` = M(B)^T d (RULES.md, "Layers"); DFA's B_k stays a
dense (n_k, n_L) matrix over layer k's flattened units.
"""

import numpy as np

from _reference import ACTIVATIONS, forward, gradients_from_deltas, layer_ops


def feedback_alignment(X, Y, coefs, intercepts, feedback, activation, out, layers=None):
    """RULES.md, FA: backprop with W_{l+1}^T replaced by B_{l+1}: d_l = (B_{l+1} d_{l+1}) * f'(a_l);
    with operators d_l = M(B_{l+1})^T d_{l+1} * f'(a_l), B shaped like the kernel."""
    ops = layer_ops(coefs, layers)
    As, hs = forward(X, coefs, intercepts, activation, out, ops)
    df = ACTIVATIONS[activation][1]
    deltas = [hs[-1] - Y]
    for k in range(len(coefs) - 1, 0, -1):
        deltas.insert(0, ops[k].transport(feedback[k - 1], deltas[0]) * df(As[k - 1], hs[k]))
    return gradients_from_deltas(hs, deltas, ops)


def direct_feedback_alignment(X, Y, coefs, intercepts, feedback, activation, out, layers=None):
    """RULES.md, DFA: d_l = (B_l e) * f'(a_l) for every hidden layer, e = d_L; B_l dense
    (n_l, n_L) whatever the layers."""
    ops = layer_ops(coefs, layers)
    As, hs = forward(X, coefs, intercepts, activation, out, ops)
    df = ACTIVATIONS[activation][1]
    e = hs[-1] - Y
    deltas = [(e @ feedback[k - 1].T) * df(As[k - 1], hs[k]) for k in range(1, len(coefs))] + [e]
    return gradients_from_deltas(hs, deltas, ops)


def sign_symmetric_feedback(coefs, magnitudes=None, layers=None, init="uniform"):
    """RULES.md, sign symmetry: B_{l+1} = sign(W_{l+1})^T, scaled by fixed magnitudes
    (elementwise: kernels of any shape). magnitudes=None: the uniform 'auto' magnitude of
    each layer, auto_magnitudes(coefs, layers, init)."""
    if magnitudes is None:
        magnitudes = auto_magnitudes(coefs, layers, init)
    return [np.sign(W) * M for W, M in zip(coefs[1:], magnitudes)]


def glorot_mean_magnitude(fan_in, fan_out, init="uniform"):
    """E|x| of the default ('auto') feedback distribution for a layer with these fans (a
    dense rows x cols matrix: its rows and cols; conv / LC: C kh kw and O kh kw)."""
    if init == "uniform":
        return 0.5 * np.sqrt(6.0 / (fan_in + fan_out))
    return np.sqrt(2.0 / (fan_in + fan_out)) * np.sqrt(2.0 / np.pi)


def auto_magnitudes(coefs, layers=None, init="uniform"):
    """Sign symmetry's uniform 'auto' magnitude for each B_{l+1} (coefs[1:]), from the fans
    of its layer: glorot_mean_magnitude(fan_in, fan_out, init)."""
    ops = layer_ops(coefs, layers)
    return [glorot_mean_magnitude(op.fan_in, op.fan_out, init) for op in ops[1:]]


def kolen_pollack_step(coefs, feedback, coef_grads, lr, decay, layers=None):
    """RULES.md, KP, one plain-SGD step: dW = -eta g - lam W, dB = -eta g^T - lam B (g^T is
    g itself in this layout, and for kernels B is shaped like W: elementwise, so `layers`
    changes nothing). Returns the new (coefs, feedback)."""
    new_coefs = [W - lr * g - decay * W for W, g in zip(coefs, coef_grads)]
    new_feedback = [B - lr * g - decay * B for B, g in zip(feedback, coef_grads[1:])]
    return new_coefs, new_feedback


def angle_degrees(a, b):
    a, b = np.ravel(a), np.ravel(b)
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))


def direct_target(coefs, k, layers=None):
    """What DFA's B_k stands in for: the (n_k, n_L) matrix of the linear map from the output
    down to layer k, the identity I_{n_L} transported down through coefs[L-1], ..., coefs[k]
    and transposed (dense: the product coefs[k] ... coefs[L-1])."""
    ops = layer_ops(coefs, layers)
    T = np.eye(ops[-1].out_units)
    for j in range(len(coefs) - 1, k - 1, -1):
        T = ops[j].transport(coefs[j], T)
    return T.T


def feedback_angles(coefs, feedback, direct=False, layers=None):
    """Per layer (NaN for the first): angle between B and what it stands in for, W_{k+1}^T
    (coefs[k], a kernel: both flattened), or for DFA the product coefs[k] ... coefs[L-1]
    (direct_target)."""
    angles = [np.nan]
    for k in range(1, len(coefs)):
        target = coefs[k]
        if direct and layers is None:  # the dense product, multiplied in this order
            for W in coefs[k + 1 :]:
                target = target @ W
        elif direct:
            target = direct_target(coefs, k, layers)
        angles.append(angle_degrees(target, feedback[k - 1]))
    return np.array(angles)
