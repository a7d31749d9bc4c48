"""The shared estimator: everything but the learning rule.

Only this module talks to the compiled engine (``_core``). A rule's estimator class adds
its docstring, its engine name ``_rule``, its own hyper-parameters and their constraints.
Hyper-parameters that are not the shared ones below are handed to the engine's rule by
name, so a rule class needs no code of its own.
"""

import copy
import inspect
import math
import os
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._compat import Interval, Options, StrOptions, _fit_context, validate_data
from ._memory import check_fit_memory, fit_bytes
from .exceptions import DivergenceError
from .layers import engine_architecture, hidden_layer_specs

ACTIVATIONS = {"identity", "relu", "leaky_relu", "tanh", "logistic", "softplus"}
INITS = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal"}
_SEED_BOUND = np.iinfo(np.int32).max


def _threads(n_jobs):
    """scikit-learn's n_jobs convention: None is 1, -1 every core, -2 all but one, ..."""
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None or 1 for one thread, -1 for every core.")
    cores = os.cpu_count() or 1
    return int(min(max(n_jobs if n_jobs > 0 else cores + 1 + n_jobs, 1), 1024))


def _resolve_dtype(dtype, X):
    """The engine's scalar type: the one asked for, else X's if float32, else float64."""
    if dtype is None:
        return np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    resolved = np.dtype(dtype).type
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}.")
    return resolved


# Shared hyper-parameters with their defaults, named and defaulted as in scikit-learn's
# MLPClassifier wherever they mean the same thing.
SHARED_DEFAULTS = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "power_t": 0.5,
    "max_iter": 200,
    "shuffle": True,
    "random_state": None,
    "tol": 1e-4,
    "verbose": False,
    "warm_start": False,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "n_iter_no_change": 10,
    "init": "glorot_uniform",
    "dtype": None,
    "diagnostics_every": 1,
    "layers": None,
    "input_shape": None,
    "n_jobs": None,
}
_POSITIONAL = ("hidden_layer_sizes", "activation")


def _make_init(defaults):
    """An ``__init__`` that stores every hyper-parameter, with an explicit signature.

    scikit-learn reads hyper-parameter names from the signature of ``__init__`` (no
    ``*args``/``**kwargs`` allowed), and help() and tab completion show it; generating it
    from one table spares every rule class a 25-parameter copy of the same constructor.
    """
    P = inspect.Parameter
    parameters = [P("self", P.POSITIONAL_OR_KEYWORD)]
    for name in _POSITIONAL:
        parameters.append(P(name, P.POSITIONAL_OR_KEYWORD, default=defaults[name]))
    rule_first = sorted(defaults, key=lambda name: name in SHARED_DEFAULTS)
    for name in rule_first:
        if name not in _POSITIONAL:
            parameters.append(P(name, P.KEYWORD_ONLY, default=defaults[name]))
    signature = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


