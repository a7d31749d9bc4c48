"""Feedback weights optimised for a stable inversion loop (RULES.md, "Dynamic inversion",
"Stability"): gradient descent on the smoothed spectral abscissa (Vanbiervliet et al.
2009, as Hennequin et al. 2014 and Podlaski & Machens 2020 use it), with Lyapunov solves.

The loop through ``m`` layers with forward map ``P`` (n_top x n_bottom) and feedback
``B`` is reduced exactly to the n_top-dimensional variables ``v_j = (W_top ... ) r_j``
and the controller ``u``: its matrix has blocks ``-I`` on the diagonal (``-leak I`` for
``u``), ``I`` below it, and ``P B`` in the corner; it has the loop's eigenvalues apart
from -1's, in (m + 1) n_top dimensions instead of the sum of all layer widths.
"""

import numpy as np


def _require_scipy():
    try:
        from scipy.linalg import solve_continuous_lyapunov
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "feedback_init='optimized' needs scipy (Lyapunov solves); install it with `pip install scipy` "
            "or use feedback_init='negative_transpose'."
        ) from None
    return solve_continuous_lyapunov


def reduced_loop_matrix(P, B, m, leak):
    """The loop's matrix in the variables (v_0, ..., v_{m-1}, u), each n_top wide."""
    n = P.shape[0]
    M = np.zeros(((m + 1) * n, (m + 1) * n))
    eye = np.eye(n)
    for j in range(m):
        M[j * n:(j + 1) * n, j * n:(j + 1) * n] = -eye
        if j > 0:
            M[j * n:(j + 1) * n, (j - 1) * n:j * n] = eye
    M[m * n:, (m - 1) * n:m * n] = eye
    M[m * n:, m * n:] = -leak * eye
    M[:n, m * n:] = P @ B
    return M


def spectral_abscissa(M):
    return float(np.max(np.linalg.eigvals(M).real))


def _smoothed_abscissa(M, lyapunov, target):
    """s with trace(P(s)) = target, (M - s I) P + P (M - s I)^T = -I, and its gradient in M."""
    eye = np.eye(len(M))
    low = spectral_abscissa(M)

    def trace_at(s):
        return np.trace(lyapunov(M - s * eye, -eye))

    width = 1.0
    while trace_at(low + width) > target:
        width *= 2.0
    high = low + width
    for _ in range(50):
        middle = 0.5 * (low + high)
        if trace_at(middle) > target:
            low = middle
        else:
            high = middle
    s = high
    A = M - s * eye
    P = lyapunov(A, -eye)
    Q = lyapunov(A.T, -eye)
    gradient = Q @ P
    return s, gradient / np.trace(gradient)


def optimize_feedback(P, B, m=1, leak=0.0, margin=0.01, learning_rate=0.5, min_iter=10, max_iter=500):
    """Feedback B (n_bottom x n_top) moved down the smoothed spectral abscissa of its loop
    until the loop's spectral abscissa is below ``-margin`` (after at least ``min_iter``
    steps) or ``max_iter`` steps; returns a new array. The engine checks the result."""
    lyapunov = _require_scipy()
    P = np.asarray(P, dtype=np.float64)
    B = np.array(B, dtype=np.float64)
    n = P.shape[0]
    M = reduced_loop_matrix(P, B, m, leak)
    # Smoothing 0.1, independent of the size: for M = -I the smoothed abscissa is -0.9.
    target = len(M) / (2 * 0.1)
    value, gradient = _smoothed_abscissa(M, lyapunov, target)
    step = learning_rate
    for iteration in range(max_iter):
        if iteration >= min_iter and spectral_abscissa(M) < -margin:
            break
        candidate = B - step * (P.T @ gradient[:n, m * n:])
        M_candidate = reduced_loop_matrix(P, candidate, m, leak)
        candidate_value, candidate_gradient = _smoothed_abscissa(M_candidate, lyapunov, target)
        if candidate_value < value:
            B, M, value, gradient = candidate, M_candidate, candidate_value, candidate_gradient
            step *= 1.5
        else:
            step *= 0.5
            if step < 1e-12:
                break
    return B
