"""``fastcredit.sweep``: many small fits (estimators x parameter grid x seeds x folds) at once.

Each fit goes through the estimator's own preparation and bookkeeping (``_prepare_fit`` and
``_finish_fit``, exactly as ``fit``); only the training itself moves: ``_core.sweep`` runs the
fits on a pool of engine threads with the GIL released, asking Python for the next fit
whenever a thread is free, so only one fit per thread is in memory and every fit maps the
same read-only training arrays. With ``backend="dask"`` the fits are split into chunks that
run the same way on the workers of a ``dask.distributed`` cluster.
"""

import itertools
import threading
import uuid
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ParameterGrid, check_cv, train_test_split
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.multiclass import type_of_target

from . import _core
from ._base import _BaseCreditAssigner, _resolve_dtype
from ._sweep_progress import SweepProgress
from .exceptions import DivergenceError

_SEED_LIMIT = 2**32
_BACKENDS = ("threads", "dask")


def sweep(estimators, X, y, *, param_grid=None, seeds=(0,), validation="auto", cv=None, n_jobs=-1,
          backend="threads", client=None, progress=None, return_estimators=False):
    """Fit every combination of estimator, parameters, seed and fold, many at a time.

    The fits run concurrently inside the engine: ``n_jobs`` threads, one fit per thread
    (one core each; the engine's own threading is off), with the GIL released. The
    training data is validated once and shared read-only by every fit, never copied per
    fit. A fit's result depends only on its parameters, seed and data, never on
    ``n_jobs``, the backend or the order in which fits finish. A fit that fails (e.g.
    diverges) is recorded in its row and does not stop the others; Ctrl-C stops the sweep.

    Parameters
    ----------
    estimators : fastcredit estimator or list of them
        The configurations to train (unfitted templates; they are cloned, not changed).
    X : array-like of shape (n_samples, n_features)
        Training data (float32 stays float32).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    param_grid : dict or list of dicts, default=None
        Parameters to try on every estimator, as for ``GridSearchCV``; None tries each
        estimator as it is.
    seeds : iterable of int, default=(0,)
        The ``random_state`` of each repetition (initial weights, shuffling, the rule's
        own randomness).
    validation : "auto", float, (X_val, y_val) or None, default="auto"
        Held-out data scored after each fit: a fraction of X split off once (stratified
        for classifiers, the same split for every fit), an explicit validation set, or
        None for none. "auto" means 0.2 without ``cv`` and the folds' held-out parts with it.
    cv : int or cross-validation splitter, default=None
        Fit every configuration and seed on each fold (``check_cv``: stratified for
        classifiers); the fold's held-out part is its validation set.
    n_jobs : int, default=-1
        Threads training at once (-1: every core, joblib's convention); ignored by "dask".
    backend : {"threads", "dask"}, default="threads"
        "dask" sends chunks of fits to the workers of a ``dask.distributed`` cluster
        (``client``, else the current default client); each worker runs its chunks with
        this engine's threads. Needs the ``dask`` extra. Ctrl-C (or any error on the
        client) stops the fits running on the workers too, within a batch.
    client : dask.distributed.Client, default=None
        The cluster for ``backend="dask"``.
    progress : bool, default=None
        A progress bar over fits on stderr; None shows it when stderr is a terminal.
    return_estimators : bool, default=False
        Keep each fitted estimator in the ``fitted_estimator`` column (memory grows with
        the number of fits; without it only one fit per thread is held).

    Returns
    -------
    results : pandas.DataFrame, or list of dict without pandas
        One row per fit, in grid order: ``estimator`` (class name), ``param_<name>`` for
        every parameter set by the grid or differing between estimators, ``seed``, ``fold``
        (with ``cv``), ``status`` ("ok", "diverged", "failed" or "interrupted"), ``error``
        (the message, else None), ``train_score`` and ``validation_score`` (``score``:
        accuracy or R^2; NaN when absent), ``n_iter`` (epochs run), ``final_loss``,
        ``fit_time`` (seconds in the engine), the last recorded value of each diagnostic
        in ``alignment_`` (an array over layers, e.g. ``update_angle``), and
        ``fitted_estimator`` when asked for.

    Notes
    -----
    The estimators' ``verbose`` is not used (the progress bar replaces it), and
    ``ConvergenceWarning`` is not raised for fits that stop at ``max_iter``.
    """
    configs = _configurations(estimators, param_grid)
    seeds = _check_seeds(seeds)
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}.")
    X = check_array(X, dtype=(np.float64, np.float32), order="C", ensure_2d=True)
    y = np.asarray(y)
    y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
    check_consistent_length(X, y)
    dtypes = {_resolve_dtype(template.dtype, X) for template, _ in configs}
    splits = _splits(X, y, validation, cv, is_classifier(configs[0][0]), dtypes)
    plan = _Plan(configs, seeds, splits, return_estimators)
    bar = SweepProgress(len(plan), enabled=progress)
    try:
        if backend == "dask":
            rows = _run_dask(plan, client, bar)
        else:
            n_threads = max(1, min(effective_n_jobs(n_jobs), len(plan)))
            rows = _run_threads(plan, range(len(plan)), n_threads, bar)
    finally:
        bar.close()
    return _table(rows)


