"""The engine's conv and locally-connected layers against the NumPy references: forward
passes, backprop's gradients (reference and finite differences), one plain-SGD step of
every rule on small nets with a Conv2d and a LocallyConnected2d layer, the refusals
(direct DI, too-large DI loops, Kickback), the shapes of the rules' state, and the
diagnostics (update and feedback angles) on conv/LC nets.

The references (tests/_layers_reference.py and the rules' _*_reference.py modules) import
nothing of fastcredit; here the engine is compared against them as the dense reference
tests do (tests/test_backprop.py, test_feedback_alignment.py, test_perturbation.py,
test_target_propagation.py, test_dynamic_inversion.py): plain SGD (``SGD``), one
partial_fit on one batch is one step along the rule's direction, the noise regenerated
from the fit's seed with ``_core.normal_noise``.
"""

import copy

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from _dynamic_inversion_reference import block_abscissa, reference_direction
from _feedback_reference import (
    angle_degrees,
    auto_magnitudes,
    direct_feedback_alignment,
    direct_target,
    feedback_alignment,
    feedback_angles,
    kolen_pollack_step,
    sign_symmetric_feedback,
)
from _layers_reference import Conv2dRef, LocallyConnected2dRef, build_layers
from _perturbation_reference import node_perturbation, weight_perturbation
from _reference import SGD, backprop, forward, one_step_tolerance, relative_error, set_weights, sgd_step_direction
from _target_propagation_reference import forward_direction, sgd_step
from fastcredit import (
    AuxiliaryOutputSDTPClassifier,
    BackpropClassifier,
    BackpropRegressor,
    DifferenceTargetPropagationClassifier,
    DifferenceTargetPropagationRegressor,
    DirectFeedbackAlignmentClassifier,
    DirectFeedbackAlignmentRegressor,
    DynamicInversionClassifier,
    DynamicInversionRegressor,
    FeedbackAlignmentClassifier,
    FeedbackAlignmentRegressor,
    KickbackRegressor,
    KolenPollackClassifier,
    KolenPollackRegressor,
    NodePerturbationClassifier,
    NodePerturbationRegressor,
    SignSymmetryClassifier,
    SignSymmetryRegressor,
    SimplifiedDTPClassifier,
    WeightPerturbationClassifier,
    WeightPerturbationRegressor,
    _core,
)
from fastcredit._base import _SEED_BOUND
from fastcredit.layers import Conv2d, Dense, LocallyConnected2d

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    """The references' matrices are tiny: a threaded BLAS only spins (on a loaded 2-core
    machine a 200 x 200 eigvals took 1.6 s with 2 OpenBLAS threads, 0.03 s with one)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield

def _tolerance(dtype):
    return one_step_tolerance(dtype)  # as the dense reference tests


# ============================================================================ nets
# Two small nets on (2, 6, 6) inputs, each with a conv AND an LC layer, in both orders, so
# that every kind is once the first layer (no transport below it) and once a layer that an
# error is sent through / inverted / given feedback of the kernel's shape.
INPUT = (2, 6, 6)
NETS = {
    # conv (3x2 kernel, pad (1, 0)): (3, 6, 5) = 90; LC (2x3, stride (2, 1), pad (0, 1)):
    # (2, 3, 5) = 30; dense 5; output
    "conv-lc-dense": [Conv2d(3, (3, 2), padding=(1, 0)), LocallyConnected2d(2, (2, 3), stride=(2, 1), padding=(0, 1)),
                      Dense(5)],
    # LC (3x3, stride 2, pad 1): (3, 3, 3) = 27; conv 2x2: (4, 2, 2) = 16; output
    "lc-conv": [LocallyConnected2d(3, 3, stride=2, padding=1), Conv2d(4, (2, 2))],
}
N_SAMPLES = 10


def _problem(kind, rng, n=N_SAMPLES, in_shape=INPUT, n_classes=3):
    """(X, y, Y): X (n, C*H*W) channels-first; Y the one-hot or raw targets."""
    X = rng.standard_normal((n, int(np.prod(in_shape))))
    if kind == "classifier":
        y = np.arange(n) % n_classes
        return X, y, np.eye(n_classes)[y]
    y = rng.standard_normal((n, 2))
    return X, y, y


def _ops(est, in_shape=INPUT):
    """The NumPy operators of a fitted estimator's net (hidden specs + output layer)."""
    return build_layers(in_shape, list(est.layers) + [est.coefs_[-1].shape[-1]])


def _as64(arrays):
    return [np.array(a, dtype=np.float64) for a in arrays]  # copies: never the live state


def _classes(est, y):
    return {"classes": np.unique(y)} if hasattr(est, "predict_proba") else {}