class _BaseCreditAssigner(BaseEstimator, metaclass=ABCMeta):
    """Base class of every fastcredit estimator. Not for direct use."""

    _rule = None  # engine name of the learning rule, set by each rule's class
    _rule_defaults: dict = {}  # the rule's own hyper-parameters and their defaults

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(ACTIVATIONS)],
        "solver": [StrOptions({"sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose", callable],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "init": [StrOptions(INITS)],
        "dtype": [None, StrOptions({"float32", "float64"}), type],
        "diagnostics_every": [Interval(Integral, 0, None, closed="left")],
        "layers": [None, list, tuple],
        "input_shape": [None, tuple, list],
        "n_jobs": [None, Integral],
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__init__ = _make_init({**SHARED_DEFAULTS, **cls._rule_defaults})

    # ------------------------------------------------------------------ engine options
    def _rule_options(self):
        """The rule's own hyper-parameters: every parameter the base does not define."""
        shared = _BaseCreditAssigner._parameter_constraints
        return {k: v for k, v in self.get_params(deep=False).items() if k not in shared}

    def _engine_options(self, **extra):
        options = {
            "activation": self.activation,
            "out_activation": self.out_activation_,
            "solver": self.solver,
            "learning_rate": self.learning_rate,
            "learning_rate_init": float(self.learning_rate_init),
            "power_t": float(self.power_t),
            "momentum": float(self.momentum),
            "nesterovs_momentum": bool(self.nesterovs_momentum),
            "beta_1": float(self.beta_1),
            "beta_2": float(self.beta_2),
            "epsilon": float(self.epsilon),
            "alpha": float(self.alpha),
            "max_iter": int(self.max_iter),
            "shuffle": bool(self.shuffle),
            "tol": float(self.tol),
            "n_iter_no_change": int(min(self.n_iter_no_change, _SEED_BOUND)),
            "init": self.init,
            "diagnostics_every": int(self.diagnostics_every),
            "n_jobs": _threads(self.n_jobs),
        }
        for key, value in self._rule_options().items():
            options[key] = value if isinstance(value, str) else float(value)
        options.update(extra)
        return options

    # ------------------------------------------------------------------ state
    def _architecture(self, n_features, n_outputs):
        """The engine's description of the network (RULES.md, "Layers"): the hidden layers
        (``layers``, else ``hidden_layer_sizes``) on ``input_shape``, then the output layer;
        and the engine's shapes of every layer. ValueError before any work when a layer does
        not fit the one below it."""
        hidden = hidden_layer_specs(self.layers, self.hidden_layer_sizes)
        architecture = engine_architecture(hidden, self.input_shape, n_features, n_outputs)
        return architecture, _core.architecture(architecture)

    def _initialize(self, architecture, dtype):
        shapes = _core.architecture(architecture)
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = shapes[-1]["out_units"]
        self.n_layers_ = len(shapes) + 1
        self._network = architecture
        self.coefs_ = [np.zeros(layer["kernel_shape"], dtype=dtype) for layer in shapes]
        self.intercepts_ = [np.zeros(layer["bias_shape"], dtype=dtype) for layer in shapes]
        options = self._engine_options(seed=int(self._random_state.randint(_SEED_BOUND)))
        _core.initialize(architecture, self.coefs_, self.intercepts_, options)
        specs = _core.rule_state_specs(self._rule, architecture, options)
        self._rule_state = [np.zeros(shape, dtype=dtype) for _, shape in specs]
        self._rule_state_names = [name for name, _ in specs]
        self._rule_state_fresh = True
        # Each named group of rule state is a fitted attribute, e.g. feedback_weights_:
        # the same arrays the engine updates in place.
        for group in dict.fromkeys(self._rule_state_names):
            setattr(self, group + "_", [a for name, a in zip(self._rule_state_names, self._rule_state) if name == group])
        self.loss_curve_ = []
        self.alignment_ = {"epoch": np.zeros(0, dtype=int)}
        self._progress = {
            "samples_seen": 0.0,
            "epochs": 0,
            "best_loss": math.inf,
            "best_validation_score": -math.inf,
            "no_improvement_count": 0,
            "learning_rate": float(self.learning_rate_init),
            "adam_steps": 0.0,
        }
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _params(self):
        return self.coefs_ + self.intercepts_

    def _reset_optimizer(self):
        copies = 1 if self.solver == "sgd" else 2
        self._optimizer_state = [np.zeros_like(p) for _ in range(copies) for p in self._params()]
        self._optimizer_solver = self.solver
        self._progress.update(learning_rate=float(self.learning_rate_init), adam_steps=0.0, no_improvement_count=0)

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network to data matrix X and target(s) y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (a label indicator matrix for multi-label problems) for
            classifiers, target values for regressors.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    def _prepare_fit(self, X, y, incremental, validated=None):
        """Validate X and y, set up the network, and return ``(job, early_stopping)``:
        ``_core.train``'s fit description (a dict of named arrays and settings), and whether this fit holds out
        a validation set. Shared by ``fit``/``partial_fit`` and by ``fastcredit.sweep``, which
        validates its data once per configuration and passes ``validated`` = (the
        attributes ``_validate_input`` set, its X, its y) to every fresh fit of it instead."""
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if validated is None:
            X, y = self._validate_input(X, y, incremental, reset=first_pass)
        else:
            attributes, X, y = validated
            self.__dict__.update(copy.deepcopy(attributes))
        dtype = _resolve_dtype(self.dtype, X) if first_pass else self.coefs_[0].dtype.type
        if not first_pass and self.dtype is not None and np.dtype(self.dtype) != np.dtype(dtype):
            raise ValueError(
                f"dtype={self.dtype!r}, but the fitted weights are {np.dtype(dtype).name}: a continued fit keeps "
                f"them; start afresh with fit() and warm_start=False."
            )
        X = np.ascontiguousarray(X, dtype=dtype)
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)
        architecture, shapes = self._architecture(X.shape[1], Y.shape[1])
        fitted_outputs = self._network["layers"][-1]["size"] if not first_pass else Y.shape[1]
        if Y.shape[1] != fitted_outputs:
            raise ValueError(
                f"y has {Y.shape[1]} output(s) per sample, the fitted network {fitted_outputs}: a continued fit "
                f"keeps its outputs; start afresh with fit() and warm_start=False."
            )
        if not first_pass and architecture != self._network:
            raise ValueError(
                f"The fitted network {self._network['layers']} on input {self._network['input_shape']} does not "
                f"match layers={self.layers!r}, hidden_layer_sizes={self.hidden_layer_sizes!r}, "
                f"input_shape={self.input_shape!r} and the data; refit with warm_start=False."
            )
        reset_optimizer = (
            not incremental or not hasattr(self, "_optimizer_state") or self._optimizer_solver != self.solver
        )
        self._check_memory(architecture, shapes, dtype, X.shape[0], first_pass, reset_optimizer, incremental)
        if first_pass:
            self._random_state = check_random_state(self.random_state)
            self._initialize(architecture, dtype)
        if reset_optimizer:
            self._reset_optimizer()

        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` larger than the sample size. It is going to be clipped.")
            batch_size = min(self.batch_size, n_samples)

        early_stopping = self.early_stopping and not incremental
        X_val = np.empty((0, X.shape[1]), dtype=dtype)
        Y_val = np.empty((0, Y.shape[1]), dtype=dtype)
        if early_stopping:
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            X, X_val, Y, Y_val = train_test_split(
                X, Y, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
                )
            X, X_val, Y, Y_val = (np.ascontiguousarray(a) for a in (X, X_val, Y, Y_val))
            n_samples = X.shape[0]
            batch_size = min(batch_size, n_samples)
            best_params = [p.copy() for p in self._params()]
        else:
            best_params = []

        options = self._engine_options(
            batch_size=int(batch_size),
            early_stopping=bool(early_stopping),
            incremental=bool(incremental),
            seed=int(self._random_state.randint(_SEED_BOUND)),
            warm=not self._rule_state_fresh,
        )
        self._rule_state_fresh = False
        job = {
            "rule": self._rule, "X": X, "Y": Y, "X_val": X_val, "Y_val": Y_val, "architecture": self._network,
            "coefs": self.coefs_, "intercepts": self.intercepts_, "rule_state": self._named_rule_state(),
            "optimizer_state": self._optimizer_state, "best_params": best_params, "options": options,
            "progress": self._progress,
        }
        return job, early_stopping

    def _named_rule_state(self):
        return list(zip(self._rule_state_names, self._rule_state))

    def _fit(self, X, y, incremental=False):
        job, early_stopping = self._prepare_fit(X, y, incremental)
        result = _core.train(job, self._epoch_callback())
        self._finish_fit(result, early_stopping, incremental)
        return self

    def _check_memory(self, architecture, shapes, dtype, n_samples, first_pass, reset_optimizer, incremental):
        """MemoryError up front when the fit's buffers cannot fit (not an OOM kill later)."""
        specs = _core.rule_state_specs(self._rule, architecture, self._engine_options()) if first_pass else []
        batch_size = min(200 if self.batch_size == "auto" else self.batch_size, n_samples)
        # conv/LC layers compute through their patches and channels-last outputs
        scratch = max((batch_size * (np.prod(layer["out_shape"][1:]) * (np.prod(layer["kernel_shape"][-3:]) +
                                                                         layer["out_shape"][0]))
                       for layer in shapes if layer["kind"] != "Dense"), default=0)
        needed = fit_bytes(
            [shapes[0]["in_units"]] + [layer["out_units"] for layer in shapes],
            np.dtype(dtype).itemsize,
            batch_size=batch_size,
            n_samples=n_samples,
            new_parameters=first_pass,
            optimizer_copies=(1 if self.solver == "sgd" else 2) if reset_optimizer else 0,
            rule_state_elements=sum(int(np.prod(shape)) for _, shape in specs),
            early_stopping=self.early_stopping and not incremental,
            diagnostics=self.diagnostics_every > 0,
            parameters=sum(int(np.prod(layer["kernel_shape"])) + int(np.prod(layer["bias_shape"]))
                           for layer in shapes),
            scratch_elements=int(scratch),
        )
        check_fit_memory(needed)

    def _extend_alignment(self, epochs, diagnostics):
        """Append this call's diagnostic rows to ``alignment_`` (one row per recorded epoch)."""
        if not epochs:
            return
        previous = self.alignment_
        rows = len(previous["epoch"])
        self.alignment_ = {"epoch": np.concatenate([previous["epoch"], np.asarray(epochs, dtype=int)])}
        for name, values in diagnostics.items():
            new = np.asarray(values, dtype=float)
            old = previous.get(name, np.full((rows, new.shape[1]), np.nan))
            self.alignment_[name] = np.concatenate([old, new])

    def _rule_direction(self, X, y):
        """The rule's update direction on the batch (X, y) as (coefs, intercepts) lists,
        batch-averaged and without the L2 term; nothing is changed (tests, diagnostics)."""
        check_is_fitted(self, "coefs_")
        X, y = self._validate_input(X, y, incremental=True, reset=False)
        dtype = self.coefs_[0].dtype
        X = np.ascontiguousarray(X, dtype=dtype)
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)
        options = self._engine_options(seed=int(self._random_state.randint(_SEED_BOUND)))
        # Copies: a rule may bring its state up to date with the weights first (sign symmetry).
        state = [(name, array.copy()) for name, array in self._named_rule_state()]
        return _core.direction(self._rule, X, Y, self._network, self.coefs_, self.intercepts_, state, options)

    def _epoch_callback(self):
        if callable(self.verbose):  # a progress hook: (epoch, loss, validation_score, learning_rate)
            return self.verbose
        if not self.verbose:
            return None

        def report(epoch, loss, validation_score, learning_rate):
            line = f"Iteration {epoch}, loss = {loss:.8f}"
            if not math.isnan(validation_score):
                line += f", validation score = {validation_score:.6f}"
            print(line, flush=True)

        return report

    def _finish_fit(self, result, early_stopping, incremental):
        if result["reason"] == "diverged":
            for attribute in ("coefs_", "intercepts_", "_optimizer_state", "_rule_state"):
                self.__dict__.pop(attribute, None)
            raise DivergenceError(
                f"The training loss became non-finite in epoch {result['diverged_epoch']}, batch "
                f"{result['diverged_batch']}; the estimator is left unfitted. Lower learning_rate_init "
                f"(it is {self.learning_rate_init:g}) or scale the inputs."
            )
        self._progress = result["progress"]
        self.loss_curve_.extend(result["losses"])
        self._extend_alignment(result["diagnostic_epochs"], result["diagnostics"])
        self.n_iter_ = int(self._progress["epochs"])
        self.t_ = int(self._progress["samples_seen"])
        self._no_improvement_count = int(self._progress["no_improvement_count"])
        if self.early_stopping and not incremental:
            self.validation_scores_.extend(result["validation_scores"])
            self.best_validation_score_ = self._progress["best_validation_score"]
        elif not self.early_stopping:
            self.best_loss_ = self._progress["best_loss"]
        if result["error"] is not None:
            raise result["error"]
        if result["reason"] == "max_iter" and not incremental and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
            )

    # ------------------------------------------------------------------ prediction
    def _forward(self, X):
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        X = np.ascontiguousarray(X, dtype=self.coefs_[0].dtype)
        return _core.predict(X, self._network, self.coefs_, self.intercepts_, self._engine_options())

    @abstractmethod
    def _validate_input(self, X, y, incremental, reset):
        """Validated X and the target matrix the output layer is trained on."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class CreditAssignmentClassifier(ClassifierMixin, _BaseCreditAssigner):
    """Shared classifier face: label binarisation, probabilities and partial_fit's classes."""

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        f"warm_start can only be used where `y` has the same classes as in the previous "
                        f"call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        if len(self.classes_) < 2 and not self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                f"The classifier needs samples of at least 2 classes in the data, but the data contains only "
                f"one class: {self.classes_[0]!r}."
            )
        self.out_activation_ = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        return X, self._label_binarizer.transform(y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch over X, y, keeping the optimizer's state between calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The class labels.
        classes : array of shape (n_classes,), default=None
            Every class that may appear in y over all calls; required on the first call.

        Returns
        -------
        self : object
            The estimator.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        """Predict the class labels of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        proba = self._forward(X)
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict_proba(self, X):
        """Probability estimates of every class (of every label, for multi-label targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The class probabilities, in the order of ``classes_``.
        """
        proba = self._forward(X)
        if self.n_outputs_ == 1:
            proba = proba.ravel()
            return np.vstack([1 - proba, proba]).T
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probabilities, in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class CreditAssignmentRegressor(RegressorMixin, _BaseCreditAssigner):
    """Shared regressor face: identity output and squared error."""

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        self.out_activation_ = "identity"
        return X, y

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Run one epoch over X, y, keeping the optimizer's state between calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        """Predict the targets of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        y = self._forward(X)
        return y.ravel() if self.n_outputs_ == 1 else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
