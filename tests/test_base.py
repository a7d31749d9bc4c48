"""Behaviour shared by every estimator, exercised through backprop."""

import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from fastcredit import BackpropClassifier, BackpropRegressor, DivergenceError

# Short fits stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def small(**kw):
    return BackpropClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0, **kw)


def test_same_random_state_gives_bit_identical_weights(digits):
    X, y = digits
    # Several refits: NumPy places the arrays at different alignments each time, which
    # must not change a single bit.
    a = small().fit(X, y)
    for _ in range(4):
        b = small().fit(X, y)
        for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            assert np.array_equal(wa, wb)
    c = BackpropClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_pickle_round_trip_predicts_identically(digits):
    X, y = digits
    est = small().fit(X, y)
    clone = pickle.loads(pickle.dumps(est))
    assert np.array_equal(est.predict_proba(X), clone.predict_proba(X))
    clone.partial_fit(X, y)  # the unpickled estimator keeps training
    assert clone.n_iter_ == est.n_iter_ + 1


def test_float32_input_trains_in_float32(digits):
    X, y = digits
    est = small().fit(X.astype(np.float32), y)
    assert est.coefs_[0].dtype == np.float32
    assert est.predict_proba(X).dtype == np.float32
    assert small(dtype="float32").fit(X, y).coefs_[0].dtype == np.float32
    assert small(dtype=np.float64).fit(X.astype(np.float32), y).coefs_[0].dtype == np.float64


def test_fitted_attributes_follow_mlpclassifier(digits):
    X, y = digits
    est = small().fit(X, y)
    assert [c.shape for c in est.coefs_] == [(64, 16), (16, 10)]
    assert len(est.loss_curve_) == est.n_iter_ == 5
    assert est.t_ == 5 * len(X)
    assert est.n_features_in_ == 64 and est.n_layers_ == 3 and est.out_activation_ == "softmax"
    assert est.best_loss_ == min(est.loss_curve_) and est.validation_scores_ is None
    assert list(est.classes_) == list(range(10))
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1, rtol=1e-10)


def test_binary_multilabel_and_multioutput():
    X, Y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    est = BackpropClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, Y)
    assert est.out_activation_ == "logistic" and est.predict(X).shape == Y.shape
    assert est.score(X, Y) > 0.5
    yb = Y[:, 0]
    binary = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, yb)
    assert binary.predict_proba(X).shape == (200, 2) and binary.score(X, yb) > 0.8
    Xr, yr = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=0)
    reg = BackpropRegressor(hidden_layer_sizes=(32,), max_iter=500, learning_rate_init=0.01, random_state=0)
    assert reg.fit(Xr, yr / 100).predict(Xr).shape == (200, 3)
    assert reg.score(Xr, yr / 100) > 0.9


def test_warm_start_and_partial_fit_continue(digits):
    X, y = digits
    est = small(warm_start=True).fit(X, y)
    first = est.coefs_[0].copy()
    est.fit(X, y)
    assert est.n_iter_ == 10 and len(est.loss_curve_) == 10
    assert est.loss_curve_[-1] < est.loss_curve_[4]
    assert not np.array_equal(first, est.coefs_[0])
    inc = BackpropClassifier(hidden_layer_sizes=(16,), random_state=0)
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.arange(10))
    assert inc.n_iter_ == 3 and inc.loss_curve_[2] < inc.loss_curve_[0]


def test_continued_fits_refuse_what_they_cannot_continue(digits):
    # warm_start and partial_fit continue the fitted weights; a change they cannot carry
    # over is a clear error naming it, and the fitted weights are left as they were.
    X, y = digits
    est = small(warm_start=True, dtype="float64").fit(X, y)
    before = est.coefs_[0].copy()
    for change, data, message in [
        (dict(hidden_layer_sizes=(12,)), (X, y), "does not match"),
        (dict(dtype="float32"), (X, y), "dtype='float32', but the fitted weights are float64"),
        ({}, (X, np.where(y == 9, 10, y)), "same classes"),
    ]:
        with pytest.raises(ValueError, match=message):
            est.set_params(**change).fit(*data)
        est.set_params(hidden_layer_sizes=(16,), dtype="float64")
    assert np.array_equal(before, est.coefs_[0])
    est.fit(X.astype(np.float32), y)  # dtype=None would pick float32 for a fresh fit: kept
    assert est.coefs_[0].dtype == np.float64
    inc = BackpropClassifier(hidden_layer_sizes=(16,), random_state=0).partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="is not the same as on last call"):
        inc.partial_fit(X, y, classes=np.arange(11))
    with pytest.raises(ValueError, match="classes not in"):
        inc.partial_fit(X, np.where(y == 9, 10, y))
    reg = BackpropRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    Y = np.c_[y, -y] / 10.0
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, Y[:, 0])
    for continued in (lambda: reg.set_params(warm_start=True).fit(X, Y), lambda: reg.partial_fit(X, Y)):
        with pytest.raises(ValueError, match=r"y has 2 output\(s\) per sample, the fitted network 1"):
            continued()