def _started(cls, net, kind, dtype, rng, activation="tanh", **params):
    """An estimator after one partial_fit on a random batch, with fresh random weights, the
    batch, and the operators."""
    X, y, Y = _problem(kind, rng)
    X = X.astype(dtype)
    est = cls(layers=NETS[net], input_shape=INPUT, activation=activation, batch_size=len(X), random_state=0,
              dtype=dtype, **SGD, **params)
    est.partial_fit(X, y, **_classes(est, y))
    set_weights(est, rng)
    return est, X, y, Y, _ops(est)


def next_fit_seed(estimator):
    """The engine seed the estimator's next fit (or _rule_direction) will use."""
    return copy.deepcopy(estimator._random_state).randint(_SEED_BOUND)


# ============================================================================ 1. forward
# (in_shape, channels, kernel, stride, padding): non-square kernels, strides, paddings,
# channel counts, a 1x1 kernel and a window that is the whole input.
GEOMETRIES = [
    ((1, 8, 8), 3, 3, 1, 0),
    ((1, 8, 8), 2, 3, 2, 0),  # the last row and column are never read
    ((1, 8, 8), 2, (5, 5), 3, 2),
    ((2, 6, 5), 4, (3, 2), (2, 1), (1, 0)),
    ((2, 6, 5), 2, (2, 3), (1, 2), (0, 1)),
    ((3, 5, 7), 2, 1, 1, 0),  # 1 x 1
    ((2, 4, 3), 3, (4, 3), 1, 0),  # the window is the whole input
    ((2, 5, 6), 3, (1, 3), (3, 1), (2, 1)),  # some windows read padding only
]
GEOMETRY_IDS = [f"{g[0]}-c{g[1]}-k{g[2]}-s{g[3]}-p{g[4]}" for g in GEOMETRIES]
KINDS = {"conv": (Conv2d, Conv2dRef), "lc": (LocallyConnected2d, LocallyConnected2dRef)}


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=GEOMETRY_IDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_one_layer_forward_equals_numpy(kind, geometry):
    """A single conv/LC hidden layer, identity units, output layer set to the identity:
    predict() is the layer's forward pass M(K) h + b."""
    spec_cls, ref_cls = KINDS[kind]
    in_shape, channels, kernel, stride, padding = geometry
    op = ref_cls(in_shape, channels, kernel, stride, padding)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, op.in_units))
    est = BackpropRegressor(layers=[spec_cls(channels, kernel, stride=stride, padding=padding)], input_shape=in_shape,
                            activation="identity", max_iter=1, random_state=0, dtype=np.float64)
    est.fit(X, rng.standard_normal((5, op.out_units)))
    assert est.coefs_[0].shape == op.kernel_shape and est.intercepts_[0].shape == op.bias_shape
    K, b = rng.standard_normal(op.kernel_shape), rng.standard_normal(op.bias_shape)
    est.coefs_[0][...], est.intercepts_[0][...] = K, b
    est.coefs_[1][...], est.intercepts_[1][...] = np.eye(op.out_units), 0.0
    expected = op.forward(X, K, b)
    assert relative_error([est.predict(X)], [expected]) < 1e-10


WHOLE_NETS = {
    "conv-lc": ((2, 6, 5), [Conv2d(3, (3, 2), stride=(2, 1), padding=(1, 0)), LocallyConnected2d(2, (2, 3), padding=1)]),
    "lc-conv-dense": ((1, 8, 8), [LocallyConnected2d(4, 3, stride=2, padding=1), Conv2d(3, (1, 3), stride=(1, 2)),
                                  Dense(6)]),
    "conv-conv": ((3, 5, 7), [Conv2d(2, 1), Conv2d(4, (4, 3), stride=(1, 2), padding=(1, 0))]),
    "lc-lc": ((2, 5, 6), [LocallyConnected2d(3, (1, 3), stride=(3, 1), padding=(2, 1)),
                          LocallyConnected2d(2, (3, 3), stride=2)]),
}


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("net", list(WHOLE_NETS))
def test_whole_net_predict_equals_numpy_forward(net, activation):
    in_shape, layers = WHOLE_NETS[net]
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, int(np.prod(in_shape))))
    y = np.arange(7) % 4
    est = BackpropClassifier(layers=layers, input_shape=in_shape, activation=activation, max_iter=1, random_state=0,
                             dtype=np.float64).fit(X, y)
    set_weights(est, rng)
    ops = _ops(est, in_shape)
    P = forward(X, est.coefs_, est.intercepts_, activation, "softmax", ops)[1][-1]
    assert relative_error([est.predict_proba(X)], [P]) < 1e-10


# ============================================================================ 2. backprop
FD_NETS = {
    "conv-lc": ((2, 5, 4), [Conv2d(2, (2, 3), stride=(2, 1), padding=(1, 0)), LocallyConnected2d(2, (2, 2))]),
    "lc-conv-dense": ((1, 6, 6), [LocallyConnected2d(2, 3, stride=2, padding=1), Conv2d(3, (2, 1)), Dense(4)]),
}


