"""Weight and node perturbation (RULES.md, "Rules from the lecture"): one step against a
NumPy transcription fed the same noise, convergence of the averaged estimate to the
gradient, learning on digits, and diagnostics that leave the training's noise alone.

The noise: a fit seeded with s draws its noise from the engine's stream Rng(s), one
NormalNoise fill per draw, which ``_core.normal_noise(s, sizes, dtype)`` returns; each
fill is laid out as the rules' headers say (WP: coefs[0], intercepts[0], coefs[1], ...;
NP: xi_1 (batch x n_1), ..., xi_L). The seed of the next fit is the estimator's next
``randint`` of its random state.
"""

import copy
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from _perturbation_reference import node_perturbation, weight_perturbation
from _reference import (
    SGD, backprop, one_step_tolerance, random_problem, relative_error, set_weights, sgd_step_direction,
)
from fastcredit import (
    NodePerturbationClassifier,
    NodePerturbationRegressor,
    WeightPerturbationClassifier,
    WeightPerturbationRegressor,
    _core,
)

ESTIMATORS = {
    ("wp", "classifier"): WeightPerturbationClassifier,
    ("wp", "regressor"): WeightPerturbationRegressor,
    ("np", "classifier"): NodePerturbationClassifier,
    ("np", "regressor"): NodePerturbationRegressor,
}


# ---------------------------------------------------------------- NumPy transcription
# (in _perturbation_reference, shared with the tests of other layer kinds)
REFERENCES = {"wp": weight_perturbation, "np": node_perturbation}


def next_fit_seed(estimator):
    """The engine seed the estimator's next fit (or _rule_direction) will use."""
    return copy.deepcopy(estimator._random_state).randint(np.iinfo(np.int32).max)


def _batch(kind, rng):
    """random_problem's batches, plus a multi-label one (logistic outputs)."""
    if kind != "multilabel":
        return random_problem(kind, rng)
    X = rng.standard_normal((12, 5))
    y = (rng.random((12, 3)) > 0.5).astype(int)
    y[0], y[1] = 0, 1  # every label seen both ways
    return X, y, y.astype(float)


def angle(u, v):
    u = np.concatenate([np.ravel(a) for a in u])
    v = np.concatenate([np.ravel(a) for a in v])
    return np.degrees(np.arccos(np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1)))


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("rule", ["wp", "np"])
@pytest.mark.parametrize("kind", ["classifier", "multilabel", "regressor"])
@pytest.mark.parametrize("antithetic", [False, True])
@pytest.mark.parametrize(
    "dtype, activation", [(np.float64, "tanh"), (np.float64, "relu"), (np.float32, "tanh")]
)
def test_one_step_equals_numpy_with_the_same_noise(rule, kind, antithetic, dtype, activation):
    rng = np.random.default_rng(0)
    X, y, Y = _batch(kind, rng)
    X = X.astype(dtype)
    sigma = 1e-3 if dtype == np.float64 else 1e-2  # float32: a loss change well above rounding
    est = ESTIMATORS[rule, "regressor" if kind == "regressor" else "classifier"](
        hidden_layer_sizes=(7, 6), activation=activation, batch_size=len(X), random_state=0, dtype=dtype,
        perturbation_std=sigma, n_samples=3, antithetic=antithetic, **SGD,
    )
    classes = {"classifier": np.unique(y), "multilabel": np.arange(y.shape[-1])}
    est.partial_fit(X, y, **({"classes": classes[kind]} if kind in classes else {}))
    assert est.out_activation_ == {"classifier": "softmax", "multilabel": "logistic", "regressor": "identity"}[kind]
    set_weights(est, rng)
    coefs = [c.astype(np.float64) for c in est.coefs_]
    intercepts = [b.astype(np.float64) for b in est.intercepts_]
    if rule == "wp":
        draw_size = sum(p.size for p in est.coefs_ + est.intercepts_)
    else:
        draw_size = len(X) * sum(b.size for b in est.intercepts_)
    noise = _core.normal_noise(next_fit_seed(est), [draw_size] * 3, np.dtype(dtype).name).astype(np.float64)
    expected = REFERENCES[rule](
        X.astype(np.float64), Y, coefs, intercepts, activation, est.out_activation_, sigma, 3, antithetic, noise
    )
    actual = sgd_step_direction(est, X, y)
    tolerance = one_step_tolerance(dtype)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < tolerance


@pytest.mark.parametrize("rule", ["wp", "np"])
def test_averaged_estimate_converges_to_the_gradient(rule):
    """The angle to backprop's gradient shrinks as n_samples grows, for WP as theory says:
    the mean of n draws (g.xi) xi has error covariance (|g|^2 I + g g^T) / n, so the
    angle's tangent is about sqrt((N - 1) / n) for N parameters."""
    rng = np.random.default_rng(1)
    X, y, Y = random_problem("classifier", rng)
    est = ESTIMATORS[rule, "classifier"](hidden_layer_sizes=(4,), activation="tanh", random_state=0, max_iter=1)
    est.partial_fit(X, y, classes=np.unique(y))
    true = backprop(X, Y, est.coefs_, est.intercepts_, "tanh", "softmax")
    angles, draws = [], (10, 100, 1000, 10000)
    for n in draws:
        coefs, intercepts = est.set_params(n_samples=n)._rule_direction(X, y)
        angles.append(angle(coefs + intercepts, true[0] + true[1]))
    assert all(a > b for a, b in zip(angles, angles[1:])), angles
    assert angles[0] > 20 and angles[-1] < 5, angles
    if rule == "wp":
        n_params = sum(p.size for p in est.coefs_ + est.intercepts_)
        for n, a in zip(draws[2:], angles[2:]):
            assert 0.6 < np.tan(np.radians(a)) / np.sqrt((n_params - 1) / n) < 1.4, (n, a)
    for layer in range(2):  # and per layer
        assert angle([coefs[layer]], [true[0][layer]]) < 10


