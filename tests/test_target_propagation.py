"""Target propagation (DTP, SDTP, AO-SDTP) against a NumPy transcription of RULES.md,
with the engine's noise regenerated independently; its inverses learn; it learns digits."""

import copy
import pickle

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from _reference import SGD, one_step_tolerance, relative_error, set_weights
from _target_propagation_reference import sgd_step
from fastcredit import (
    AuxiliaryOutputSDTPClassifier,
    DifferenceTargetPropagationClassifier,
    DifferenceTargetPropagationRegressor,
    SimplifiedDTPClassifier,
)
from fastcredit import _core
from fastcredit._base import _SEED_BOUND

VARIANTS = {
    "dtp": (DifferenceTargetPropagationClassifier, dict(target_step=0.3)),
    "dtp-regressor": (DifferenceTargetPropagationRegressor, dict(target_step=0.3)),
    "sdtp": (SimplifiedDTPClassifier, {}),
    "sdtp-partial-step": (SimplifiedDTPClassifier, dict(target_step=0.2)),
    "aosdtp": (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=4)),
    "aosdtp-partial-step": (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=4, target_step=0.2)),
}
CLASSIFIERS = [DifferenceTargetPropagationClassifier, SimplifiedDTPClassifier, AuxiliaryOutputSDTPClassifier]


def _problem(regression, rng, n=12, d=5, k=3):
    X = rng.standard_normal((n, d))
    if regression:
        y = rng.standard_normal((n, 2))
        return X, y, y
    y = np.arange(n) % k
    return X, y, np.eye(k)[y]


class EngineNoise:
    """The fit's noise: consecutive NormalNoise fills (noise.hpp) from the engine's stream
    Rng(seed), as `_core.normal_noise` returns them, served in the order they are asked for."""

    def __init__(self, seed, dtype):
        self.seed, self.dtype, self.sizes = seed, np.dtype(dtype).name, []

    def standard_normal(self, shape):
        n = int(np.prod(shape))
        self.sizes.append(n)
        return _core.normal_noise(self.seed, self.sizes, self.dtype)[-n:].astype(np.float64).reshape(shape)


def _fit_kwargs(est, y):
    return {"classes": np.unique(y)} if hasattr(est, "predict_proba") else {}


def _state(est):
    as64 = lambda arrays: [a.astype(np.float64) for a in arrays]  # noqa: E731
    return {
        "coefs": as64(est.coefs_),
        "intercepts": as64(est.intercepts_),
        "inverse_coefs": as64(est.inverse_coefs_),
        "inverse_intercepts": as64(est.inverse_intercepts_),
        "projection": est.auxiliary_projection_[0].astype(np.float64) if hasattr(est, "auxiliary_projection_") else None,
    }


@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_one_step_equals_numpy(variant, schedule, dtype, activation):
    rng = np.random.default_rng(0)
    cls, extra = VARIANTS[variant]
    X, y, Y = _problem(cls is DifferenceTargetPropagationRegressor, rng)
    X = X.astype(dtype)
    est = cls(hidden_layer_sizes=(7, 6, 5), activation=activation, batch_size=len(X), random_state=0, dtype=dtype,
              schedule=schedule, inverse_learning_rate=0.05, inverse_noise_std=0.3, **extra, **SGD)
    est.partial_fit(X, y, **_fit_kwargs(est, y))
    set_weights(est, rng)
    for array in est.inverse_coefs_ + est.inverse_intercepts_:
        array[...] = 0.5 * rng.standard_normal(array.shape)
    before = _state(est)
    # The noise is the fit's random stream: regenerate it from the seed this call will draw.
    seed = copy.deepcopy(est._random_state).randint(_SEED_BOUND)
    est.partial_fit(X, y)
    expected = sgd_step(X.astype(np.float64), Y, before, activation, est.out_activation_, variant.split("-")[0],
                        schedule, extra.get("target_step"), 0.3, 0.1, 0.05, EngineNoise(seed, dtype))
    actual = _state(est)
    tolerance = one_step_tolerance(dtype)
    for key in ("coefs", "intercepts", "inverse_coefs", "inverse_intercepts"):
        moved = [a - b for a, b in zip(actual[key], before[key])]
        expected_moves = [e - b for e, b in zip(expected[key], before[key])]
        assert relative_error(moved, expected_moves) < tolerance, key


def _adam_moves(gradients, first, second, step, lr, b1, b2, eps):
    """scikit-learn's Adam (as MLPClassifier) on a list of gradients: the moves, in place
    updates of the moments."""
    lr_t = lr * np.sqrt(1 - b2**step) / (1 - b1**step)
    moves = []
    for g, m, v in zip(gradients, first, second):
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        moves.append(-lr_t * m / (np.sqrt(v) + eps))
    return moves