def _loss_through_engine(est, X, Y):
    """The batch-mean loss of the engine's own forward pass (predict / predict_proba)."""
    if hasattr(est, "predict_proba"):
        return -np.sum(Y * np.log(est.predict_proba(X))) / len(X)
    return 0.5 * np.sum((est.predict(X).reshape(Y.shape) - Y) ** 2) / len(X)


@pytest.mark.parametrize("kind, activation", [("classifier", "tanh"), ("regressor", "softplus"),
                                              ("classifier", "logistic")])
@pytest.mark.parametrize("net", list(FD_NETS))
def test_backprop_direction_equals_numpy_and_finite_differences(net, kind, activation):
    in_shape, layers = FD_NETS[net]
    rng = np.random.default_rng(2)
    X, y, Y = _problem(kind, rng, n=6, in_shape=in_shape)
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    est = cls(layers=layers, input_shape=in_shape, activation=activation, max_iter=1, random_state=0,
              dtype=np.float64, batch_size=6, **SGD)
    est.partial_fit(X, y, **_classes(est, y))
    set_weights(est, rng)
    ops = _ops(est, in_shape)
    coefs, intercepts = est._rule_direction(X, y)
    expected = backprop(X, Y, est.coefs_, est.intercepts_, activation, est.out_activation_, ops)
    assert relative_error(coefs + intercepts, expected[0] + expected[1]) < 1e-10
    # central differences of the engine's own loss, every parameter
    params, numeric, h = est.coefs_ + est.intercepts_, [], 1e-6
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = _loss_through_engine(est, X, Y)
            p[idx] = old - h
            down = _loss_through_engine(est, X, Y)
            p[idx] = old
            g[idx] = (up - down) / (2 * h)
        numeric.append(g)
    assert relative_error(coefs + intercepts, numeric) < 1e-6
    # and the step is that direction
    assert relative_error(sum(sgd_step_direction(est, X, y), []), expected[0] + expected[1]) < 1e-10


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backprop_one_step_equals_numpy(net, kind, dtype):
    rng = np.random.default_rng(0)
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    est, X, y, Y, ops = _started(cls, net, kind, dtype, rng, activation="relu")
    expected = backprop(X.astype(np.float64), Y, _as64(est.coefs_), _as64(est.intercepts_), "relu",
                        est.out_activation_, ops)
    actual = sgd_step_direction(est, X, y)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < _tolerance(dtype)


# ============================================================================ 3. FA family
FA_ESTIMATORS = {
    "fa": (FeedbackAlignmentClassifier, FeedbackAlignmentRegressor),
    "dfa": (DirectFeedbackAlignmentClassifier, DirectFeedbackAlignmentRegressor),
    "ss": (SignSymmetryClassifier, SignSymmetryRegressor),
    "kp": (KolenPollackClassifier, KolenPollackRegressor),
}
FA_CASES = [
    ("fa", {}),
    ("fa", {"feedback_init": "normal", "feedback_scale": 0.3}),
    ("dfa", {}),
    ("ss", {}),
    ("ss", {"feedback_init": "normal"}),
    ("ss", {"feedback_magnitude": "random", "feedback_init": "normal"}),
    ("kp", {"decay": 0.01}),
]
FA_IDS = [rule + "".join(f"-{v}" for v in params.values()) for rule, params in FA_CASES]


def _fa_feedback(rule, est, coefs, params, ops):
    """The feedback RULES.md prescribes for the estimator's current state."""
    if rule != "ss":
        return _as64(est.feedback_weights_)
    if params.get("feedback_magnitude") == "random":
        return sign_symmetric_feedback(coefs, _as64(est.feedback_magnitudes_))
    return sign_symmetric_feedback(coefs, auto_magnitudes(coefs, ops, params.get("feedback_init", "uniform")))


def _fa_direction(rule, X, Y, coefs, intercepts, feedback, activation, out, ops):
    transcription = direct_feedback_alignment if rule == "dfa" else feedback_alignment
    return transcription(X, Y, coefs, intercepts, feedback, activation, out, ops)