# ---------------------------------------------------------------------------- arguments
def _configurations(estimators, param_grid):
    """(unfitted estimator, grid point) for every estimator x grid point, validated now."""
    if isinstance(estimators, _BaseCreditAssigner):
        estimators = [estimators]
    if isinstance(estimators, _BaseCreditAssigner) or not isinstance(estimators, (list, tuple)):
        raise TypeError(f"estimators must be a fastcredit estimator or a list of them, got {estimators!r}.")
    if not estimators:
        raise ValueError("estimators is empty.")
    for est in estimators:
        if not isinstance(est, _BaseCreditAssigner):
            raise TypeError(f"sweep trains fastcredit estimators (instances), got {est!r}.")
    grid = list(ParameterGrid(param_grid)) if param_grid is not None else [{}]
    configs = []
    for est, point in itertools.product(estimators, grid):
        if "random_state" in point:
            raise ValueError("Give random states as seeds=..., not in param_grid.")
        template = clone(est).set_params(**point)
        template._validate_params()
        configs.append((template, point))
    return configs


def _check_seeds(seeds):
    seeds = list(seeds) if not isinstance(seeds, Integral) else [seeds]
    if not seeds:
        raise ValueError("seeds is empty.")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, Integral):
            raise TypeError(f"seeds must be integers, got {seed!r}.")
        if not 0 <= seed < _SEED_LIMIT:
            raise ValueError(f"seeds must be in [0, 2**32), got {seed}.")
    return [int(seed) for seed in seeds]


class _Split:
    """One training set and its validation set, converted once to each dtype the fits use."""

    def __init__(self, X, y, X_val, y_val, fold, dtypes):
        self.X = {dtype: np.ascontiguousarray(X, dtype=dtype) for dtype in dtypes}
        self.y = y
        self.X_val = None if X_val is None else {dtype: np.ascontiguousarray(X_val, dtype=dtype) for dtype in dtypes}
        self.y_val = y_val
        self.fold = fold


def _splits(X, y, validation, cv, classifier, dtypes):
    if cv is not None:
        if not (isinstance(validation, str) and validation == "auto") and validation is not None:
            raise ValueError("Give either cv or validation, not both: with cv, each fold is validated on its "
                             "held-out part.")
        folds = check_cv(cv, y, classifier=classifier).split(X, y)
        return [_Split(X[train], y[train], X[test], y[test], fold, dtypes) for fold, (train, test) in enumerate(folds)]
    if isinstance(validation, str) and validation == "auto":
        validation = 0.2
    if validation is None:
        return [_Split(X, y, None, None, None, dtypes)]
    if isinstance(validation, tuple):
        if len(validation) != 2:
            raise ValueError("validation must be (X_val, y_val), a fraction, 'auto' or None.")
        X_val = check_array(validation[0], dtype=(np.float64, np.float32), order="C")
        y_val = np.asarray(validation[1])
        check_consistent_length(X_val, y_val)
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(f"X_val has {X_val.shape[1]} features, X has {X.shape[1]}.")
        return [_Split(X, y, X_val, y_val, None, dtypes)]
    if isinstance(validation, Real) and not isinstance(validation, bool) and 0 < validation < 1:
        stratify = y if classifier and type_of_target(y) in ("binary", "multiclass") else None
        train, test = train_test_split(np.arange(len(y)), test_size=validation, random_state=0, stratify=stratify)
        return [_Split(X[train], y[train], X[test], y[test], None, dtypes)]
    raise ValueError(f"validation must be 'auto', a fraction in (0, 1), (X_val, y_val) or None, got {validation!r}.")


# ---------------------------------------------------------------------------- the fits
def _differs(values):
    first = values[0]
    for value in values[1:]:
        try:
            if not bool(value == first):
                return True
        except (TypeError, ValueError):
            if repr(value) != repr(first):
                return True
    return False


