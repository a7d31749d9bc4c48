"""Dynamic inversion (DI, NDI, nonlinear DI, single-loop DI) against RULES.md.

The NumPy transcriptions (_dynamic_inversion_reference) are written from RULES.md
("Dynamic inversion") alone.
Layout as in scikit-learn: coefs[k] has shape (n_k, n_{k+1}) (= W_{k+1}^T), feedback
matrices B the same shape (B = -coefs[k] is B = -W^T), batches are rows.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from _dynamic_inversion_reference import (
    block_abscissa,
    damped_pseudo_inverse,
    di_dynamics,
    ndi_steady_state,
    reference_direction,
)
from _reference import (
    ACTIVATIONS, SGD, forward, gradients_from_deltas, one_step_tolerance, relative_error, sgd_step_direction,
)
from fastcredit import BackpropClassifier, DynamicInversionClassifier, DynamicInversionRegressor


# ----------------------------------------------------------------------------- helpers
def _fitted(cls=DynamicInversionRegressor, sizes=(12,), n_features=6, n_outputs=4, seed=0, **params):
    """An estimator after one partial_fit on random data, and that data."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_features, n_features))
    y = rng.standard_normal((n_features, n_outputs))
    est = cls(hidden_layer_sizes=sizes, activation="identity", batch_size=n_features, random_state=seed, **SGD,
              **params)
    est.partial_fit(X, y)
    return est, rng


def _inverted_error(est, E, rng):
    """r for the output error rows E, read back from the rule's direction: identity
    units and X = I make grad coefs[0] = X^T d_1 / n = r / n."""
    n = est.coefs_[0].shape[0]
    X = np.eye(n)
    prediction = est.predict(X).reshape(n, -1)
    coefs, _ = est._rule_direction(X, prediction - E)
    return coefs[0] * n


def _orthogonal(rng, rows, cols, scale=1.0):
    q, _ = np.linalg.qr(rng.standard_normal((max(rows, cols), max(rows, cols))))
    return scale * q[:rows, :cols]


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("shape", ["contracting", "expanding"])
@pytest.mark.parametrize("feedback", ["negative_transpose", "perturbed"])
def test_dynamic_converges_to_direct_and_to_the_damped_pseudo_inverse(shape, feedback):
    hidden, outputs, leak = (12, 4, 0.05) if shape == "contracting" else (4, 9, 0.2)
    common = dict(sizes=(hidden,), n_features=8, n_outputs=outputs, leak=leak, dtype=np.float64)
    results = {}
    for inversion, extra in [("dynamic", dict(n_steps=4000, inversion_tol=1e-13)), ("direct", {})]:
        est, rng = _fitted(inversion=inversion, **common, **extra)
        est.coefs_[1][...] = _orthogonal(rng, hidden, outputs) + 0.3 * rng.standard_normal((hidden, outputs))
        B = -est.coefs_[1].copy()
        if feedback == "perturbed":
            B += 0.1 * rng.standard_normal(B.shape)
        est.feedback_weights_[0][...] = B
        assert block_abscissa(est.coefs_[1:], B, leak) < 0
        E = rng.standard_normal((8, outputs))
        results[inversion] = _inverted_error(est, E, rng)
    assert relative_error([results["dynamic"]], [results["direct"]]) < 1e-4
    assert relative_error([results["direct"]], [ndi_steady_state(E, est.coefs_[1], B, leak)]) < 1e-10
    if feedback == "negative_transpose":
        expected = damped_pseudo_inverse(E, est.coefs_[1], leak)
        assert relative_error([results["direct"]], [expected]) < 1e-10
        assert relative_error([results["dynamic"]], [expected]) < 1e-4


def test_single_loop_equals_sequential_inversion_on_invertible_layers():
    """Without leak and with square invertible layers both loops have one steady state:
    the inverse of the chain (RULES.md, SLDI)."""
    common = dict(sizes=(5, 5), n_features=5, n_outputs=5, dtype=np.float64, n_steps=4000, inversion_tol=1e-13)
    rng = np.random.default_rng(4)
    W2, W3 = _orthogonal(rng, 5, 5, 0.9), _orthogonal(rng, 5, 5, 0.9)
    E = rng.standard_normal((5, 5))
    out = {}
    for inversion in ("dynamic", "single_loop"):
        est, _ = _fitted(inversion=inversion, **common)
        est.coefs_[1][...], est.coefs_[2][...] = W2, W3
        if inversion == "single_loop":
            est.feedback_weights_[0][...] = -W2 @ W3
        else:
            est.feedback_weights_[0][...], est.feedback_weights_[1][...] = -W2, -W3
        out[inversion] = _inverted_error(est, E, rng)
    expected = E @ np.linalg.inv(W2 @ W3)  # r_1 with W3^T W2^T r_1 = e, per row
    assert relative_error([out["dynamic"]], [expected]) < 1e-6
    assert relative_error([out["single_loop"]], [expected]) < 1e-6


