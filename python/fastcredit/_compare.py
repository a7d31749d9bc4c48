"""The work behind ``fastcredit compare``: load a data set, fit each estimator with a
progress bar, and collect one result record per rule (table, CSV, JSON).

A result record is a plain dict, the unit the plots and files are made of::

    {"rule", "test_accuracy", "train_accuracy", "fit_seconds", "epochs", "final_loss",
     "update_angle": [final angle per layer, degrees] or None,
     "loss_curve": [per epoch], "alignment": {"epoch": [...], name: [[per layer], ...]},
     "status": "ok" | "diverged" | "failed: <reason>",
     "params": the estimator's hyper-parameters}
"""

import csv
import json
import math
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from . import datasets
from ._base import _BaseCreditAssigner
from ._progress import EpochProgress
from .exceptions import DivergenceError

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
_LOADERS = {"mnist": datasets.load_mnist, "fashion-mnist": datasets.load_fashion_mnist,
            "cifar10": datasets.load_cifar10}
# What to put in <data home>/<name>/ by hand, said when a data set is unavailable.
_FILES_HINT = {
    "mnist": "the four IDX .gz files",
    "fashion-mnist": "the four IDX .gz files",
    "cifar10": "cifar-10-python.tar.gz (or the cifar-10-batches-py folder extracted from it)",
}


class DatasetUnavailable(Exception):
    """The data set is neither on disk nor downloadable, or a file of it is damaged; the
    message is one line."""


def _subset(X, y, n, rng):
    if n is None or n >= len(y):
        return X, y
    keep = np.sort(rng.permutation(len(y))[:n])
    return X[keep], y[keep]


def load_dataset(name, *, seed=0, n_train=None, n_test=None, data_home=None, download=True):
    """``(X_train, y_train, X_test, y_test)`` of `name`, float32 features in [0, 1].

    digits (scikit-learn's bundled 8x8 digits) is split 70/30, stratified, by `seed`;
    MNIST, Fashion-MNIST and CIFAR-10 (rows of 3x32x32 pixels, channels first) use their
    standard split. `n_train`/`n_test` keep a random (seeded) subset of that many samples.
    """
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    else:
        try:
            X_train, y_train, X_test, y_test = _LOADERS[name](data_home, download=download, return_X_y=True)
        except (datasets.DatasetNotFoundError, datasets.DatasetDownloadError) as exc:
            directory = os.path.join(datasets.get_data_home(data_home), name)
            if isinstance(exc, datasets.DatasetNotFoundError):
                reason = "downloading is off"
            else:
                last = f"; last: {exc.failures[-1][1]}" if exc.failures else ""
                reason = f"no mirror could deliver it ({len(exc.failures)} tried{last})"
            raise DatasetUnavailable(
                f"{name} is not in {directory} and {reason}; put {_FILES_HINT[name]} there "
                "(or point FASTCREDIT_DATA at a directory holding them)"
            ) from exc
        except ValueError as exc:  # a local file that is not a valid file of the data set
            raise DatasetUnavailable(f"{name}: {str(exc).splitlines()[0]}") from exc
    rng = np.random.RandomState(seed)
    X_train, y_train = _subset(X_train, y_train, n_train, rng)
    X_test, y_test = _subset(X_test, y_test, n_test, rng)
    return X_train, y_train, X_test, y_test


def _curves(estimator):
    """The per-epoch loss and alignment as JSON-ready lists (empty for other libraries)."""
    alignment = getattr(estimator, "alignment_", {"epoch": []})
    return list(map(float, getattr(estimator, "loss_curve_", []))), {
        name: np.asarray(values).tolist() for name, values in alignment.items()
    }