class _Plan:
    """Every fit of a sweep, in grid order: how to prepare it and how to report it.

    Picklable, so that Dask workers receive it once and prepare their own fits.
    """

    def __init__(self, configs, seeds, splits, return_estimators):
        self.configs, self.seeds, self.splits = configs, seeds, splits
        self.return_estimators = return_estimators
        self.fits = list(itertools.product(range(len(configs)), seeds, range(len(splits))))
        self._params = params = [template.get_params(deep=False) for template, _ in configs]
        names = list(dict.fromkeys(name for p in params for name in p))  # every class's, in order
        varied = {name for _, point in configs for name in point}
        varied |= {name for name in names if _differs([p.get(name) for p in params])}
        varied.discard("random_state")
        self.columns = [name for name in names if name in varied]
        self._inputs, self._targets = {}, {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self.fits)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_inputs"], state["_targets"], state["_lock"] = {}, {}, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def describe(self, i):
        c, seed, s = self.fits[i]
        template, _ = self.configs[c]
        row = {"estimator": type(template).__name__}
        row.update({f"param_{name}": getattr(template, name, None) for name in self.columns})
        row["seed"] = seed
        if self.splits[s].fold is not None:
            row["fold"] = self.splits[s].fold
        return row

    def prepare(self, i):
        """Fit i made ready for the engine: (estimator, _core.train's job dict,
        early_stopping, evaluation pairs, the fraction of each scored set they cover)."""
        c, seed, s = self.fits[i]
        split = self.splits[s]
        template = self.configs[c][0]
        est = type(template)(**{**self._params[c], "random_state": seed})  # clone(), without its deep copies
        dtype = _resolve_dtype(est.dtype, next(iter(split.X.values())))
        validated = self._validated(c, s, dtype)
        job, early_stopping = est._prepare_fit(None, None, incremental=False, validated=validated)
        job["options"]["n_jobs"] = 1  # a sweep runs one fit per core, never a fit on several
        scored = [("train", split.X[dtype], split.y)]
        if split.X_val is not None:
            scored.append(("validation", split.X_val[dtype], split.y_val))
        evaluation, fractions = [], []
        for which, X, y in scored:
            X_known, Y_known, fraction = self._encoded(est, (s, which, dtype), X, y)
            evaluation.append((X_known, Y_known))
            fractions.append(fraction)
        return est, job, early_stopping, evaluation, fractions

    def _validated(self, c, s, dtype):
        """``_validate_input``'s work for configuration c on split s, done once for all its
        seeds: the attributes it set, its X and its y."""
        key = (c, s, dtype)
        with self._lock:
            if key not in self._inputs:
                probe = clone(self.configs[c][0])
                before = set(vars(probe))
                X, y = probe._validate_input(self.splits[s].X[dtype], self.splits[s].y, incremental=False, reset=True)
                attributes = {name: value for name, value in vars(probe).items() if name not in before}
                self._inputs[key] = (attributes, X, y)
            return self._inputs[key]

    def _encoded(self, est, key, X, y):
        """(X, y as the output layer sees it, 1.0), shared by every fit that encodes y the
        same way. Samples of classes the fit never saw are left out, and the fraction kept
        is returned: they can only be predicted wrong, as ``score`` counts them."""
        classes = tuple(est.classes_) if is_classifier(est) else None
        key = (*key, classes)
        with self._lock:
            if key not in self._targets:
                if classes is None:
                    encoded = (X, np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype), 1.0)
                else:
                    known = np.ones(len(y), dtype=bool) if y.ndim == 2 else np.isin(y, est.classes_)
                    Y = est._label_binarizer.transform(y[known]) if known.any() else np.zeros((0, est.n_outputs_))
                    X_known = X if known.all() else np.ascontiguousarray(X[known])
                    encoded = (X_known, np.ascontiguousarray(Y, dtype=X.dtype), known.mean())
                self._targets[key] = encoded
            return self._targets[key]

    def failed(self, i, error):
        row = self.describe(i)
        row.update(status="failed", error=f"{type(error).__name__}: {error}")
        return row

    def finish(self, i, est, early_stopping, fractions, outcome):
        """The row of fit i from the engine's outcome, after the estimator's own bookkeeping."""
        row = self.describe(i)
        if outcome["reason"] == "error":
            return self.failed(i, outcome["error"])
        try:
            est._finish_fit(outcome, early_stopping, incremental=False)
            row.update(status="interrupted" if outcome["reason"] == "interrupted" else "ok", error=None)
        except DivergenceError as error:
            row.update(status="diverged", error=str(error))
        scores = [score * fraction if fraction else 0.0 for score, fraction in zip(outcome["scores"], fractions)]
        scores += [np.nan] * (2 - len(scores))
        losses = outcome["losses"]
        row.update(
            train_score=scores[0],
            validation_score=scores[1],
            n_iter=int(outcome["progress"]["epochs"]),
            final_loss=losses[-1] if losses else np.nan,
            fit_time=outcome["fit_time"],
        )
        for name, values in outcome["diagnostics"].items():
            row[name] = np.asarray(values[-1], dtype=float) if values else None
        if self.return_estimators:
            row["fitted_estimator"] = est
        return row


