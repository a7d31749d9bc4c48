"""Kickback against RULES.md (NumPy transcription), its guarantee in coherent nets, and
its regression accuracy against backprop on scikit-learn's diabetes data."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold

from _reference import (
    SGD, backprop, forward, gradients_from_deltas, one_step_tolerance, relative_error, set_weights,
    sgd_step_direction,
)
from fastcredit import BackpropRegressor, KickbackRegressor


def kickback(X, y, coefs, intercepts, signs):
    """RULES.md, Kickback: beta = y_hat - y, kappa_j = sum_k w_jk s_k [k active],
    grad w_ij = beta kappa_j [j active] h_i; the output unit has s = +1 and is linear."""
    As, hs = forward(X, coefs, intercepts, "relu", "identity")
    beta = hs[-1][:, 0] - y
    L = len(coefs)
    deltas = [beta[:, None]]
    for k in range(L - 1, 0, -1):  # hidden layer k: a_k = As[k - 1], the next layer's a_{k+1} = As[k]
        if k + 1 == L:
            s_next, active_next = np.ones(1), np.ones_like(As[k])
        else:
            s_next, active_next = np.ravel(signs[k]), (As[k] > 0).astype(float)
        kappa = np.einsum("jk,k,nk->nj", coefs[k], s_next, active_next)
        deltas.insert(0, beta[:, None] * kappa * (As[k - 1] > 0))
    return gradients_from_deltas(hs, deltas)


def coherent_signs(signs, l, n_out):
    """s_j s_k for the weights coefs[l] (l >= 1) of a net with hidden signs `signs`."""
    s_out = np.ravel(signs[l]) if l < len(signs) else np.ones(n_out)
    return np.outer(np.ravel(signs[l - 1]), s_out)


def make_coherent(coefs, signs):
    for l in range(1, len(coefs)):
        coefs[l][...] = coherent_signs(signs, l, coefs[l].shape[1]) * np.abs(coefs[l])


def _problem(rng, n=12, d=5):
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _fitted(X, y, hidden=(7, 6, 5), **kw):
    params = {**SGD, "batch_size": len(X), "random_state": 0, **kw}
    est = KickbackRegressor(hidden_layer_sizes=hidden, **params)
    return est.partial_fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("unit_signs", ["alternating", "random"])
def test_one_step_equals_numpy_kickback(dtype, unit_signs):
    rng = np.random.default_rng(0)
    X, y = _problem(rng)
    X = X.astype(dtype)
    est = _fitted(X, y, coherent=False, unit_signs=unit_signs, dtype=dtype)
    set_weights(est, rng)  # arbitrary (incoherent) weights: the equations hold for any
    Xd = X.astype(np.float64)
    coefs = [c.astype(np.float64) for c in est.coefs_]
    intercepts = [b.astype(np.float64) for b in est.intercepts_]
    expected = kickback(Xd, y, coefs, intercepts, est.unit_signs_)
    actual = sgd_step_direction(est, X, y)
    tolerance = one_step_tolerance(dtype)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < tolerance
    # the rule is not backprop below the top two weight layers
    exact = backprop(Xd, y[:, None], coefs, intercepts, "relu", "identity")
    assert relative_error(expected[0][:2], exact[0][:2]) > 1e-2


def test_coherent_step_is_the_projected_numpy_step():
    rng = np.random.default_rng(1)
    X, y = _problem(rng)
    est = _fitted(X, y, unit_signs="random")
    set_weights(est, rng, scale=0.05)
    make_coherent(est.coefs_, est.unit_signs_)
    old = [c.copy() for c in est.coefs_]
    grads, _ = kickback(X, y, old, est.intercepts_, est.unit_signs_)
    est.partial_fit(X, y)
    clipped = 0
    for l, (W, g) in enumerate(zip(old, grads)):
        step = W - SGD["learning_rate_init"] * g
        if l > 0:
            wrong = step * coherent_signs(est.unit_signs_, l, W.shape[1]) < 0
            clipped += wrong.sum()
            step[wrong] = 0.0
        assert relative_error([est.coefs_[l]], [step]) < 1e-12
    assert clipped > 0  # the projection was exercised


def test_rule_direction_equals_numpy_kickback_and_one_hidden_layer_is_backprop():
    rng = np.random.default_rng(2)
    X, y = _problem(rng)
    est = _fitted(X, y, hidden=(6, 4), unit_signs=[[1, 1, -1, 1, -1, -1], [-1, 1, 1, 1]])
    coefs, intercepts = est._rule_direction(X, y)
    expected = kickback(X, y, est.coefs_, est.intercepts_, est.unit_signs_)
    assert relative_error(coefs + intercepts, expected[0] + expected[1]) < 1e-12

    shallow = _fitted(X, y, hidden=(6,))
    coefs, intercepts = shallow._rule_direction(X, y)
    exact = backprop(X, y[:, None], shallow.coefs_, shallow.intercepts_, "relu", "identity")
    assert relative_error(coefs + intercepts, exact[0] + exact[1]) < 1e-12


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_unit_signs_and_coherent_initial_weights():
    rng = np.random.default_rng(3)
    X, y = _problem(rng, n=30)
    est = _fitted(X, y, hidden=(6, 5, 7))
    assert [s.shape for s in est.unit_signs_] == [(1, 6), (1, 5), (1, 7)]
    assert np.array_equal(est.unit_signs_[1][0], [1, -1, 1, -1, 1])

    random_signs = [_fitted(X, y, hidden=(9, 8), unit_signs="random", random_state=seed).unit_signs_ for seed in (0, 1)]
    for signs in random_signs:
        assert [int(s.sum()) for s in signs] == [1, 0]  # half and half, one more + if odd
    assert not all(np.array_equal(a, b) for a, b in zip(*random_signs))
    again = _fitted(X, y, hidden=(9, 8), unit_signs="random", random_state=0).unit_signs_
    assert all(np.array_equal(a, b) for a, b in zip(again, random_signs[0]))

    flat = [1, -1, -1, 1, 1, -1, 1, 1]
    given = _fitted(X, y, hidden=(3, 5), unit_signs=np.array(flat), coherent=False)
    assert np.concatenate([s.ravel() for s in given.unit_signs_]).tolist() == flat

    # coherent at initialisation even when not enforced afterwards: backprop's initial
    # weights (same seed) with the signs flipped; a 1e-12 step leaves them in place
    tiny = dict(hidden_layer_sizes=(3, 5), random_state=0, **{**SGD, "learning_rate_init": 1e-12})
    plain = BackpropRegressor(**tiny).partial_fit(X, y)
    flipped = KickbackRegressor(**tiny, unit_signs=flat, coherent=False).partial_fit(X, y)
    for l in (1, 2):
        expected = coherent_signs(given.unit_signs_, l, plain.coefs_[l].shape[1]) * np.abs(plain.coefs_[l])
        assert np.allclose(flipped.coefs_[l], expected, rtol=0, atol=1e-9)
    assert np.allclose(flipped.coefs_[0], plain.coefs_[0], rtol=0, atol=1e-9)

    # later partial_fit calls and warm starts keep the signs drawn on the first
    signs = [s.copy() for s in random_signs[0]]
    est = _fitted(X, y, hidden=(9, 8), unit_signs="random", random_state=0, warm_start=True)
    est.partial_fit(X, y).set_params(max_iter=3).fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(est.unit_signs_, signs))


def test_docstring_states_the_rules_own_choices():
    doc = KickbackRegressor.__doc__
    assert "activation : {'relu'}, default='relu'" in doc and "'leaky_relu'" not in doc
    assert "unit_signs :" in doc and "coherent : bool, default=True" in doc


@pytest.mark.parametrize(
    "params, y_shape, match",
    [
        ({}, (20, 2), "scalar target"),
        ({"activation": "tanh"}, (20,), "activation"),
        ({"unit_signs": "balanced"}, (20,), "unit_signs"),
        ({"unit_signs": [1, -1, 1]}, (20,), "one sign per hidden unit"),
        ({"unit_signs": [[1, -1, 1], [1, 1, 1]]}, (20,), "one sign per hidden unit"),
        ({"unit_signs": [1, -1, 0.5, 1, 1, 1]}, (20,), r"only \+1 and -1"),
    ],
)
def test_invalid_input_is_refused_before_any_work(params, y_shape, match):
    rng = np.random.default_rng(4)
    est = KickbackRegressor(hidden_layer_sizes=(4, 2), **params)
    with pytest.raises(ValueError, match=match):
        est.fit(rng.standard_normal((20, 3)), rng.standard_normal(y_shape))
    assert not hasattr(est, "coefs_")


def _random_coherent_net(rng, coherent=True):
    """A KickbackRegressor on random data with random depth, widths, unit signs and
    (coherent unless told otherwise) weights."""
    hidden = tuple(int(n) for n in rng.integers(2, 9, size=rng.integers(2, 5)))
    d = int(rng.integers(1, 6))
    signs = [rng.choice([-1, 1], size=n) for n in hidden]
    X, y = rng.standard_normal((4, d)), rng.standard_normal(4)
    est = _fitted(X, y, hidden=hidden, unit_signs=signs, coherent=coherent)
    set_weights(est, rng)
    if coherent:
        make_coherent(est.coefs_, est.unit_signs_)
    return est, d


def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def test_coherent_update_follows_the_gradient_on_every_example():
    """The paper's guarantee, within its conditions: coherent net (sign(w_jk) = s_j s_k
    for every weight leaving a hidden unit), rectifier hidden units, one linear output
    of sign +1, squared error, one example (the paper's online setting), no L2.
    Every coordinate of the update has the sign of the negative gradient or one of them
    is 0, and the inner product is > 0 whenever the error is not 0."""
    rng = np.random.default_rng(5)
    for _ in range(300):
        est, d = _random_coherent_net(rng)
        x, y = rng.standard_normal((1, d)), rng.standard_normal(1)
        direction = _flat(sum(est._rule_direction(x, y), []))  # the step is -lr * direction
        exact = backprop(x, y[:, None], est.coefs_, est.intercepts_, "relu", "identity")
        gradient = _flat(exact[0] + exact[1])
        assert np.all(direction * gradient >= 0)
        assert direction @ gradient > 0


def _layer_products(est, X, y):
    coefs, _ = est._rule_direction(X, y)
    exact, _ = backprop(X, y[:, None], est.coefs_, est.intercepts_, "relu", "identity")
    return [float(np.sum(k * g)) for k, g in zip(coefs, exact)]


def test_coherence_is_what_makes_the_guarantee():
    """Within the same setting, random incoherent nets do move against the gradient in
    some layer below the top two (where Kickback differs from backprop)."""
    rng = np.random.default_rng(6)
    against = 0
    for _ in range(200):
        est, d = _random_coherent_net(rng, coherent=False)
        x, y = rng.standard_normal((1, d)), rng.standard_normal(1)
        against += min(_layer_products(est, x, y)) < -1e-12
    assert against >= 60  # 122 of 200 with this seed


def test_coherent_batches_with_one_sided_errors_follow_the_gradient_per_layer():
    """Over a batch the guarantee survives when every input is >= 0 and every error has
    the same sign (all cross-example terms are then >= 0 too): tested per layer."""
    rng = np.random.default_rng(7)
    for _ in range(150):
        est, d = _random_coherent_net(rng)
        X = rng.random((16, d))
        prediction = est.predict(X)
        y = prediction + rng.choice([-1, 1]) * rng.random(16)
        assert min(_layer_products(est, X, y)) >= -1e-12


def test_coherent_update_has_positive_inner_product_with_the_gradient_on_random_batches():
    """Beyond the theorem: general random batches (inputs and errors of both signs), 16
    examples, 300 random coherent nets. Cross-example terms may be negative (a single
    layer's product is, in about 2 % of such batches), but the whole update's inner
    product with the gradient stays positive: the top two layers are exact."""
    rng = np.random.default_rng(8)
    for _ in range(300):
        est, d = _random_coherent_net(rng)
        X, y = rng.standard_normal((16, d)), rng.standard_normal(16)
        coefs, intercepts = est._rule_direction(X, y)
        exact = backprop(X, y[:, None], est.coefs_, est.intercepts_, "relu", "identity")
        assert _flat(coefs + intercepts) @ _flat(exact[0] + exact[1]) > 0


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_coherence_keeps_the_update_within_90_degrees_of_the_gradient(diabetes):
    X, y = diabetes
    params = dict(hidden_layer_sizes=(32, 32, 32), max_iter=40, random_state=0)
    enforced = KickbackRegressor(**params).fit(X, y)
    angles = enforced.alignment_["update_angle"]
    assert angles.shape == (40, 4)
    assert np.all(angles[:, :2] < 90) and np.all(angles[:, :2] > 0)
    assert np.all(angles[:, 2:] < 1e-4)  # the top two layers get the exact gradient
    assert np.all(enforced.alignment_["coherence_violation"][:, 1:] == 0)
    assert np.all(np.isnan(enforced.alignment_["coherence_violation"][:, 0]))

    drifting = KickbackRegressor(**params, coherent=False).fit(X, y)
    assert drifting.alignment_["coherence_violation"][-1, 1:].max() > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_diabetes_mse_within_ten_percent_of_backprop(diabetes):
    """Same net (3 x 32 rectifiers), same seeds, Adam at 1e-3, L2 alpha = 1 against
    backprop's overfitting, 200 epochs; test MSE of 5-fold cross-validation on the
    standardised target (variance 1)."""
    X, y = diabetes
    mse = {BackpropRegressor: [], KickbackRegressor: []}
    for seed, (train, test) in enumerate(KFold(5, shuffle=True, random_state=0).split(X)):
        for cls in mse:
            est = cls(hidden_layer_sizes=(32, 32, 32), alpha=1.0, max_iter=200, random_state=seed)
            est.fit(X[train], y[train])
            mse[cls].append(np.mean((est.predict(X[test]) - y[test]) ** 2))
    backprop_mse, kickback_mse = np.mean(mse[BackpropRegressor]), np.mean(mse[KickbackRegressor])
    assert kickback_mse < 0.6
    assert kickback_mse <= 1.10 * backprop_mse, (kickback_mse, backprop_mse)