@pytest.mark.parametrize("variant", ["dtp", "sdtp-partial-step", "aosdtp"])
def test_two_adam_steps_of_forward_weights_and_inverses_equal_numpy(variant):
    # The inverses have an optimizer of their own (inverse_learning_rate, same solver):
    # Adam on both, from fresh moments, two steps, against NumPy Adam on the reference's
    # gradients (parallel schedule: both see the same forward pass).
    rng = np.random.default_rng(5)
    cls, extra = VARIANTS[variant]
    X, y, Y = _problem(False, rng)
    adam = dict(solver="adam", beta_1=0.8, beta_2=0.95, epsilon=1e-2, learning_rate_init=0.01, alpha=0.0,
                shuffle=False)
    est = cls(hidden_layer_sizes=(7, 6, 5), batch_size=len(X), random_state=0, dtype=np.float64, schedule="parallel",
              inverse_learning_rate=0.02, inverse_noise_std=0.3, **extra, **adam)
    est.partial_fit(X, y, classes=np.unique(y))
    set_weights(est, rng)
    for array in est.inverse_coefs_ + est.inverse_intercepts_:
        array[...] = 0.5 * rng.standard_normal(array.shape)
    est._reset_optimizer()
    for name, array in est._named_rule_state():
        if name.startswith("inverse_optimizer"):
            array[...] = 0.0
    keys = ("coefs", "intercepts", "inverse_coefs", "inverse_intercepts")
    params = _state(est)
    moments = {k: ([np.zeros_like(a) for a in params[k]], [np.zeros_like(a) for a in params[k]]) for k in keys}
    for step in (1, 2):
        seed = copy.deepcopy(est._random_state).randint(_SEED_BOUND)
        est.partial_fit(X, y)
        # Unit rates: the reference's SGD step then moves each array by minus its gradient.
        moved = sgd_step(X, Y, params, est.activation, est.out_activation_,
                         variant.split("-")[0], "parallel", extra.get("target_step"), 0.3, 1.0, 1.0,
                         EngineNoise(seed, np.float64))
        for key in keys:
            gradients = [b - a for a, b in zip(moved[key], params[key])]
            lr = est.learning_rate_init if not key.startswith("inverse") else est.inverse_learning_rate
            moves = _adam_moves(gradients, *moments[key], step, lr, 0.8, 0.95, 1e-2)
            params[key] = [a + m for a, m in zip(params[key], moves)]
        actual = _state(est)
        for key in keys:
            assert relative_error(actual[key], params[key]) < 1e-10, (step, key)