def _run_threads(plan, indices, n_threads, bar, should_stop=None):
    """Rows of the fits `indices` (a sequence), trained on `n_threads` engine threads;
    `should_stop()` true stops them (for callers off the main thread, which Ctrl-C never
    reaches)."""
    rows = {}
    in_flight = {}
    pending = iter(list(indices))  # a list iterator: next() is atomic under the GIL

    def next_job():
        for i in pending:
            try:
                est, job, early_stopping, evaluation, fractions = plan.prepare(i)
            except Exception as error:  # recorded in the fit's row; the others go on
                rows[i] = plan.failed(i, error)
                bar.update(failed=True)
                continue
            in_flight[i] = (est, early_stopping, fractions)
            return i, job, evaluation
        return None

    def done(i, outcome):
        est, early_stopping, fractions = in_flight.pop(i)
        rows[i] = plan.finish(i, est, early_stopping, fractions, outcome)
        bar.update(failed=rows[i]["status"] != "ok")

    with warnings.catch_warnings():
        # Short fits that stop at max_iter are the norm in a sweep; n_iter says so per row.
        warnings.simplefilter("ignore", ConvergenceWarning)
        _core.sweep(next_job, done, n_threads, should_stop)
    return [rows[i] for i in indices]


def _run_chunk(plan, indices, stop_event):
    """A Dask task: fits `indices` of the plan on this worker, one engine thread per task,
    until the client sets the Dask event named `stop_event` (its Ctrl-C): a cancelled
    future would otherwise go on training, holding the worker."""
    from distributed import Event, get_client

    stopped, finished = threading.Event(), threading.Event()
    event = Event(stop_event, client=get_client())  # the worker's client: this thread's only

    def watch():  # one scheduler round trip per half second, off the engine's polling
        while not finished.is_set():
            try:
                if event.wait(timeout=0.5):
                    stopped.set()
                    return
            except Exception:  # no scheduler to ask: the fits finish as they would have
                return

    watcher = threading.Thread(target=watch, daemon=True, name="fastcredit-dask-stop")
    watcher.start()
    try:
        rows = _run_threads(plan, indices, 1, SweepProgress(len(indices), enabled=False), stopped.is_set)
    finally:
        finished.set()
    return list(zip(indices, rows))


def _run_dask(plan, client, bar):
    try:
        from distributed import Event, as_completed, get_client
    except ImportError as error:
        raise ImportError("backend='dask' needs dask.distributed: pip install 'fastcredit[dask]'.") from error
    if client is None:
        try:
            client = get_client()
        except ValueError as error:
            raise ValueError(
                "backend='dask' needs a dask.distributed Client: pass client=, or create one first "
                "(distributed.Client(...)), which makes it the current client."
            ) from error
    n_threads = max(1, sum(client.nthreads().values()))
    chunks = [list(c) for c in np.array_split(np.arange(len(plan)), min(len(plan), 4 * n_threads)) if len(c)]
    stop = Event(f"fastcredit-sweep-{uuid.uuid4().hex}", client=client)
    shared = client.scatter(plan, broadcast=True, hash=False)
    futures = [client.submit(_run_chunk, shared, [int(i) for i in chunk], stop.name, pure=False) for chunk in chunks]
    rows = [None] * len(plan)
    finished = False
    try:
        for future in as_completed(futures):
            for i, row in future.result():
                rows[i] = row
                bar.update(failed=row["status"] != "ok")
        finished = True
    finally:
        if not finished:  # Ctrl-C or an error here: the workers' fits stop within a batch
            stop.set()
        client.cancel(futures + [shared])
    return rows


def _pandas():
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _table(rows):
    pandas = _pandas()
    return rows if pandas is None else pandas.DataFrame(rows)
