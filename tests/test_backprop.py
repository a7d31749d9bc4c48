"""Backprop against RULES.md (NumPy transcription), finite differences and MLPClassifier."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from _reference import (
    SGD, backprop, loss, one_step_tolerance, random_problem, relative_error, set_weights, sgd_step_direction,
)
from fastcredit import BackpropClassifier, BackpropRegressor


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "softplus", "leaky_relu", "identity"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_step_equals_numpy_backprop(kind, activation, dtype):
    rng = np.random.default_rng(0)
    X, y, Y = random_problem(kind, rng)
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    est = cls(hidden_layer_sizes=(7, 6), activation=activation, batch_size=len(X), random_state=0, dtype=dtype, **SGD)
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    est.partial_fit(X.astype(dtype), y, **extra)
    set_weights(est, rng)
    coefs = [c.astype(np.float64) for c in est.coefs_]
    intercepts = [b.astype(np.float64) for b in est.intercepts_]
    Xd = X.astype(dtype).astype(np.float64)
    expected = backprop(Xd, Y, coefs, intercepts, activation, est.out_activation_)
    actual = sgd_step_direction(est, X.astype(dtype), y)
    tolerance = one_step_tolerance(dtype)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < tolerance


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_the_float64_tolerance_catches_float32_arithmetic(kind):
    # The mutation the tolerance is for: the one-step problem computed by a float64 path
    # that works in float32 inside (the same reference, every array cast) misses the
    # float64 result by far more than one_step_tolerance(float64), and stays within the
    # float32 tolerance.
    rng = np.random.default_rng(0)
    X, y, Y = random_problem(kind, rng)
    coefs = [0.5 * rng.standard_normal(shape) for shape in [(5, 7), (7, 6), (6, Y.shape[1])]]
    intercepts = [0.5 * rng.standard_normal(W.shape[1]) for W in coefs]
    out = "softmax" if kind == "classifier" else "identity"
    exact = backprop(X, Y, coefs, intercepts, "tanh", out)
    single = backprop(*(np.float32(X), np.float32(Y)), [np.float32(W) for W in coefs],
                      [np.float32(b) for b in intercepts], "tanh", out)
    error = relative_error(single[0] + single[1], exact[0] + exact[1])
    assert 100 * one_step_tolerance(np.float64) < error < one_step_tolerance(np.float32)


@pytest.mark.parametrize("out", ["softmax", "logistic", "identity"])
def test_backprop_matches_finite_differences(out):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 4))
    if out == "softmax":
        y = np.arange(9) % 3
        est, Y = BackpropClassifier, np.eye(3)[y]
    elif out == "logistic":
        y = (rng.random((9, 2)) > 0.5).astype(int)
        y[0], y[1] = [0, 1], [1, 0]
        est, Y = BackpropClassifier, y.astype(float)
    else:
        y = rng.standard_normal(9)
        est, Y = BackpropRegressor, y[:, None]
    est = est(hidden_layer_sizes=(5,), activation="tanh", batch_size=9, random_state=0, **SGD)
    est.partial_fit(X, y, **({"classes": np.unique(y)} if out != "identity" else {}))
    assert est.out_activation_ == out
    set_weights(est, rng)
    params = [p.copy() for p in est.coefs_ + est.intercepts_]
    L = len(est.coefs_)

    def f(ps):
        return loss(X, Y, ps[:L], ps[L:], "tanh", out)

    numeric, h = [], 1e-6
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[i][idx] += h
            down[i][idx] -= h
            g[idx] = (f(up) - f(down)) / (2 * h)
        numeric.append(g)
    coef_dir, intercept_dir = sgd_step_direction(est, X, y)
    assert relative_error(coef_dir + intercept_dir, numeric) < 1e-6


def test_l2_penalty_adds_alpha_w_over_batch():
    rng = np.random.default_rng(2)
    X, y, Y = random_problem("classifier", rng)
    params = {**SGD, "alpha": 0.3}
    est = BackpropClassifier(hidden_layer_sizes=(4,), batch_size=len(X), random_state=0, **params)
    est.partial_fit(X, y, classes=np.unique(y))
    set_weights(est, rng)
    expected_W, expected_b = backprop(X, Y, est.coefs_, est.intercepts_, "relu", "softmax")
    expected_W = [g + 0.3 * W / len(X) for g, W in zip(expected_W, est.coefs_)]
    coef_dir, intercept_dir = sgd_step_direction(est, X, y)
    assert relative_error(coef_dir + intercept_dir, expected_W + expected_b) < 1e-6


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_digits_accuracy_within_one_point_of_mlpclassifier():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    ours, theirs = [], []
    for seed in range(3):
        params = dict(hidden_layer_sizes=(64,), max_iter=60, random_state=seed, batch_size=64, tol=0)
        ours.append(BackpropClassifier(**params).fit(X_train, y_train).score(X_test, y_test))
        theirs.append(MLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) > 0.95
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.01, (ours, theirs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_backprop_alignment_with_itself_is_zero():
    X, y = load_digits(return_X_y=True)
    est = BackpropClassifier(hidden_layer_sizes=(32, 16), max_iter=4, random_state=0).fit(X / 16, y)
    assert list(est.alignment_["epoch"]) == [1, 2, 3, 4]
    assert est.alignment_["update_angle"].shape == (4, 3)
    assert np.all(est.alignment_["update_angle"] == 0)


def test_rule_direction_equals_numpy_backprop():
    rng = np.random.default_rng(3)
    X, y, Y = random_problem("classifier", rng)
    est = BackpropClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=1, random_state=0)
    est.partial_fit(X, y, classes=np.unique(y))
    expected = backprop(X, Y, est.coefs_, est.intercepts_, "tanh", "softmax")
    coefs, intercepts = est._rule_direction(X, y)
    assert relative_error(coefs + intercepts, expected[0] + expected[1]) < 1e-12