@pytest.mark.parametrize("rule, params", FA_CASES, ids=FA_IDS)
@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_feedback_family_one_step_equals_numpy(rule, params, net, kind, dtype):
    rng = np.random.default_rng(0)
    cls = FA_ESTIMATORS[rule][kind == "regressor"]
    est, X, y, Y, ops = _started(cls, net, kind, dtype, rng, **params)
    # the state has the documented shapes: the kernel's for FA / SS / KP, dense for DFA
    if rule == "dfa":
        assert [B.shape for B in est.feedback_weights_] == [(op.out_units, ops[-1].out_units) for op in ops[:-1]]
    else:
        assert [B.shape for B in est.feedback_weights_] == [c.shape for c in est.coefs_[1:]]
    if params.get("feedback_magnitude") == "random":
        assert [M.shape for M in est.feedback_magnitudes_] == [c.shape for c in est.coefs_[1:]]
    # fresh feedback state, so that the step must read the exposed arrays
    if rule == "ss":
        for M in getattr(est, "feedback_magnitudes_", []):
            M[...] = rng.uniform(0.1, 1.0, M.shape)
    else:
        for B in est.feedback_weights_:
            B[...] = rng.uniform(-1.0, 1.0, B.shape)
    coefs, intercepts = _as64(est.coefs_), _as64(est.intercepts_)
    B = _fa_feedback(rule, est, coefs, params, ops)
    coef_grads, intercept_grads = _fa_direction(rule, X.astype(np.float64), Y, coefs, intercepts, B, "tanh",
                                                est.out_activation_, ops)
    lr = est.learning_rate_init
    if rule == "kp":
        new_coefs, new_B = kolen_pollack_step(coefs, B, coef_grads, lr, params["decay"], ops)
        coef_grads = [(W - W_new) / lr for W, W_new in zip(coefs, new_coefs)]
    actual = sgd_step_direction(est, X, y)
    tolerance = _tolerance(dtype)
    assert relative_error(actual[0] + actual[1], coef_grads + intercept_grads) < tolerance
    if rule == "kp":  # the feedback weights after the step
        moved = [b - a for a, b in zip(B, _as64(est.feedback_weights_))]
        assert relative_error(moved, [b - a for a, b in zip(B, new_B)]) < tolerance
        assert relative_error(est.feedback_weights_, new_B) < tolerance
    if rule == "ss":  # the exposed feedback follows the weights after the step
        after = _fa_feedback(rule, est, _as64(est.coefs_), params, ops)
        assert relative_error(est.feedback_weights_, after) < tolerance


# ============================================================================ 3. WP / NP
PERTURBATION = {
    ("wp", "classifier"): WeightPerturbationClassifier,
    ("wp", "regressor"): WeightPerturbationRegressor,
    ("np", "classifier"): NodePerturbationClassifier,
    ("np", "regressor"): NodePerturbationRegressor,
}
PERTURBATION_REFERENCES = {"wp": weight_perturbation, "np": node_perturbation}


def _draw_size(rule, est, ops, n_rows):
    """One noise fill: a normal per parameter (WP) or per unit's pre-activation and row (NP)."""
    if rule == "wp":
        return sum(p.size for p in est.coefs_ + est.intercepts_)
    return n_rows * sum(op.out_units for op in ops)


@pytest.mark.parametrize("rule", ["wp", "np"])
@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("antithetic", [False, True])
@pytest.mark.parametrize("dtype, activation", [(np.float64, "tanh"), (np.float64, "relu"), (np.float32, "tanh")])
def test_perturbation_one_step_equals_numpy_with_the_same_noise(rule, net, kind, antithetic, dtype, activation):
    rng = np.random.default_rng(0)
    sigma = 1e-3 if dtype == np.float64 else 1e-2  # float32: a loss change well above rounding
    est, X, y, Y, ops = _started(PERTURBATION[rule, kind], net, kind, dtype, rng, activation=activation,
                                 perturbation_std=sigma, n_samples=3, antithetic=antithetic)
    coefs, intercepts = _as64(est.coefs_), _as64(est.intercepts_)
    noise = _core.normal_noise(next_fit_seed(est), [_draw_size(rule, est, ops, len(X))] * 3,
                               np.dtype(dtype).name).astype(np.float64)
    expected = PERTURBATION_REFERENCES[rule](X.astype(np.float64), Y, coefs, intercepts, activation,
                                             est.out_activation_, sigma, 3, antithetic, noise, ops)
    actual = sgd_step_direction(est, X, y)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < _tolerance(dtype)


# ============================================================================ 3. target propagation
TP_VARIANTS = {
    "dtp": (DifferenceTargetPropagationClassifier, dict(target_step=0.3)),
    "dtp-regressor": (DifferenceTargetPropagationRegressor, dict(target_step=0.3)),
    "sdtp": (SimplifiedDTPClassifier, {}),
    "sdtp-partial-step": (SimplifiedDTPClassifier, dict(target_step=0.2)),
    "aosdtp": (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=4)),
    "aosdtp-partial-step": (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=4, target_step=0.2)),
}
TP_PARAMS = dict(inverse_learning_rate=0.05, inverse_noise_std=0.3)


class EngineNoise:
    """The fit's noise: consecutive NormalNoise fills from the engine's stream Rng(seed), as
    `_core.normal_noise` returns them, served in the order they are asked for (as in
    test_target_propagation.py)."""

    def __init__(self, seed, dtype):
        self.seed, self.dtype, self.sizes = seed, np.dtype(dtype).name, []

    def standard_normal(self, shape):
        n = int(np.prod(shape))
        self.sizes.append(n)
        return _core.normal_noise(self.seed, self.sizes, self.dtype)[-n:].astype(np.float64).reshape(shape)