def fit_and_score(label, estimator, data, progress):
    """Fit `estimator` on the training part of `data` and return its result record."""
    X_train, y_train, X_test, y_test = data
    params = {k: v for k, v in estimator.get_params(deep=False).items() if k != "verbose"}
    if isinstance(estimator, _BaseCreditAssigner):
        estimator.set_params(verbose=progress)
    progress.start()
    start = time.perf_counter()
    try:
        # One thread for every row, as the engine runs by default, so that fit times
        # compare; a multi-threaded BLAS on busy cores is also many times slower.
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed-length run ends at max_iter
            estimator.fit(X_train, y_train)
    except (DivergenceError, ValueError) as exc:
        # One rule that diverges, or refuses these settings (ValueError), is a row of the
        # comparison, not its end.
        status = "diverged" if isinstance(exc, DivergenceError) else f"failed: {str(exc).splitlines()[0]}"
        progress.close(status)
        return {"rule": label, "test_accuracy": math.nan, "train_accuracy": math.nan,
                "fit_seconds": time.perf_counter() - start, "epochs": progress.epoch, "final_loss": math.nan,
                "update_angle": None, "loss_curve": [], "alignment": {"epoch": []}, "status": status,
                "params": params}
    seconds = time.perf_counter() - start
    loss_curve, alignment = _curves(estimator)
    if not isinstance(estimator, _BaseCreditAssigner):  # no epoch hook: show the end state
        progress(estimator.n_iter_, loss_curve[-1] if loss_curve else math.nan)
    progress.close()
    angles = alignment.get("update_angle")
    return {
        "rule": label,
        "test_accuracy": float(estimator.score(X_test, y_test)),
        "train_accuracy": float(estimator.score(X_train, y_train)),
        "fit_seconds": seconds,
        "epochs": int(estimator.n_iter_),
        "final_loss": loss_curve[-1] if loss_curve else math.nan,
        "update_angle": angles[-1] if angles else None,
        "loss_curve": loss_curve,
        "alignment": alignment,
        "status": "ok",
        "params": params,
    }


def run(entries, data, epochs, stream, live):
    """Fit every ``(label, estimator)`` of `entries` in turn; their result records."""
    width = max((len(label) for label, _ in entries), default=0)
    return [
        fit_and_score(label, estimator, data, EpochProgress(label, epochs, stream, live, label_width=width))
        for label, estimator in entries
    ]


# ---------------------------------------------------------------------- outputs
def _n_layers(results):
    return max((len(r["update_angle"]) for r in results if r["update_angle"]), default=0)


def table_rows(results):
    """Header and rows of the summary table (the CSV's content): one column per layer angle."""
    layers = _n_layers(results)
    header = ["rule", "test_accuracy", "train_accuracy", "fit_seconds", "epochs", "final_loss"]
    header += [f"angle_layer{l + 1}" for l in range(layers)]
    rows = []
    for r in results:
        angles = list(r["update_angle"] or [])
        rows.append([r["rule"], r["test_accuracy"], r["train_accuracy"], r["fit_seconds"], r["epochs"],
                     r["final_loss"]] + angles + [math.nan] * (layers - len(angles)))
    return header, rows


def format_table(results):
    """The table printed on the terminal (angles: update vs. gradient, degrees, per layer)."""
    header, rows = table_rows(results)
    layers = len(header) - 6
    width = max([len("rule")] + [len(r[0]) for r in rows]) + 2
    lines = [f"{'rule':<{width}}{'test acc':>9}{'train acc':>10}{'fit s':>8}{'epochs':>7}"
             + ("   update-vs-gradient angle per layer (deg)" if layers else "")]
    for rule, test, train, seconds, epochs, _, *angles in rows:
        shown = "".join(f"{a:>6.1f}" if not math.isnan(a) else f"{'-':>6}" for a in angles)
        lines.append(f"{rule:<{width}}{test:>9.4f}{train:>10.4f}{seconds:>8.2f}{epochs:>7}" + ("   " + shown if layers else ""))
    lines += [f"{r['rule']}: {r['status']}" for r in results if r["status"] != "ok"]
    return "\n".join(lines)


def _json_ready(value):
    """Plain JSON: NaN becomes null, infinities "inf"/"-inf", NumPy values Python ones,
    anything else (a callable hyper-parameter, say) its repr."""
    if isinstance(value, (np.generic, np.ndarray)):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def write_results(results, config, directory):
    """Write ``results.csv`` (the table) and ``results.json`` (config, table and curves)."""
    os.makedirs(directory, exist_ok=True)
    header, rows = table_rows(results)
    csv_path = os.path.join(directory, "results.csv")
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in row])
    json_path = os.path.join(directory, "results.json")
    with open(json_path, "w") as f:
        json.dump(_json_ready({"config": config, "results": results}), f, indent=1)
        f.write("\n")
    return csv_path, json_path