@pytest.mark.parametrize("rule", ["wp", "np"])
def test_rule_direction_changes_nothing_and_is_seeded(rule):
    rng = np.random.default_rng(2)
    X, y, _ = random_problem("classifier", rng)
    est = ESTIMATORS[rule, "classifier"](hidden_layer_sizes=(4,), random_state=0, max_iter=1)
    est.partial_fit(X, y, classes=np.unique(y))
    before = [p.copy() for p in est.coefs_ + est.intercepts_]
    state = copy.deepcopy(est._random_state)
    first = est._rule_direction(X, y)
    est._random_state = state
    again = est._rule_direction(X, y)
    other = est._rule_direction(X, y)  # the next seed: other noise
    for a, b in zip(first[0] + first[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)
    assert relative_error(other[0] + other[1], first[0] + first[1]) > 1e-3
    for a, b in zip(before, est.coefs_ + est.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rule", ["wp", "np"])
def test_diagnostics_do_not_change_the_training(rule):
    """The probe draws its noise from its own stream: with or without diagnostics the
    weights are bit-identical, and a refit with the same seed reproduces them."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    params = dict(hidden_layer_sizes=(16,), max_iter=3, batch_size=50, random_state=0, tol=0, n_samples=2)
    cls = ESTIMATORS[rule, "classifier"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = cls(diagnostics_every=0, **params).fit(X, y)
        probed = cls(diagnostics_every=1, **params).fit(X, y)
        again = cls(diagnostics_every=1, **params).fit(X, y)
    assert len(quiet.alignment_["epoch"]) == 0
    assert list(probed.alignment_["epoch"]) == [1, 2, 3]
    assert np.all((probed.alignment_["update_angle"] > 0) & (probed.alignment_["update_angle"] < 180))
    for a, b, c in zip(quiet.coefs_ + quiet.intercepts_, probed.coefs_ + probed.intercepts_,
                       again.coefs_ + again.intercepts_):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)
    np.testing.assert_array_equal(probed.alignment_["update_angle"], again.alignment_["update_angle"])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "rule, params, floor",
    [
        # 30 epochs of 4 antithetic draws per batch of 32 on a 64-16-10 net: ~0.88 (0.6 s).
        ("wp", dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=1e-2, n_samples=4, antithetic=True),
         0.7),
        # 20 epochs of one draw per batch of 32 on a 64-32-10 net: ~0.93 (0.1 s).
        ("np", dict(hidden_layer_sizes=(32,), max_iter=20, learning_rate_init=3e-3), 0.85),
    ],
)
def test_beats_chance_clearly_on_digits(rule, params, floor):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    est = ESTIMATORS[rule, "classifier"](batch_size=32, random_state=0, tol=0, **params).fit(X_train, y_train)
    assert est.score(X_test, y_test) > floor  # chance: 0.1


@pytest.mark.parametrize("cls", list(ESTIMATORS.values()))
@pytest.mark.parametrize(
    "bad", [{"perturbation_std": 0.0}, {"perturbation_std": -1e-3}, {"n_samples": 0}, {"n_samples": 2.5},
            {"antithetic": "yes"}]
)
def test_invalid_hyper_parameters_raise_before_any_work(cls, bad):
    X, y = np.random.default_rng(0).standard_normal((10, 3)), np.arange(10) % 2
    est = cls(**bad)
    with pytest.raises((ValueError, TypeError), match=next(iter(bad))):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("rule", ["weight_perturbation", "node_perturbation"])
@pytest.mark.parametrize(
    "bad, message", [({"perturbation_std": 0.0}, "perturbation_std"), ({"n_samples": 0.0}, "n_samples")]
)
def test_engine_rejects_invalid_hyper_parameters(rule, bad, message):
    """The engine checks them too, for callers that bypass the estimators."""
    with pytest.raises(ValueError, match=message):
        _core.rule_state_specs(rule, [3, 4, 2], bad)


def test_noise_is_standard_normal_in_both_precisions():
    """The fills the rules draw: N(0, 1) (Kolmogorov-Smirnov), the same uniforms behind the
    float32 and float64 values, and consecutive fills continuing the stream."""
    stats = pytest.importorskip("scipy.stats")
    z64 = _core.normal_noise(7, [100001], "float64")
    z32 = _core.normal_noise(7, [100001], "float32")
    assert z32.dtype == np.float32 and z64.dtype == np.float64 and len(z64) == 100001
    assert stats.kstest(z64, "norm").pvalue > 1e-3
    assert abs(z64.mean()) < 0.02 and abs(z64.var() - 1) < 0.02
    np.testing.assert_allclose(z32, z64, rtol=1e-4, atol=1e-4)
    first, second = _core.normal_noise(7, [10, 6]), _core.normal_noise(7, [10, 6, 4])
    np.testing.assert_array_equal(first, second[:16])
    assert not np.allclose(second[10:16], first[:6])