def _tp_state(est):
    return {
        "coefs": _as64(est.coefs_),
        "intercepts": _as64(est.intercepts_),
        "inverse_coefs": _as64(est.inverse_coefs_),
        "inverse_intercepts": _as64(est.inverse_intercepts_),
        "projection": est.auxiliary_projection_[0].astype(np.float64) if hasattr(est, "auxiliary_projection_") else None,
    }


def _inverse_shapes(variant, ops, n_z):
    """Inverse kernels: the kernel's shape for conv / LC layers, (n_l [+ n_z], n_{l-1}) for dense."""
    L = len(ops)
    top = L - 1 if variant == "dtp" else L
    shapes = []
    for l in range(2, top + 1):
        op = ops[l - 1]
        if isinstance(op, (Conv2dRef, LocallyConnected2dRef)):
            shapes.append(op.kernel_shape)
        else:
            shapes.append((op.out_units + (n_z if l == top else 0), op.in_units))
    return shapes, [(1, ops[l - 2].out_units) for l in range(2, top + 1)]


@pytest.mark.parametrize("schedule", ["parallel", "alternating"])
@pytest.mark.parametrize("variant", list(TP_VARIANTS))
@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_target_propagation_one_step_equals_numpy(variant, schedule, net, dtype):
    rng = np.random.default_rng(0)
    cls, extra = TP_VARIANTS[variant]
    kind = "regressor" if cls is DifferenceTargetPropagationRegressor else "classifier"
    est, X, y, Y, ops = _started(cls, net, kind, dtype, rng, schedule=schedule, **TP_PARAMS, **extra)
    base = variant.split("-")[0]
    coef_shapes, intercept_shapes = _inverse_shapes(base, ops, extra.get("auxiliary_output_size", 0))
    assert [V.shape for V in est.inverse_coefs_] == coef_shapes
    assert [c.shape for c in est.inverse_intercepts_] == intercept_shapes
    for array in est.inverse_coefs_ + est.inverse_intercepts_:
        array[...] = 0.5 * rng.standard_normal(array.shape)
    before = _tp_state(est)
    seed = next_fit_seed(est)  # the noise is the fit's stream, regenerated from its seed
    est.partial_fit(X, y)
    expected = sgd_step(X.astype(np.float64), Y, before, "tanh", est.out_activation_, base, schedule,
                        extra.get("target_step"), 0.3, 0.1, 0.05, EngineNoise(seed, dtype), ops)
    actual = _tp_state(est)
    for key in ("coefs", "intercepts", "inverse_coefs", "inverse_intercepts"):
        moved = [a - b for a, b in zip(actual[key], before[key])]
        expected_moves = [e - b for e, b in zip(expected[key], before[key])]
        assert relative_error(moved, expected_moves) < _tolerance(dtype), key


# ============================================================================ 3. dynamic inversion
DI_PARAMS = dict(leak=0.1, dt=0.15, n_steps=25, inversion_tol=0.0, stability_check_every=0)


def _di_loops(est, ops, inversion):
    """(kernels, feedback, operators) of every loop: one per inverted layer, or the single loop."""
    coefs, feedback = _as64(est.coefs_), _as64(est.feedback_weights_)
    if inversion == "single_loop":
        return [(coefs[1:], feedback[0], ops[1:])]
    return [([coefs[k]], feedback[k - 1], [ops[k]]) for k in range(1, len(coefs))]


def _fresh_stable_feedback(est, ops, inversion, rng):
    """Overwrite B with fresh values near -W^T for the current weights (kernel-shaped; the
    single loop's dense (n_1, n_L) near minus the transported identity, direct_target), so
    that the step must read them and every loop stays stable."""
    coefs = _as64(est.coefs_)
    if inversion == "single_loop":
        targets = [-direct_target(coefs, 1, ops)]
    else:
        targets = [-C for C in coefs[1:]]
    for B, T in zip(est.feedback_weights_, targets):
        B[...] = T * rng.uniform(0.6, 1.4, T.shape) + 0.02 * rng.standard_normal(T.shape)
    for i, (kernels, B, loop_ops) in enumerate(_di_loops(est, ops, inversion)):
        # a chain's loop with B near -P^T need not be stable: shrink B until it is
        for _ in range(20):
            if block_abscissa(kernels, B, DI_PARAMS["leak"], loop_ops) < 0:
                break
            B *= 0.5
            est.feedback_weights_[i][...] = B
        else:
            raise AssertionError(f"no stable feedback for loop {i}")
    est.set_params(on_unstable="raise")  # from here on a repair would be an error, not a silent change


