"""Layer specs (fastcredit.layers) and estimators built from them: value semantics, the
shapes of every fitted array, validation before any work, and the estimator machinery
(pickle, warm start, partial_fit, clone, GridSearchCV, sweep) on conv and LC networks."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from fastcredit import (
    BackpropClassifier,
    DifferenceTargetPropagationClassifier,
    FeedbackAlignmentClassifier,
    KickbackRegressor,
    sweep,
)
from fastcredit.layers import Conv2d, Dense, LocallyConnected2d

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0)[:300], y[:300]


SMALL = [Conv2d(channels=3, kernel_size=3, padding=1), LocallyConnected2d(channels=4, kernel_size=3, stride=2),
         Dense(7)]


def small(cls=BackpropClassifier, **params):
    return cls(layers=SMALL, input_shape=(1, 8, 8), max_iter=2, batch_size=64, random_state=0, **params)


# ------------------------------------------------------------------ specs
def test_specs_are_values():
    a = Conv2d(channels=32, kernel_size=3, stride=2, padding=1)
    assert a == Conv2d(32, (3, 3), stride=(2, 2), padding=(1, 1))
    assert a != LocallyConnected2d(32, 3, stride=2, padding=1) and a != Conv2d(32, 3, stride=1, padding=1)
    assert hash(a) == hash(Conv2d(32, 3, 2, 1))
    assert repr(a) == "Conv2d(channels=32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert repr(Dense(5)) == "Dense(units=5)"
    assert eval(repr(a)) == a  # noqa: S307 - the repr is the constructor call
    assert pickle.loads(pickle.dumps(a)) == a
    assert LocallyConnected2d(4, (3, 5), stride=(1, 2)).kernel_size == (3, 5)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Conv2d(0, 3), ValueError, "channels"),
        (lambda: Conv2d(4, 3, stride=0), ValueError, "stride"),
        (lambda: LocallyConnected2d(4, 0), ValueError, "kernel_size"),
        (lambda: Conv2d(4, 3, padding=-1), ValueError, "padding"),
        (lambda: Conv2d(4, (3, 3, 3)), ValueError, "pair"),
        (lambda: Conv2d(4, 2.5), TypeError, "kernel_size"),
        (lambda: Conv2d(True, 3), TypeError, "channels"),
        (lambda: Dense(0), ValueError, "units"),
        (lambda: Dense("8"), TypeError, "units"),
    ],
)
def test_invalid_specs_are_refused_when_made(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ------------------------------------------------------------------ shapes
def test_fitted_arrays_take_the_documented_shapes(digits):
    X, y = digits
    est = FeedbackAlignmentClassifier(
        layers=[LocallyConnected2d(channels=5, kernel_size=3, stride=2, padding=1),
                Conv2d(channels=6, kernel_size=(2, 3), stride=(1, 2)), 9],
        input_shape=(1, 8, 8), max_iter=1, random_state=0).fit(X, y)
    # LC: 8x8 -> 4x4 (pad 1, stride 2); conv (2x3, stride 1x2): 4x4 -> 3x1; dense 18 -> 9 -> 10
    assert [c.shape for c in est.coefs_] == [(5, 4, 4, 1, 3, 3), (6, 5, 2, 3), (18, 9), (9, 10)]
    assert [b.shape for b in est.intercepts_] == [(5, 4, 4), (6,), (9,), (10,)]
    assert [B.shape for B in est.feedback_weights_] == [c.shape for c in est.coefs_[1:]]
    assert est.predict_proba(X).shape == (len(X), 10)


def test_inverse_kernels_take_the_shape_of_the_kernel_they_invert(digits):
    X, y = digits
    est = DifferenceTargetPropagationClassifier(
        layers=[Conv2d(3, 3), LocallyConnected2d(4, 2, stride=2), 8], input_shape=(1, 8, 8), max_iter=1,
        random_state=0).fit(X, y)
    # inverses of layers 2 and 3 (DTP: none for the first layer nor the output)
    assert [V.shape for V in est.inverse_coefs_] == [est.coefs_[1].shape, (8, 36)]
    assert [c.shape for c in est.inverse_intercepts_] == [(1, 3 * 6 * 6), (1, 36)]


def test_ints_in_layers_mean_dense_and_match_hidden_layer_sizes(digits):
    X, y = digits
    a = BackpropClassifier(layers=[12, Dense(7)], max_iter=3, random_state=0).fit(X, y)
    b = BackpropClassifier(hidden_layer_sizes=(12, 7), max_iter=3, random_state=0).fit(X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(wa, wb)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "params, message",
    [
        ({"layers": [Conv2d(3, 3)]}, "input_shape"),
        ({"layers": [Conv2d(3, 3)], "input_shape": (1, 8, 7)}, "56 values but X has 64 features"),
        ({"layers": [Conv2d(3, 9)], "input_shape": (1, 8, 8)}, r"layer 0 \(Conv2d\): kernel 9x9 is larger than "
                                                              r"its padded input 8x8 \(input shape \(1, 8, 8\)\)"),
        ({"layers": [LocallyConnected2d(3, 4, stride=4), Conv2d(2, 3)], "input_shape": (1, 8, 8)},
         r"layer 1 \(Conv2d\): kernel 3x3 is larger than its padded input 2x2 \(input shape \(3, 2, 2\)\)"),
        ({"layers": [Dense(5), Conv2d(2, 2)], "input_shape": (1, 8, 8)}, r"layer 1 \(Conv2d\).*\(5, 1, 1\)"),
        ({"layers": ["conv"]}, "layers"),
        ({"layers": [Conv2d(3, 3)], "input_shape": (1, 8)}, "input_shape"),
    ],
)
def test_bad_layer_stacks_are_refused_before_any_work(params, message, digits):
    X, y = digits
    est = BackpropClassifier(max_iter=1, **params)
    with pytest.raises((ValueError, TypeError), match=message):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def test_kickback_refuses_conv_and_lc_layers(digits):
    X, y = digits
    with pytest.raises(ValueError, match="dense layers only"):
        KickbackRegressor(layers=[Conv2d(2, 3)], input_shape=(1, 8, 8), max_iter=1).fit(X, y.astype(float))


# ------------------------------------------------------------------ machinery
def test_pickle_warm_start_and_partial_fit(digits):
    X, y = digits
    est = small().fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    # warm start continues from the fitted kernels; partial_fit runs one more epoch
    est.set_params(warm_start=True, max_iter=1)
    before = [c.copy() for c in est.coefs_]
    est.fit(X, y)
    assert est.n_iter_ == 3 and all(b.shape == c.shape and not np.array_equal(b, c)
                                    for b, c in zip(before, est.coefs_))
    est.partial_fit(X, y)
    assert est.n_iter_ == 4
    # a different stack on warm start is refused, not silently reshaped
    est.set_params(layers=[Conv2d(2, 3, padding=1), Dense(7)])
    with pytest.raises(ValueError, match="does not match"):
        est.fit(X, y)


def test_clone_and_grid_search_see_layers_as_parameters(digits):
    X, y = digits
    est = small()
    copy = clone(est)
    assert copy.layers == est.layers and copy.layers is not est.layers
    grid = GridSearchCV(est, {"layers": [SMALL, [Conv2d(2, 3), Dense(5)]]}, cv=2).fit(X, y)
    assert grid.best_params_["layers"] in (SMALL, [Conv2d(2, 3), Dense(5)])


def test_sweep_fits_conv_nets_as_fit_does(digits):
    X, y = digits
    est = small()
    row = sweep(est, X, y, seeds=[3], validation=None, progress=False, return_estimators=True).iloc[0]
    assert row["status"] == "ok", row["error"]
    plain = clone(est).set_params(random_state=3).fit(X, y)
    for wa, wb in zip(plain.coefs_, row["fitted_estimator"].coefs_):
        np.testing.assert_array_equal(wa, wb)


def test_same_seed_same_bits(digits):
    X, y = digits
    a, b = small().fit(X, y), small().fit(X, y)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(wa, wb)


def test_one_fit_on_two_threads_gives_the_same_bits_every_time(digits):
    """n_jobs splits the products, LC positions and patches over the fit's
    threads: the same n_jobs gives the same weights; another n_jobs the same to rounding."""
    X, y = digits
    a, b = small(n_jobs=2).fit(X, y), small(n_jobs=2).fit(X, y)
    one = small(n_jobs=1).fit(X, y)
    for wa, wb, w1 in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, one.coefs_ + one.intercepts_):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_allclose(wa, w1, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="n_jobs"):
        small(n_jobs=0).fit(X, y)