@pytest.mark.parametrize("inversion", ["dynamic", "direct", "nonlinear", "single_loop"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
@pytest.mark.parametrize("hidden", [(8, 6), (8, 8)])  # (8, 8): DI's reduced loop on a square layer
def test_one_step_equals_numpy_transcription(inversion, dtype, activation, hidden):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((10, 5))
    y = np.arange(10) % 3
    params = dict(inversion=inversion, leak=0.1, dt=0.15, n_steps=25, inversion_tol=0.0, dtype=dtype)
    est = DynamicInversionClassifier(hidden_layer_sizes=hidden, activation=activation, batch_size=10,
                                     random_state=0, **SGD, **params)
    est.partial_fit(X.astype(dtype), y, classes=np.unique(y))
    for p in est.coefs_ + est.intercepts_:
        p[...] = 0.5 * rng.standard_normal(p.shape)
    for B in est.feedback_weights_:
        B[...] = 0.3 * rng.standard_normal(B.shape)
    coefs = [c.astype(np.float64) for c in est.coefs_]
    intercepts = [b.astype(np.float64) for b in est.intercepts_]
    feedback = [B.astype(np.float64) for B in est.feedback_weights_]
    expected = reference_direction(X.astype(dtype).astype(np.float64), np.eye(3)[y], coefs, intercepts, feedback,
                                   activation, "softmax", inversion, 0.15, 25, 0.1)
    actual = sgd_step_direction(est, X.astype(dtype), y)
    tolerance = one_step_tolerance(dtype)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < tolerance


def test_tolerance_stops_the_dynamics_where_numpy_does():
    """inversion_tol ends the Euler steps once the velocities of u and r are small; the
    engine's one-layer linear loop measures r's velocity |B u - r| in the narrow layer
    (feedback_dynamics.hpp), which must stop on the same step as the full-space test."""
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((12, 20)), np.arange(12) % 4
    est = DynamicInversionClassifier(hidden_layer_sizes=(16,), activation="tanh", batch_size=12, random_state=0,
                                     inversion="dynamic", leak=0.2, dt=0.05, n_steps=5000, inversion_tol=1e-3,
                                     **SGD)
    est.partial_fit(X, y, classes=np.unique(y))
    coefs, intercepts = est.coefs_, est.intercepts_
    C, B = coefs[1], est.feedback_weights_[0]
    As, hs = forward(X, coefs, intercepts, "tanh", "softmax")
    E = hs[-1] - np.eye(4)[y]
    steps = []
    stopped = di_dynamics(E, [C], B, 0.05, 5000, 0.2, tol=1e-3, count=steps)[0]
    assert 10 < steps[0] < 5000
    for other in (steps[0] - 1, steps[0] + 1):  # a step more or less would show
        assert relative_error([di_dynamics(E, [C], B, 0.05, other, 0.2)[0]], [stopped]) > 1e-5
    expected = gradients_from_deltas(hs, [stopped * ACTIVATIONS["tanh"][1](As[0], hs[1]), E])
    actual = sgd_step_direction(est, X, y)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < 1e-9


# ----------------------------------------------------------------------------- stability
@pytest.mark.parametrize("inversion", ["dynamic", "single_loop"])
@pytest.mark.parametrize("leak", [0.0, 0.3])
def test_reported_abscissa_equals_numpy_eigenvalues(inversion, leak):
    X, y = load_digits(return_X_y=True)
    est = DynamicInversionClassifier(hidden_layer_sizes=(24, 16), activation="tanh", max_iter=2, random_state=0,
                                     inversion=inversion, leak=leak, feedback_init="random",
                                     stability_check_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:300] / 16, y[:300])
    reported = est.alignment_["spectral_abscissa"][-1]
    if inversion == "single_loop":
        expected = {2: block_abscissa(est.coefs_[1:], est.feedback_weights_[0], leak)}
    else:
        expected = {k: block_abscissa(est.coefs_[k:k + 1], est.feedback_weights_[k - 1], leak) for k in (1, 2)}
    for k in range(3):
        if k in expected:
            assert reported[k] == pytest.approx(expected[k], abs=1e-6 + 1e-4 * abs(expected[k]))
            assert reported[k] < 0
        else:
            assert np.isnan(reported[k])


def _unstable_feedback(C, rng):
    """A B whose loop with W = C^T is unstable: B ~ +W^T makes W B positive definite
    (mildly, so that the dynamics grow slowly rather than blow up)."""
    B = 0.1 * C + 0.01 * rng.standard_normal(C.shape)
    assert block_abscissa([C], B, 0.0) > 0
    return B


def test_unstable_feedback_is_repaired_or_refused():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    rng = np.random.default_rng(0)
    params = dict(hidden_layer_sizes=(16,), activation="tanh", random_state=0, stability_check_every=1)
    est = DynamicInversionClassifier(**params)
    est.partial_fit(X, y, classes=np.unique(y))
    est.feedback_weights_[0][...] = _unstable_feedback(est.coefs_[1], rng)
    est.partial_fit(X, y)
    assert block_abscissa(est.coefs_[1:], est.feedback_weights_[0], 0.0) < 0
    assert est.alignment_["stability_repairs"][-1, 1] >= 1
    assert np.all(np.isfinite(est.coefs_[0]))

    strict = DynamicInversionClassifier(**params, on_unstable="raise")
    strict.partial_fit(X, y, classes=np.unique(y))
    strict.feedback_weights_[0][...] = _unstable_feedback(strict.coefs_[1], rng)
    with pytest.raises(ValueError, match="unstable"):
        strict.partial_fit(X, y)


def test_random_feedback_at_init_is_checked():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    unstable_seeds = []
    for seed in range(5):
        est = DynamicInversionClassifier(hidden_layer_sizes=(16,), feedback_init="random", on_unstable="raise",
                                         random_state=seed, max_iter=1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
        except ValueError as error:
            assert "unstable" in str(error)
            unstable_seeds.append(seed)
    assert unstable_seeds, "random feedback was stable for every seed: the check is not exercised"
    repaired = DynamicInversionClassifier(hidden_layer_sizes=(16,), feedback_init="random", random_state=unstable_seeds[0],
                                          max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        repaired.fit(X, y)
    assert repaired.alignment_["stability_repairs"][0, 1] >= 1
    assert repaired.alignment_["spectral_abscissa"][0, 1] < 0


def test_expanding_layer_without_leak_is_refused_with_a_clear_error():
    X = np.random.default_rng(0).standard_normal((40, 6))
    est = DynamicInversionRegressor(hidden_layer_sizes=(3,), random_state=0, max_iter=1)
    with pytest.raises(ValueError, match="leak > 0"):
        est.fit(X, X)


def test_diverging_euler_steps_are_halved_or_refused():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    params = dict(hidden_layer_sizes=(16,), activation="tanh", random_state=0, max_iter=2, dt=4.0, n_steps=60)
    est = DynamicInversionClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.alignment_["inversion_step"][-1, 1] < 4.0
    assert np.all(np.isfinite(est.coefs_[1]))
    with pytest.raises(ValueError, match="diverged"):
        DynamicInversionClassifier(**params, on_unstable="raise").fit(X, y)


def test_optimized_feedback_is_stable_without_repair():
    pytest.importorskip("scipy")
    from fastcredit._feedback_stability import optimize_feedback

    rng = np.random.default_rng(0)
    C = rng.uniform(-0.5, 0.5, (20, 5))
    start = _unstable_feedback(C, rng)
    B = optimize_feedback(C.T, start, leak=0.0)
    assert block_abscissa([C], B, 0.0) < -0.01

    X, y = load_digits(return_X_y=True)
    est = DynamicInversionClassifier(hidden_layer_sizes=(16,), feedback_init="optimized", random_state=0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:300] / 16, y[:300])
    assert est.alignment_["stability_repairs"][0, 1] == 0
    assert est.alignment_["spectral_abscissa"][0, 1] < 0


# ----------------------------------------------------------------------------- learning
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "hidden, inversions",
    [((64,), ("dynamic", "direct", "nonlinear")), ((64, 64), ("single_loop",))],
)
def test_digits_within_three_points_of_backprop(hidden, inversions):
    """Setting: digits / 16, 70/30 split, tanh units, Adam 1e-3, batch 64, 40 epochs, the
    dynamics with 50 Euler steps of 0.2; mean over 2 seeds. Single-loop DI needs two
    hidden layers to differ from nonlinear DI."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    common = dict(hidden_layer_sizes=hidden, activation="tanh", max_iter=40, batch_size=64, tol=0)
    scores = {name: [] for name in ("bp",) + inversions}
    for seed in range(2):
        scores["bp"].append(BackpropClassifier(**common, random_state=seed).fit(X_train, y_train).score(X_test, y_test))
        for inversion in inversions:
            est = DynamicInversionClassifier(**common, random_state=seed, inversion=inversion)
            scores[inversion].append(est.fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(scores["bp"]) > 0.95
    for inversion in inversions:
        assert np.mean(scores[inversion]) > np.mean(scores["bp"]) - 0.03, scores


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_autoencoder_learns_to_reconstruct_digits():
    X = load_digits().data / 16
    est = DynamicInversionRegressor(hidden_layer_sizes=(48, 16, 48), activation="tanh", leak=0.1, max_iter=40,
                                    random_state=0)
    est.fit(X, X)
    baseline = np.mean((X - X.mean(axis=0)) ** 2)
    assert np.mean((est.predict(X) - X) ** 2) < 0.5 * baseline
    assert np.all(np.isfinite(est.alignment_["spectral_abscissa"][:, 1:]))


@pytest.mark.parametrize(
    "params",
    [dict(dt=0.0), dict(n_steps=0), dict(inversion="magic"), dict(leak=-0.1), dict(feedback_init="zeros"),
     dict(on_unstable="ignore"), dict(inversion_tol=-1.0), dict(stability_check_every=-1)],
)
def test_invalid_parameters_raise_before_fitting(params):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError):
        DynamicInversionClassifier(**params).fit(X[:50], y[:50])