def test_dtp_penultimate_layer_follows_the_gradient():
    """beta dLoss/dh_{L-1} as the target difference makes layer L-1's update the backprop
    gradient times beta, and the top layer's is backprop's: their update angles are 0."""
    X, y = load_digits(return_X_y=True)
    est = DifferenceTargetPropagationClassifier(hidden_layer_sizes=(16, 16, 16), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est.fit(X / 16, y)
    angles = est.alignment_["update_angle"][-1]
    np.testing.assert_allclose(angles[-2:], 0, atol=1e-3)
    assert np.all(angles[:-2] > 1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_inverses_learn(cls):
    X, y = load_digits(return_X_y=True)
    est = cls(hidden_layer_sizes=(32, 32, 32), max_iter=8, random_state=0, inverse_learning_rate=3e-3)
    if cls is AuxiliaryOutputSDTPClassifier:
        est.set_params(auxiliary_output_size=64)
    est.fit(X / 16, y)
    errors = est.alignment_["inverse_reconstruction_error"]
    learned = [1, 2] if cls is DifferenceTargetPropagationClassifier else [1, 2, 3]
    assert np.all(np.isnan(errors[:, [l for l in range(4) if l not in learned]]))
    assert np.all(errors[-1, learned] < 0.85 * errors[0, learned]), errors[[0, -1]]
    # Hidden-to-hidden inverses can become near-exact; SDTP's g_L must rebuild h_{L-1} from
    # the 10 class probabilities alone, an information bottleneck.
    assert np.all(errors[-1, [1, 2]] < 0.6 * errors[0, [1, 2]]), errors[[0, -1]]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_learns_digits(cls, schedule):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)
    est = cls(hidden_layer_sizes=(64, 64), max_iter=25, random_state=0, batch_size=64, schedule=schedule)
    if cls is AuxiliaryOutputSDTPClassifier:
        est.set_params(auxiliary_output_size=128)
    assert est.fit(X_train, y_train).score(X_test, y_test) > 0.9  # chance: 0.1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_learns():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (600, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    est = DifferenceTargetPropagationRegressor(hidden_layer_sizes=(32, 32), max_iter=60, random_state=0, batch_size=32)
    assert est.fit(X[:400], y[:400]).score(X[400:], y[400:]) > 0.9


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auxiliary_projection_is_a_fixed_gaussian_drawn_per_seed():
    # RULES.md, AO-SDTP: z = R h_{L-1}, R fixed and untrained; drawn N(0, 1 / n_{L-1}) so
    # that z has the scale of h_{L-1}'s units (layer_inverses.hpp).
    X, y = load_digits(return_X_y=True)
    X = X / 16
    est = AuxiliaryOutputSDTPClassifier(hidden_layer_sizes=(16, 16, 16), max_iter=2, random_state=0).fit(X, y)
    R = est.auxiliary_projection_[0].copy()
    assert R.shape == (16, 512)
    assert abs(R.mean()) < 4 / np.sqrt(R.size) / np.sqrt(16)  # 4 standard errors
    assert R.std() == pytest.approx(1 / np.sqrt(16), rel=0.05)
    est.partial_fit(X, y)
    est.set_params(warm_start=True).fit(X, y)
    assert np.array_equal(R, est.auxiliary_projection_[0])  # never trained, never redrawn
    other = AuxiliaryOutputSDTPClassifier(hidden_layer_sizes=(16, 16, 16), max_iter=2, random_state=1).fit(X, y)
    assert np.abs(other.auxiliary_projection_[0] - R).max() > 0.1
    refit = AuxiliaryOutputSDTPClassifier(hidden_layer_sizes=(16, 16, 16), max_iter=2, random_state=0).fit(X, y)
    assert np.array_equal(refit.auxiliary_projection_[0], R)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", [DifferenceTargetPropagationClassifier, AuxiliaryOutputSDTPClassifier])
def test_pickled_state_continues_identically(cls):
    """Inverse weights, their optimizer moments and step count travel with the estimator."""
    X, y = load_digits(return_X_y=True)
    est = cls(hidden_layer_sizes=(16, 16, 16), max_iter=2, random_state=0).fit(X / 16, y)
    if cls is AuxiliaryOutputSDTPClassifier:
        assert est.auxiliary_projection_[0].shape == (16, 512)
    assert est.inverse_optimizer_steps_[0][0, 0] == 2 * np.ceil(len(X) / 200)
    clone = pickle.loads(pickle.dumps(est))
    est.partial_fit(X / 16, y)
    clone.partial_fit(X / 16, y)
    for a, b in zip(est.inverse_coefs_ + est.inverse_optimizer_state_ + est.coefs_,
                    clone.inverse_coefs_ + clone.inverse_optimizer_state_ + clone.coefs_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "cls, params",
    [
        (DifferenceTargetPropagationClassifier, dict(target_step=0.0)),
        (DifferenceTargetPropagationRegressor, dict(target_step=-1.0)),
        (DifferenceTargetPropagationClassifier, dict(inverse_learning_rate=0.0)),
        (SimplifiedDTPClassifier, dict(inverse_noise_std=-0.1)),
        (SimplifiedDTPClassifier, dict(schedule="sequential")),
        (SimplifiedDTPClassifier, dict(target_step=1.5)),
        (AuxiliaryOutputSDTPClassifier, dict(target_step=0.0)),
        (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=0)),
        (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=2.5)),
    ],
)
def test_invalid_parameters_raise(cls, params):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match=next(iter(params))):
        cls(**params).fit(X[:50], y[:50])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("hidden", [(), (5,), (5, 4)])
@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_inverses_exist_where_targets_need_them(cls, hidden):
    """DTP inverts layers 2..L-1 (its top target is a gradient step), SDTP layers 2..L."""
    X, y = load_digits(return_X_y=True)
    est = cls(hidden_layer_sizes=hidden, max_iter=2, random_state=0).fit(X[:100] / 16, y[:100])
    L = len(hidden) + 1
    expected = max(0, L - 2) if cls is DifferenceTargetPropagationClassifier else L - 1
    assert len(getattr(est, "inverse_coefs_", [])) == expected
    assert est.inverse_optimizer_steps_[0][0, 0] == (2 if expected else 0)
    assert np.isnan(est.alignment_["inverse_reconstruction_error"][-1]).sum() == L - expected