@pytest.mark.parametrize("inversion", ["dynamic", "nonlinear", "single_loop"])
@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dynamic_inversion_one_step_equals_numpy(inversion, net, kind, dtype):
    rng = np.random.default_rng(1)
    cls = DynamicInversionClassifier if kind == "classifier" else DynamicInversionRegressor
    est, X, y, Y, ops = _started(cls, net, kind, dtype, rng, inversion=inversion, **DI_PARAMS)
    if inversion == "single_loop":
        assert [B.shape for B in est.feedback_weights_] == [(ops[0].out_units, ops[-1].out_units)]
    else:
        assert [B.shape for B in est.feedback_weights_] == [c.shape for c in est.coefs_[1:]]
    _fresh_stable_feedback(est, ops, inversion, rng)  # fresh weights (set_weights) and feedback
    coefs, intercepts, feedback = _as64(est.coefs_), _as64(est.intercepts_), _as64(est.feedback_weights_)
    expected = reference_direction(X.astype(np.float64), Y, coefs, intercepts, feedback, "tanh", est.out_activation_,
                                   inversion, 0.15, 25, 0.1, ops)
    actual = sgd_step_direction(est, X, y)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < _tolerance(dtype)
    assert relative_error(est.feedback_weights_, feedback) == 0  # fixed, not repaired


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_direct_inversion_is_allowed_with_conv_or_lc_as_first_layer(kind, dtype):
    """The first layer is never inverted: NDI works on a net whose conv/LC layer is the first."""
    rng = np.random.default_rng(2)
    spec = KINDS[kind][0](3, (3, 2), stride=(2, 1), padding=(1, 0))
    X, y, Y = _problem("classifier", rng)
    X = X.astype(dtype)
    est = DynamicInversionClassifier(layers=[spec, Dense(6)], input_shape=INPUT, activation="tanh",
                                     batch_size=len(X), random_state=0, dtype=dtype, inversion="direct", **SGD,
                                     **DI_PARAMS)
    est.partial_fit(X, y, classes=np.unique(y))
    set_weights(est, rng)
    ops = _ops(est)
    _fresh_stable_feedback(est, ops, "direct", rng)
    coefs, intercepts, feedback = _as64(est.coefs_), _as64(est.intercepts_), _as64(est.feedback_weights_)
    expected = reference_direction(X.astype(np.float64), Y, coefs, intercepts, feedback, "tanh", "softmax", "direct",
                                   0.15, 25, 0.1, ops)
    actual = sgd_step_direction(est, X, y)
    assert relative_error(actual[0] + actual[1], expected[0] + expected[1]) < _tolerance(dtype)


