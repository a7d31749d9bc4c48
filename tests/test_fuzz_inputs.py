"""Property-based robustness: any input and any hyper-parameters either fit and predict
finite outputs, or raise a clear Python exception; never a crash, an abort or a hang.

Every exported estimator is covered (rules added later included). A segfault or abort in
the engine kills the pytest process (faulthandler prints where): that is the failure
signal. A hang is turned into one by a watchdog that dumps the stacks and exits.
"""

import faulthandler
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from fastcredit._compat import Interval, StrOptions

import fastcredit
from fastcredit import DivergenceError

ESTIMATORS = [getattr(fastcredit, name) for name in fastcredit.__all__ if name.endswith(("Classifier", "Regressor"))]
# The whole file stays within ~30 s however many rules are exported; a longer hunt:
# FASTCREDIT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_inputs.py
EXAMPLES = int(os.environ.get("FASTCREDIT_FUZZ_EXAMPLES", max(15, 480 // max(1, len(ESTIMATORS)))))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the watchdog below catches hangs; timings on a shared machine vary
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# What "a clear Python exception" means: bad data/parameters, or a diverging fit.
CLEAR_ERRORS = (ValueError, TypeError, DivergenceError)

try:
    import pandas
except ImportError:  # pandas is in the test extra; the shared dev venv may lack it
    pandas = None
try:
    import scipy.sparse as sparse
except ImportError:
    sparse = None

CONTAINERS = ["ndarray", "list"] + (["dataframe"] if pandas else []) + (["csr", "coo"] if sparse else [])


@pytest.fixture(autouse=True)
def watchdog():
    """A hang (e.g. an engine loop that never polls) becomes a crash with every stack:
    `arm()` before each example restarts a 60 s countdown."""
    yield lambda: faulthandler.dump_traceback_later(60, exit=True)
    faulthandler.cancel_dump_traceback_later()


def _cast(X, dtype):
    if dtype in ("int8", "int64"):
        info = np.iinfo(dtype)
        with np.errstate(invalid="ignore"):  # values near the bounds round past them
            return np.clip(np.nan_to_num(X), info.min, info.max).astype(dtype)
    if dtype == "bool":
        return X > 0
    if dtype == "object":
        return X.astype(object)
    if dtype == "str":
        return X.astype(str)
    with np.errstate(over="ignore"):
        return X.astype(dtype)  # float16 overflows to inf for huge values: that is a case too


def _layout(X, layout):
    if layout == "fortran":
        return np.asfortranarray(X)
    if layout == "strided":  # every other column of a wider array: not contiguous
        wide = np.repeat(X, 2, axis=1)
        return wide[:, ::2]
    if layout == "reversed":  # negative strides
        return X[::-1, ::-1]
    if layout == "readonly":
        X = X.copy()
        X.flags.writeable = False
        return X
    return np.ascontiguousarray(X)


def _container(X, kind):
    if kind == "list":
        return X.tolist()
    if kind == "dataframe":
        return pandas.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    if kind == "csr":
        return sparse.csr_matrix(X) if X.dtype.kind in "biuf" and X.dtype != np.float16 else X
    if kind == "coo":
        return sparse.coo_matrix(X) if X.dtype.kind in "biuf" and X.dtype != np.float16 else X
    return X


@st.composite
def data(draw, classifier):
    """(X, y): random shapes, dtypes, layouts, containers, magnitudes and non-finite values."""
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(n, d)) * draw(st.sampled_from([1.0, 1e-30, 1e3, 1e30, 1e300]))
    special = draw(st.sampled_from([None, None, None, np.nan, np.inf, -np.inf]))
    if special is not None:
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = special
    dtype = draw(st.sampled_from(["float64", "float32", "float16", "int8", "int64", "bool", "object", "str"]))
    X = _container(_layout(_cast(X, dtype), draw(st.sampled_from(["c", "fortran", "strided", "reversed",
                                                                     "readonly"]))),
                   draw(st.sampled_from(CONTAINERS)))
    n_outputs = draw(st.sampled_from([1, 1, 2]))
    if classifier:
        kind = draw(st.sampled_from(["int", "str", "multilabel"]))
        if kind == "multilabel":
            y = rng.integers(0, 2, size=(n, 1 + n_outputs))
        else:
            y = rng.integers(0, draw(st.integers(1, 4)), size=n)
            y = y.astype(str) if kind == "str" else y
    else:
        y = rng.normal(size=(n, n_outputs) if n_outputs > 1 else n) * draw(st.sampled_from([1.0, 1e30, 1e300]))
    return X, y


def _vary(value, constraints, draw):
    """A value for one rule-specific hyper-parameter: its default, scaled, or an edge."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        options = [c for c in constraints if isinstance(c, StrOptions)]
        return draw(st.sampled_from(sorted(options[0].options))) if options else value
    intervals = [c for c in constraints if isinstance(c, Interval)]
    edges = [c.left for c in intervals if c.left is not None] + [c.right for c in intervals if c.right is not None]
    candidate = draw(st.sampled_from([value, value * 0.5, value * 2, value * 1e3, *edges]))
    return type(value)(candidate) if isinstance(value, int) else float(candidate)


@st.composite
def hyper_parameters(draw, cls):
    params = {
        "hidden_layer_sizes": tuple(draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))),
        "activation": draw(st.sampled_from(sorted(fastcredit._base.ACTIVATIONS))),
        "solver": draw(st.sampled_from(["sgd", "adam"])),
        "alpha": draw(st.sampled_from([0.0, 1e-4, 1.0, 1e6])),
        "batch_size": draw(st.one_of(st.just("auto"), st.integers(1, 64))),
        "learning_rate": draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        "learning_rate_init": draw(st.sampled_from([1e-12, 1e-3, 0.5, 1e6])),
        "max_iter": draw(st.integers(1, 4)),
        "momentum": draw(st.sampled_from([0.0, 0.9, 1.0])),
        "beta_2": draw(st.sampled_from([0.0, 0.999])),
        "epsilon": draw(st.sampled_from([1e-300, 1e-8, 1.0])),
        "early_stopping": draw(st.booleans()),
        "validation_fraction": draw(st.sampled_from([0.0, 0.1, 0.5])),
        "n_iter_no_change": draw(st.sampled_from([1, 10, np.inf])),
        "tol": draw(st.sampled_from([0.0, 1e-4, 1e9])),
        "init": draw(st.sampled_from(sorted(fastcredit._base.INITS))),
        "dtype": draw(st.sampled_from([None, "float32", "float64"])),
        "diagnostics_every": draw(st.integers(0, 2)),
        "shuffle": draw(st.booleans()),
        "random_state": draw(st.integers(0, 1000)),
    }
    for name, default in cls._rule_defaults.items():
        params[name] = _vary(default, cls._parameter_constraints.get(name, []), draw)
    return params


def _check_outputs(est, X):
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
        labels = est.predict(X)
        assert set(np.unique(labels)) <= set(np.unique(est.classes_)) | {0, 1}
    else:
        assert np.all(np.isfinite(est.predict(X)))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_any_input_fits_finite_or_raises_a_clear_error(cls, watchdog):
    is_classifier = hasattr(cls, "predict_proba")

    @FUZZ
    @given(sample=data(is_classifier), params=hyper_parameters(cls))
    def run(sample, params):
        watchdog()
        X, y = sample
        est = cls(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence, batch clipping, casts: not the point here
            try:
                est.fit(X, y)
            except CLEAR_ERRORS as error:
                assert str(error), "an error without a message is not clear"
                if isinstance(error, DivergenceError):
                    assert not hasattr(est, "coefs_")
                return
            for W in est.coefs_ + est.intercepts_:
                assert np.all(np.isfinite(W)), "a fit that returns normally has finite weights"
            _check_outputs(est, X)

    run()


@st.composite
def well_formed(draw, classifier):
    """Data and settings any user may expect to fit: finite values of a sane size, at
    least two classes, enough samples for early stopping's validation split, the
    estimator's own defaults for everything not drawn."""
    n = draw(st.integers(20, 40))
    d = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(n, d)).astype(draw(st.sampled_from(["float64", "float32"])))
    if classifier:
        y = np.arange(n) % draw(st.integers(2, 4))
    else:
        y = rng.normal(size=n)
    params = {
        "hidden_layer_sizes": tuple(draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))),
        "solver": draw(st.sampled_from(["sgd", "adam"])),
        "batch_size": draw(st.one_of(st.just("auto"), st.integers(1, 64))),
        "max_iter": draw(st.integers(1, 3)),
        "early_stopping": draw(st.booleans()),
        "random_state": draw(st.integers(0, 1000)),
    }
    return X, y, params


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_well_formed_input_always_fits(cls, watchdog):
    # The other side of the property above, which accepts any clear error: a regression
    # that made fits raise would pass it, not this.
    @settings(FUZZ, max_examples=max(5, EXAMPLES // 3))
    @given(case=well_formed(hasattr(cls, "predict_proba")))
    def run(case):
        watchdog()
        X, y, params = case
        if "leak" in cls._rule_defaults:  # dynamic inversion: an expanding layer needs one
            params = dict(params, leak=0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence, batch clipping
            est = cls(**params).fit(X, y)
        _check_outputs(est, X)

    run()


def test_a_step_that_overflows_the_weights_is_a_divergence():
    # Found by the property above: in float32, epsilon=1e-300 rounds to 0 and Adam divides
    # a vanishing gradient by sqrt(0); the loss before the step was finite.
    est = fastcredit.BackpropClassifier(
        hidden_layer_sizes=(1,), activation="identity", alpha=0.0, beta_2=0.0, epsilon=1e-300, learning_rate_init=1e-12,
        init="glorot_normal", dtype="float32", max_iter=1, shuffle=False, diagnostics_every=0, random_state=0)
    with pytest.raises(DivergenceError, match="epoch 1, batch 1"):
        est.fit(np.array([[1.2573022e-31]]), np.array([[1, 0]]))
    assert not hasattr(est, "coefs_")