def test_early_stopping_keeps_the_best_validation_model(digits):
    X, y = digits
    est = BackpropClassifier(hidden_layer_sizes=(16,), early_stopping=True, n_iter_no_change=3, max_iter=300,
                             random_state=0, learning_rate_init=0.01).fit(X, y)
    assert est.n_iter_ < 300
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None


def test_adaptive_learning_rate_divides_by_five_on_plateau(digits):
    X, y = digits
    est = BackpropClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive", tol=10.0,
                             n_iter_no_change=1, max_iter=4, random_state=0)
    est.fit(X, y)
    assert est._progress["learning_rate"] == pytest.approx(1e-3 / 5)


def test_verbose_prints_one_line_per_epoch(digits, capsys):
    X, y = digits
    BackpropClassifier(hidden_layer_sizes=(8,), verbose=True, max_iter=3).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Iteration 1, loss = ")


def test_divergence_is_detected_and_named(digits):
    X, y = make_regression(n_samples=100, n_features=5, random_state=0)
    est = BackpropRegressor(solver="sgd", learning_rate_init=1e3, max_iter=50, random_state=0)
    with pytest.raises(DivergenceError, match=r"non-finite in epoch \d+, batch \d+.*learning_rate_init"):
        est.fit(X * 1e3, y * 1e6)
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_ctrl_c_stops_a_long_fit_and_leaves_a_usable_estimator(digits):
    X, y = digits
    est = BackpropClassifier(hidden_layer_sizes=(64,), max_iter=100000, tol=0, n_iter_no_change=np.inf,
                             random_state=0)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert time.perf_counter() - start < 5
    assert 0 < est.n_iter_ < 100000
    assert est.predict(X).shape == y.shape
    before = est.n_iter_
    est.set_params(max_iter=2, warm_start=True)
    est.fit(X, y)  # still trainable
    assert est.n_iter_ == before + 2


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (5, -1)}, "hidden_layer_sizes"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"learning_rate_init": -1.0}, "learning_rate_init"),
        ({"alpha": -1.0}, "alpha"),
        ({"max_iter": 0}, "max_iter"),
        ({"batch_size": 0}, "batch_size"),
        ({"momentum": 1.5}, "momentum"),
        ({"activation": "sigmoid"}, "activation"),
        ({"solver": "lbfgs"}, "solver"),
        ({"dtype": "float16"}, "dtype"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_invalid_hyper_parameters_are_refused_before_any_work(digits, params, match):
    X, y = digits
    with pytest.raises((ValueError, InvalidParameterError), match=match):
        BackpropClassifier(**params).fit(X, y)


def test_invalid_dtype_type_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="dtype"):
        BackpropClassifier(dtype=np.int32).fit(X, y)


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.zeros((0, 3)), np.zeros(0), ValueError, "0 sample"),
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), [0, 1], ValueError, "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0]]), [0, 1], ValueError, "infinity"),
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], ValueError, "convert"),
        (np.ones((4, 2)), [0, 0, 0, 0], ValueError, "one class"),
        (np.ones((4, 2)), [0, 1, 0], ValueError, "inconsistent numbers of samples"),
        (np.ones(4), [0, 1, 0, 1], ValueError, "2D array"),
        (np.ones((4, 2)), [0.5, 1.5, 0.1, 2.2], ValueError, "Unknown label type"),
    ],
)
def test_bad_training_data_gets_a_clear_error(X, y, error, match):
    with pytest.raises(error, match=match):
        BackpropClassifier(max_iter=2).fit(X, y)


def test_bad_prediction_input_and_partial_fit_classes(digits):
    X, y = digits
    est = small().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :10])
    with pytest.raises(ValueError, match="NaN"):
        est.predict(np.full_like(X, np.nan))
    inc = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, y)
    inc.partial_fit(X[y < 5], y[y < 5], classes=np.arange(5))
    with pytest.raises(ValueError, match="classes not in"):
        inc.partial_fit(X, y)


def test_regressor_rejects_non_numeric_targets():
    with pytest.raises(ValueError):
        BackpropRegressor(max_iter=2).fit(np.ones((4, 2)), ["a", "b", "c", "d"])


def test_diagnostics_schedule_and_accumulation(digits):
    X, y = digits
    off = small(diagnostics_every=0).fit(X, y)
    assert len(off.alignment_["epoch"]) == 0 and "update_angle" not in off.alignment_
    every2 = BackpropClassifier(hidden_layer_sizes=(16,), diagnostics_every=2, max_iter=6, warm_start=True,
                                random_state=0).fit(X, y)
    assert list(every2.alignment_["epoch"]) == [2, 4, 6]
    every2.fit(X, y)
    assert list(every2.alignment_["epoch"]) == [2, 4, 6, 8, 10, 12]
    assert every2.alignment_["update_angle"].shape == (6, 2)
