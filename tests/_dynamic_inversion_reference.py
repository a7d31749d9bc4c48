"""Dynamic inversion (RULES.md, "Dynamic inversion": DI, NDI, nonlinear DI, single-loop
DI) written out again in NumPy, for the reference tests; moved out of
test_dynamic_inversion.py so that tests of other layer kinds can share them.

Layout as in scikit-learn: coefs[k] has shape (n_k, n_{k+1}) (= W_{k+1}^T), feedback
matrices B the same shape (B = -coefs[k] is B = -W^T), batches are rows.

With operators of _layers_reference (``layers``, one per weight layer, or ``layer`` for the
one-layer helpers; None: dense) coefs[k] is a kernel and the sequential loops' feedback B is
shaped like it (RULES.md, "Layers"): u <- u + dt(-leak u + M(W) r - e) is
``layer.linear(r, W)``, r <- r + dt(-r + B u) is ``layer.transport(B, u)`` (B = -W is
B = -W^T), and nonlinear DI runs ``layer.linear(h - f(a - r), W)``. Single-loop DI's B
stays a dense (n_1, n_L) matrix over flattened units: r <- r + dt(-r + u @ B.T). The
direct solve and the stability check use the operators as dense matrices
(``layer.matrix``).
"""

import numpy as np

from _reference import ACTIVATIONS, forward, gradients_from_deltas, layer_ops


def _feedback(kernels, ops, B):
    """u -> B u: through the one layer's transport when B is shaped like its kernel, else
    B is a dense (n_0, n_top) matrix (single loop). A dense layer's kernel and its dense
    matrix coincide, so the two readings agree there."""
    if len(kernels) == 1 and np.shape(B) == tuple(ops[0].kernel_shape):
        return lambda u: ops[0].transport(B, u)
    return lambda u: u @ B.T


def _feedback_matrix(kernels, ops, B):
    """B as the dense (n_0, n_top) matrix with r = B u per column vector u."""
    if len(kernels) == 1 and np.shape(B) == tuple(ops[0].kernel_shape):
        return ops[0].matrix(B)  # M(B)^T as a matrix: (in_units, out_units)
    return B


def di_dynamics(E, kernels, B, dt, n_steps, leak, operating=None, f=None, tol=0.0, count=None, layers=None):
    """Euler steps from zero (RULES.md): u <- u + dt(-leak u + W r_top - e), then
    r_0 <- r_0 + dt(-r_0 + B u), r_j <- r_j + dt(-r_j + W_j r_{j-1}); the forward terms
    go through f at the operating points (f(a) - f(a - r)) when `operating` is given.
    `kernels` are the forward weights of the chain (coefs[k], ...), `layers` their
    operators. Stops after the step whose velocities (of u and every r) have squared norm
    at most tol^2 |E|^2 (all rows together: the engine's test for one block of rows);
    appends the number of steps taken to the list `count` when one is given."""
    ops = layer_ops(kernels, layers)
    feedback = _feedback(kernels, ops, B)
    u = np.zeros_like(E)
    r = [np.zeros((len(E), op.in_units)) for op in ops]

    def through(j):
        if operating is None:
            return ops[j].linear(r[j], kernels[j])
        a = operating[j]
        return ops[j].linear(f(a) - f(a - r[j]), kernels[j])

    for step in range(1, n_steps + 1):
        velocity = -leak * u + through(len(kernels) - 1) - E
        u = u + dt * velocity
        squares = np.sum(velocity**2)
        for j in range(len(kernels)):
            velocity = -r[j] + (feedback(u) if j == 0 else through(j - 1))
            r[j] = r[j] + dt * velocity
            squares += np.sum(velocity**2)
        if squares <= tol**2 * np.sum(E**2):
            break
    if count is not None:
        count.append(step)
    return r


def ndi_steady_state(E, C, B, leak, layer=None):
    """r = B (W B - leak I)^{-1} e for every row e of E, with W = C^T (a kernel: its matrix)."""
    if layer is not None:
        C, B = layer.matrix(C), layer.matrix(B)
    W = C.T
    return np.linalg.solve(W @ B - leak * np.eye(W.shape[0]), E.T).T @ B.T


def damped_pseudo_inverse(E, C, leak, layer=None):
    """W^T (W W^T + leak I)^{-1} e per row."""
    W = (C if layer is None else layer.matrix(C)).T
    return E @ np.linalg.inv(W @ W.T + leak * np.eye(W.shape[0])).T @ W


def reference_direction(X, Y, coefs, intercepts, feedback, activation, out, inversion, dt, n_steps, leak,
                        layers=None):
    ops = layer_ops(coefs, layers)
    As, hs = forward(X, coefs, intercepts, activation, out, ops)
    f, df = ACTIVATIONS[activation]
    L = len(coefs)
    deltas = [None] * L
    deltas[-1] = hs[-1] - Y
    if inversion == "single_loop":
        deltas[:-1] = di_dynamics(deltas[-1], coefs[1:], feedback[0], dt, n_steps, leak, As[:-1], f,
                                  layers=ops[1:])
    else:
        for k in range(L - 1, 0, -1):
            C, B, E = coefs[k], feedback[k - 1], deltas[k]
            if inversion == "direct":
                r = ndi_steady_state(E, C, B, leak, ops[k])
            elif inversion == "dynamic":
                r = di_dynamics(E, [C], B, dt, n_steps, leak, layers=[ops[k]])[0]
            else:
                r = di_dynamics(E, [C], B, dt, n_steps, leak, [As[k - 1]], f, layers=[ops[k]])[0]
            deltas[k - 1] = r if inversion == "nonlinear" else r * df(As[k - 1], hs[k])
    if inversion in ("nonlinear", "single_loop"):
        # r_k is a pre-activation change; the layer learns towards the target f(a_k - r_k)
        # with 0.5 |h_k - target|^2 (dynamic_inversion.hpp, as target propagation does).
        for j in range(L - 1):
            deltas[j] = (hs[j + 1] - f(As[j] - deltas[j])) * df(As[j], hs[j + 1])
    return gradients_from_deltas(hs, deltas, ops)


def block_abscissa(coefs, B, leak, layers=None):
    """Largest real part of the eigenvalues of the loop's full matrix, built explicitly:
    [[-I, B], [W, -leak I]] for one layer, block bidiagonal for a chain (kernels as their
    operators' dense matrices; B kernel-shaped for one layer or dense (n_0, n_top))."""
    ops = layer_ops(coefs, layers)
    widths = [ops[0].in_units] + [op.out_units for op in ops]
    offsets = np.cumsum([0] + widths)
    J = -np.eye(offsets[-1])
    J[offsets[-2]:, offsets[-2]:] *= leak
    J[:widths[0], offsets[-2]:] = _feedback_matrix(coefs, ops, B)
    for j, C in enumerate(coefs):
        J[offsets[j + 1]:offsets[j + 2], offsets[j]:offsets[j + 1]] = ops[j].matrix(C).T
    return np.max(np.linalg.eigvals(J).real)