# ============================================================================ 3. refusals
@pytest.mark.parametrize(
    "layers, name",
    [
        ([Conv2d(2, 3), Conv2d(2, 2)], r"layer 1 \(Conv2d\)"),
        ([Conv2d(2, 3), LocallyConnected2d(2, 2)], r"layer 1 \(LocallyConnected2d\)"),
        ([LocallyConnected2d(2, 3), Conv2d(2, 2), Dense(4)], r"layer 1 \(Conv2d\)"),
        ([Dense(8), Conv2d(2, 1)], r"layer 1 \(Conv2d\)"),
        ([Conv2d(2, 3), Dense(8), LocallyConnected2d(2, 1)], r"layer 2 \(LocallyConnected2d\)"),
    ],
)
def test_direct_inversion_refuses_conv_and_lc_layers_before_any_work(layers, name):
    X, y, _ = _problem("classifier", np.random.default_rng(0))
    est = DynamicInversionClassifier(layers=layers, input_shape=INPUT, inversion="direct", leak=0.1, max_iter=1)
    with pytest.raises(ValueError, match=f"inversion='direct'.*{name}"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def _wide(kind, channels=1, padding=1):
    return KINDS[kind][0](channels, 3, padding=padding)


@pytest.mark.parametrize("inversion", ["dynamic", "nonlinear"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_layerwise_loop_through_a_wide_conv_or_lc_layer_is_refused(kind, inversion):
    """Input (1, 33, 33): the second layer maps 1089 -> 1089 units (> 1024 on its narrower
    side) and is refused before any work; the first layer is never inverted, and the
    single loop (checked at the output) is allowed on the same net."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 33 * 33)), np.arange(4) % 2
    layers = [_wide(kind), _wide(kind)]
    est = DynamicInversionClassifier(layers=layers, input_shape=(1, 33, 33), inversion=inversion, leak=0.1,
                                     max_iter=1)
    name = "Conv2d" if kind == "conv" else "LocallyConnected2d"
    with pytest.raises(ValueError, match=rf"layer 1 \({name}\) \(1089 -> 1089 units\).*1089 units \(at most 1024\)"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")
    single = DynamicInversionClassifier(layers=layers, input_shape=(1, 33, 33), inversion="single_loop", leak=0.1,
                                        max_iter=1, random_state=0).fit(X, y)
    assert single.feedback_weights_[0].shape == (1089, 1)  # two classes: one logistic output


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "side, second, refused",
    [
        (32, dict(channels=1, padding=1), False),  # 1024 -> 1024: the limit itself
        (33, dict(channels=1, padding=0), False),  # 1089 -> 961: the narrower side counts
        (33, dict(channels=2, padding=0), True),  # 1089 -> 1922
        (32, dict(channels=2, padding=1), False),  # 1024 -> 2048
        (33, dict(channels=2, padding=1), True),  # 1089 -> 2178
    ],
)
def test_the_loop_limit_is_the_narrower_side(kind, side, second, refused):
    """Where the limit lies, read off the engine's state specs (where the refusal is made),
    without fitting: an accepted 1024-unit loop costs a 1024 x 1024 eigenproblem."""
    est = DynamicInversionClassifier(layers=[_wide(kind), _wide(kind, **second)], input_shape=(1, side, side))
    architecture, _ = est._architecture(side * side, 2)
    options = {"inversion": "dynamic", "leak": 0.1}
    if refused:
        with pytest.raises(ValueError, match=r"layer 1 .*at most 1024"):
            _core.rule_state_specs("dynamic_inversion", architecture, options)
    else:
        specs = _core.rule_state_specs("dynamic_inversion", architecture, options)
        ops = build_layers((1, side, side), list(est.layers) + [2])
        assert [tuple(shape) for _, shape in specs] == [op.kernel_shape for op in ops[1:]]


@pytest.mark.parametrize("layers", [[Conv2d(2, 3)], [LocallyConnected2d(2, 3)], [Dense(4), Conv2d(2, 1)],
                                    [Dense(4), LocallyConnected2d(2, 1)]])
def test_kickback_refuses_conv_and_lc_layers_before_any_work(layers):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 72)), rng.standard_normal(8)
    est = KickbackRegressor(layers=layers, input_shape=INPUT, max_iter=1)
    with pytest.raises(ValueError, match="dense layers only"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


# ============================================================================ 4. diagnostics
def _angles(direction, reference):
    return np.array([angle_degrees(d, r) for d, r in zip(direction, reference)])


DIAGNOSED = {
    "bp": (BackpropClassifier, {}),
    "fa": (FeedbackAlignmentClassifier, {}),
    "dfa": (DirectFeedbackAlignmentClassifier, {}),
    "ss": (SignSymmetryClassifier, {}),
    "ss-random": (SignSymmetryClassifier, {"feedback_magnitude": "random"}),
    "kp": (KolenPollackClassifier, {"decay": 0.01}),
    "wp": (WeightPerturbationClassifier, {"perturbation_std": 1e-3, "n_samples": 2}),
    "np": (NodePerturbationClassifier, {"perturbation_std": 1e-3, "n_samples": 2, "antithetic": True}),
    "dtp": (DifferenceTargetPropagationClassifier, dict(target_step=0.3, **TP_PARAMS)),
    "sdtp": (SimplifiedDTPClassifier, TP_PARAMS),
    "aosdtp": (AuxiliaryOutputSDTPClassifier, dict(auxiliary_output_size=4, **TP_PARAMS)),
    "di": (DynamicInversionClassifier, dict(inversion="dynamic", **DI_PARAMS)),
    "nldi": (DynamicInversionClassifier, dict(inversion="nonlinear", **DI_PARAMS)),
    "sldi": (DynamicInversionClassifier, dict(inversion="single_loop", **DI_PARAMS)),
}


def _reference_direction(rule, params, est, X, Y, ops, probe_seed):
    """The rule's direction in NumPy for the estimator's current state, on (X, Y)."""
    coefs, intercepts = _as64(est.coefs_), _as64(est.intercepts_)
    base = rule.split("-")[0]
    if base == "bp":
        return backprop(X, Y, coefs, intercepts, "tanh", "softmax", ops)
    if base in ("fa", "dfa", "ss", "kp"):
        B = _fa_feedback(base, est, coefs, params, ops)
        return _fa_direction(base, X, Y, coefs, intercepts, B, "tanh", "softmax", ops)
    if base in ("wp", "np"):
        noise = _core.normal_noise(probe_seed, [_draw_size(base, est, ops, len(X))] * params["n_samples"], "float64")
        return PERTURBATION_REFERENCES[base](X, Y, coefs, intercepts, "tanh", "softmax", params["perturbation_std"],
                                             params["n_samples"], params.get("antithetic", False), noise, ops)
    if base in ("dtp", "sdtp", "aosdtp"):
        s = _tp_state(est)
        return forward_direction(X, Y, coefs, intercepts, s["inverse_coefs"], s["inverse_intercepts"],
                                 s["projection"], "tanh", "softmax", base if base == "dtp" else "sdtp",
                                 params.get("target_step"), ops)
    return reference_direction(X, Y, coefs, intercepts, _as64(est.feedback_weights_), "tanh", "softmax",
                               params["inversion"], 0.15, 25, 0.1, ops)


@pytest.mark.parametrize("rule", list(DIAGNOSED))
@pytest.mark.parametrize("net", list(NETS))
def test_update_angle_is_the_angle_to_backprop_on_the_probe(rule, net):
    """One partial_fit on a batch smaller than the probe (256 rows): the probe is the batch,
    measured with the weights and state after the step. Its update_angle is, per layer, the
    angle between the rule's direction and backprop's gradient, both computed in NumPy;
    for deterministic rules also the angle of `_rule_direction`."""
    cls, params = DIAGNOSED[rule]
    rng = np.random.default_rng(3)
    X, y, Y = _problem("classifier", rng, n=12)
    est = cls(layers=NETS[net], input_shape=INPUT, activation="tanh", batch_size=len(X), random_state=0,
              dtype=np.float64, diagnostics_every=1, **SGD, **params)
    est.partial_fit(X, y, classes=np.unique(y))
    set_weights(est, rng)
    if rule.endswith("di"):
        _fresh_stable_feedback(est, _ops(est), params["inversion"], rng)
    elif rule in ("fa", "dfa", "kp"):
        for B in est.feedback_weights_:
            B[...] = rng.uniform(-1.0, 1.0, B.shape)
    probe_seed = next_fit_seed(est) ^ 0x5EED
    est.partial_fit(X, y)
    ops = _ops(est)
    true = backprop(X, Y, _as64(est.coefs_), _as64(est.intercepts_), "tanh", "softmax", ops)[0]
    expected = _angles(_reference_direction(rule, params, est, X, Y, ops, probe_seed)[0], true)
    measured = est.alignment_["update_angle"][-1]
    assert measured.shape == (len(ops),)
    np.testing.assert_allclose(measured, expected, rtol=1e-6, atol=1e-5)
    if rule == "bp":
        assert np.all(measured == 0)
    if rule not in ("wp", "np"):
        np.testing.assert_allclose(_angles(est._rule_direction(X, y)[0], true), expected, rtol=1e-6, atol=1e-5)
    assert expected[-1] < 1e-5 or rule in ("wp", "np", "sdtp", "aosdtp")  # the output layer's own gradient


@pytest.mark.parametrize("rule", ["fa", "dfa", "ss", "ss-random", "kp"])
@pytest.mark.parametrize("net", list(NETS))
def test_feedback_angle_on_conv_and_lc_nets(rule, net):
    """FA / SS / KP: the angle between each kernel and the feedback of its shape; DFA:
    between B_k and the identity transported down from the output (direct_target)."""
    cls, params = DIAGNOSED[rule]
    rng = np.random.default_rng(4)
    X, y, _ = _problem("classifier", rng, n=12)
    est = cls(layers=NETS[net], input_shape=INPUT, activation="tanh", max_iter=2, random_state=0, **params).fit(X, y)
    ops = _ops(est)
    coefs = _as64(est.coefs_)
    B = _fa_feedback(rule.split("-")[0], est, coefs, params, ops)
    expected = feedback_angles(coefs, B, direct=rule == "dfa", layers=ops)
    measured = est.alignment_["feedback_angle"]
    assert measured.shape == (2, len(ops))
    np.testing.assert_allclose(measured[-1], expected, rtol=1e-9, atol=1e-9)
    if rule == "dfa":  # spelled out: B_k against the transported identity
        for k in range(1, len(coefs)):
            assert measured[-1, k] == pytest.approx(angle_degrees(direct_target(coefs, k, ops), B[k - 1]), abs=1e-9)


@pytest.mark.parametrize("inversion", ["dynamic", "nonlinear", "single_loop"])
@pytest.mark.parametrize("net", list(NETS))
def test_dynamic_inversion_diagnostics_on_conv_and_lc_nets(inversion, net):
    """spectral_abscissa of every loop equals the eigenvalues of its full matrix built from
    the operators' dense matrices; feedback_angle is between B and -W^T (the kernel)."""
    rng = np.random.default_rng(5)
    X, y, _ = _problem("classifier", rng, n=12)
    params = dict(DI_PARAMS, inversion=inversion, stability_check_every=1)
    est = DynamicInversionClassifier(layers=NETS[net], input_shape=INPUT, activation="tanh", max_iter=2,
                                     random_state=0, feedback_init="random", **{**params, "on_unstable": "repair"})
    est.fit(X, y)
    ops = _ops(est)
    L = len(ops)
    reported = est.alignment_["spectral_abscissa"][-1]
    loops = _di_loops(est, ops, inversion)
    inverted = [L - 1] if inversion == "single_loop" else list(range(1, L))
    for k, (kernels, B, loop_ops) in zip(inverted, loops):
        expected = block_abscissa(kernels, B, 0.1, loop_ops)
        assert reported[k] == pytest.approx(expected, abs=1e-6 + 1e-4 * abs(expected)), k
        assert reported[k] < 0
    assert all(np.isnan(reported[k]) for k in range(L) if k not in inverted)
    if inversion != "single_loop":
        angles = est.alignment_["feedback_angle"][-1]
        for k in inverted:
            assert angles[k] == pytest.approx(angle_degrees(-est.coefs_[k], est.feedback_weights_[k - 1]), abs=1e-7)
