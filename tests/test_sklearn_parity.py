"""BackpropClassifier/Regressor against scikit-learn's MLPClassifier/MLPRegressor
themselves: started from the same weights, full batch, no shuffling, float64, every
solver and learning-rate schedule, several epochs: the weights agree to rounding. This is
the reference for the optimizers (scikit-learn's formulas are the ones we promise)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from fastcredit import BackpropClassifier, BackpropRegressor

SOLVERS = {
    "sgd": dict(solver="sgd", momentum=0.0),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    "nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    "invscaling": dict(solver="sgd", momentum=0.9, learning_rate="invscaling", power_t=0.3),
    # tol larger than any improvement: every epoch counts as none, so the rate drops by 5
    # each time the count passes n_iter_no_change.
    "adaptive": dict(solver="sgd", momentum=0.5, learning_rate="adaptive", tol=10.0, n_iter_no_change=1),
    "adam": dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-7),
}
EPOCHS = 6


def _problem(kind, rng, n=40, d=6):
    X = rng.standard_normal((n, d))
    y = np.arange(n) % 3 if kind == "classifier" else rng.standard_normal((n, 2))
    return X, y


def _pair(kind, settings):
    ours, theirs = (BackpropClassifier, MLPClassifier) if kind == "classifier" else (BackpropRegressor, MLPRegressor)
    common = dict(hidden_layer_sizes=(7, 5), activation="tanh", alpha=1e-2, batch_size=40, shuffle=False,
                  learning_rate_init=0.05, random_state=0, **settings)
    return ours(**common, dtype=np.float64), theirs(**common)


def _same_start(ours, theirs, rng):
    """Both at the same weights, optimizers fresh (samples seen kept on both sides)."""
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        mine[...] = 0.5 * rng.standard_normal(mine.shape)
        their[...] = mine
    ours._reset_optimizer()
    del theirs._optimizer  # scikit-learn makes a new one at the next partial_fit


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_epochs_equal_scikit_learn(kind, solver):
    rng = np.random.default_rng(0)
    X, y = _problem(kind, rng)
    ours, theirs = _pair(kind, SOLVERS[solver])
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.partial_fit(X, y, **extra)
        theirs.partial_fit(X, y, **extra)
        _same_start(ours, theirs, rng)
        start = [W.copy() for W in ours.coefs_]
        for _ in range(EPOCHS):
            ours.partial_fit(X, y)
            theirs.partial_fit(X, y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_[-EPOCHS:], theirs.loss_curve_[-EPOCHS:], rtol=1e-10)
    if solver == "adaptive":  # the schedule acted, on both sides alike
        assert theirs._optimizer.learning_rate < theirs.learning_rate_init / 5
        assert ours._progress["learning_rate"] == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)
    # The weights moved well beyond the tolerance: a test of the optimizer, not of a no-op.
    assert all(np.abs(W - W0).max() > 1e-3 for W, W0 in zip(ours.coefs_, start))
