"""fastcredit.sweep: many fits on engine threads (and on a Dask cluster), each identical to
its plain fit, whatever the number of threads or the backend."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

import fastcredit
from fastcredit import BackpropClassifier, BackpropRegressor, sweep
from fastcredit import _sweep
from fastcredit._base import _BaseCreditAssigner

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = {"learning_rate_init": [5e-3, 2e-2], "dtype": ["float32", "float64"]}
SEEDS = [0, 7]
RESULT_COLUMNS = ["estimator", "param_learning_rate_init", "param_dtype", "seed", "status", "error",
                  "train_score", "validation_score", "n_iter", "final_loss", "update_angle"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def small(**kw):
    return BackpropClassifier(hidden_layer_sizes=(16,), max_iter=4, batch_size=64, **kw)


def run(digits, **kw):
    X, X_val, y, y_val = digits
    return sweep(small(), X, y, param_grid=GRID, seeds=SEEDS, validation=(X_val, y_val), progress=False,
                 return_estimators=True, **kw)


@pytest.fixture(scope="module")
def reference(digits):
    return run(digits, n_jobs=1)


def assert_same_results(a, b):
    assert a[RESULT_COLUMNS].drop(columns="update_angle").equals(b[RESULT_COLUMNS].drop(columns="update_angle"))
    for x, y in zip(a["update_angle"], b["update_angle"]):
        np.testing.assert_array_equal(x, y)
    for est_a, est_b in zip(a["fitted_estimator"], b["fitted_estimator"]):
        for wa, wb in zip(est_a.coefs_ + est_a.intercepts_, est_b.coefs_ + est_b.intercepts_):
            np.testing.assert_array_equal(wa, wb)


def test_each_row_is_the_plain_fit_of_its_parameters_and_seed(digits, reference):
    X, X_val, y, y_val = digits
    assert len(reference) == 8 and (reference["status"] == "ok").all()
    assert list(reference["seed"]) == [0, 7] * 4
    for _, row in reference.iterrows():
        est = small(learning_rate_init=row["param_learning_rate_init"], dtype=row["param_dtype"],
                    random_state=row["seed"]).fit(X, y)
        fitted = row["fitted_estimator"]
        assert fitted.coefs_[0].dtype == np.dtype(row["param_dtype"])
        for wa, wb in zip(est.coefs_ + est.intercepts_, fitted.coefs_ + fitted.intercepts_):
            np.testing.assert_array_equal(wa, wb)
        assert row["train_score"] == pytest.approx(est.score(X, y), abs=1e-12)
        assert row["validation_score"] == pytest.approx(est.score(X_val, y_val), abs=1e-12)
        assert row["n_iter"] == est.n_iter_ == 4
        assert row["final_loss"] == est.loss_curve_[-1]
        np.testing.assert_array_equal(row["update_angle"], est.alignment_["update_angle"][-1])
        assert 0 < row["fit_time"] < 10
    assert reference["validation_score"].min() > 0.8


def test_results_do_not_depend_on_the_number_of_threads(digits, reference):
    assert_same_results(reference, run(digits, n_jobs=2))


ESTIMATORS = [getattr(fastcredit, name) for name in fastcredit.__all__
              if isinstance(getattr(fastcredit, name), type) and issubclass(getattr(fastcredit, name), _BaseCreditAssigner)]


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_rule_sweeps_exactly_as_it_fits(Estimator, digits):
    X, _, y, _ = digits
    X, y = X[:300], (y[:300] if is_classifier(Estimator()) else (y[:300] - 4.5) / 3)
    # 16 hidden units: no layer expands onto the 10 classes (leak-free DI refuses those)
    est = Estimator(hidden_layer_sizes=(16,), max_iter=2, random_state=5)
    row = sweep(est, X, y, seeds=[5], validation=None, progress=False, return_estimators=True).iloc[0]
    assert row["status"] == "ok", row["error"]
    fitted, plain = row["fitted_estimator"], clone(est).fit(X, y)
    for wa, wb in zip(plain.coefs_ + plain.intercepts_, fitted.coefs_ + fitted.intercepts_):
        np.testing.assert_array_equal(wa, wb)
    assert row["train_score"] == pytest.approx(plain.score(X, y), abs=1e-9)


def test_fits_share_the_training_data_without_copies(digits):
    X, X_val, y, y_val = digits
    X = np.ascontiguousarray(X)
    splits = _sweep._splits(X, y, None, None, True, {np.float64})
    plan = _sweep._Plan(_sweep._configurations(small(), None), [0, 1], splits, False)
    first, second = plan.prepare(0), plan.prepare(1)
    assert first[1]["X"] is second[1]["X"] and np.shares_memory(first[1]["X"], X)  # X, as _core.train receives it
    assert first[3][0][0] is X and first[3][0][1] is second[3][0][1]  # scored on the same arrays
    assert not np.shares_memory(first[1]["coefs"][0], second[1]["coefs"][0])  # each fit its own weights


def test_cross_validation_folds_match_cross_val_score():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    est = small(random_state=3)
    table = sweep(est, X, y, seeds=[3], cv=3, progress=False)
    assert list(table["fold"]) == [0, 1, 2]
    np.testing.assert_allclose(table["validation_score"], cross_val_score(est, X, y, cv=StratifiedKFold(3)),
                               atol=1e-12)


def test_regressors_report_r2():
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    est = BackpropRegressor(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=1e-2, random_state=0)
    row = sweep(est, X, y, seeds=[0], validation=0.25, progress=False, return_estimators=True).iloc[0]
    fitted = row["fitted_estimator"]
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)
    assert row["train_score"] == pytest.approx(fitted.score(X_train, y_train), abs=1e-9)
    assert row["validation_score"] == pytest.approx(fitted.score(X_val, y_val), abs=1e-9)
    assert row["validation_score"] > 0.5


def test_validation_labels_never_seen_in_training_count_as_wrong(digits):
    X, X_val, y, y_val = digits
    keep = y < 8
    row = sweep(small(), X[keep], y[keep], validation=(X_val, y_val), progress=False,
                return_estimators=True).iloc[0]
    assert row["validation_score"] == pytest.approx(row["fitted_estimator"].score(X_val, y_val), abs=1e-12)
    assert row["validation_score"] < (y_val < 8).mean()


def test_a_failing_fit_is_recorded_and_the_others_complete(digits):
    X, X_val, y, y_val = digits
    estimators = [
        small(learning_rate_init=1e-2),
        small(solver="sgd", learning_rate_init=1e6, momentum=0.99),  # diverges
        small(early_stopping=True, validation_fraction=0.0005),  # validation set too small
    ]
    table = sweep(estimators, X, y, seeds=[0, 1], validation=(X_val, y_val), n_jobs=2, progress=False)
    assert list(table["status"]) == ["ok", "ok", "diverged", "diverged", "failed", "failed"]
    assert table["error"].iloc[2].startswith("The training loss became non-finite in epoch")
    assert "validation set is too small" in table["error"].iloc[4]
    assert table["validation_score"].iloc[:2].min() > 0.8
    assert table["validation_score"].iloc[2:].isna().all()
    assert {"param_solver", "param_learning_rate_init", "param_early_stopping"} <= set(table.columns)


def test_ctrl_c_stops_a_sweep():
    X, y = load_digits(return_X_y=True)
    long = BackpropClassifier(hidden_layer_sizes=(32,), max_iter=100000, tol=0, n_iter_no_change=np.inf)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sweep(long, X / 16.0, y, seeds=range(8), n_jobs=2, progress=False)
    assert time.perf_counter() - start < 10


def test_progress_bar_only_where_asked_or_on_a_terminal(digits, capsys):
    X, _, y, _ = digits
    sweep(small(), X, y, seeds=[0, 1, 2], progress=True)
    err = capsys.readouterr().err
    assert "3/3 fits, 0 failed" in err and err.endswith("\n")
    sweep(small(), X, y, seeds=[0, 1, 2])  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_estimators_of_different_rules_in_one_sweep():
    X, y = make_regression(n_samples=200, n_features=6, random_state=0)
    table = sweep([BackpropRegressor(hidden_layer_sizes=(8,), max_iter=3),
                   fastcredit.KickbackRegressor(hidden_layer_sizes=(8,), max_iter=3, unit_signs="random")],
                  X, y / y.std(), validation=0.25, progress=False)
    assert list(table["estimator"]) == ["BackpropRegressor", "KickbackRegressor"]
    assert table["param_unit_signs"].isna().tolist() == [True, False] and table["param_unit_signs"][1] == "random"
    assert (table["status"] == "ok").all()


def test_list_of_dicts_without_pandas(digits, monkeypatch):
    X, _, y, _ = digits
    monkeypatch.setattr(_sweep, "_pandas", lambda: None)
    rows = sweep([small(), small(alpha=0.1)], X, y, progress=False)
    assert isinstance(rows, list) and [r["param_alpha"] for r in rows] == [1e-4, 0.1]
    assert all(r["status"] == "ok" for r in rows)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"estimators": MLPClassifier()}, TypeError, "fastcredit estimator"),
        ({"estimators": [BackpropClassifier]}, TypeError, "instances"),
        ({"estimators": []}, ValueError, "empty"),
        ({"param_grid": {"learning_rate_init": [0.0]}}, InvalidParameterError, "learning_rate_init"),
        ({"param_grid": {"no_such_parameter": [1]}}, ValueError, "no_such_parameter"),
        ({"param_grid": {"random_state": [1]}}, ValueError, "seeds="),
        ({"seeds": [-1]}, ValueError, "seeds"),
        ({"seeds": [1.5]}, TypeError, "seeds"),
        ({"seeds": []}, ValueError, "seeds"),
        ({"backend": "processes"}, ValueError, "backend"),
        ({"validation": 1.5}, ValueError, "validation"),
        ({"validation": 0.2, "cv": 3}, ValueError, "either cv or validation"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(digits, kwargs, error, match):
    X, _, y, _ = digits
    kwargs = {"estimators": small(), **kwargs}
    with pytest.raises(error, match=match):
        sweep(kwargs.pop("estimators"), X, y, progress=False, **kwargs)


def test_estimators_fit_concurrently_under_joblib_threading(digits):
    X, _, y, _ = digits
    grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]}
    serial = GridSearchCV(small(random_state=0), grid, cv=3).fit(X, y)
    with joblib.parallel_backend("threading"):
        threaded = GridSearchCV(small(random_state=0), grid, cv=3, n_jobs=2).fit(X, y)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(serial.cv_results_[key], threaded.cv_results_[key])


# ---------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # Every port chosen by the OS (":0"): other test runs on this machine may hold the defaults.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  scheduler_port=0, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_dask_cluster_gives_the_local_results(digits, reference, dask_client):
    assert len(dask_client.nthreads()) == 2
    assert_same_results(reference, run(digits, backend="dask", client=dask_client))
    with dask_client.as_current():
        assert_same_results(reference, run(digits, backend="dask"))


def test_dask_records_failing_fits_as_threads_do_and_takes_cv(digits, dask_client):
    X, X_val, y, y_val = digits
    estimators = [small(learning_rate_init=1e-2), small(solver="sgd", learning_rate_init=1e6, momentum=0.99)]
    kwargs = dict(seeds=[0, 1], validation=(X_val, y_val), progress=False)
    local = sweep(estimators, X, y, n_jobs=2, **kwargs)
    remote = sweep(estimators, X, y, backend="dask", client=dask_client, **kwargs)
    assert list(remote["status"]) == ["ok", "ok", "diverged", "diverged"]
    assert list(remote["error"].fillna("")) == list(local["error"].fillna(""))
    np.testing.assert_array_equal(remote["validation_score"], local["validation_score"])
    folds = dict(cv=3, progress=False)
    np.testing.assert_array_equal(sweep(small(), X, y, backend="dask", client=dask_client, **folds)["validation_score"],
                                  sweep(small(), X, y, **folds)["validation_score"])


def test_dask_without_a_client_says_how_to_get_one():
    pytest.importorskip("distributed")
    # In a fresh process: this module's cluster fixture would be found as the current client.
    code = textwrap.dedent("""
        import numpy as np
        from fastcredit import BackpropClassifier, sweep
        X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
        try:
            sweep(BackpropClassifier(max_iter=1), X, y, backend="dask", progress=False)
        except ValueError as error:
            print(error)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "needs a dask.distributed Client: pass client=" in out.stdout, out.stderr


def _interrupt_once_fits_run(client, settle=1.5):
    """Sends SIGINT to this process once the cluster is training (tasks on both workers), so that
    the interrupt reaches running fits, not queued ones."""
    def fire():
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and sum(map(len, client.processing().values())) < 2:
            time.sleep(0.05)
        time.sleep(settle)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=fire, daemon=True).start()


def test_ctrl_c_stops_a_dask_sweep_and_its_fits_on_the_workers(dask_client):
    # Last of the Dask tests: were the workers' fits left running, they would hold both
    # workers (these fits never end by themselves) and the quick tasks below would time out.
    distributed = pytest.importorskip("distributed")
    X, y = load_digits(return_X_y=True)
    endless = BackpropClassifier(hidden_layer_sizes=(32,), max_iter=10**9, tol=0, n_iter_no_change=np.inf)
    _interrupt_once_fits_run(dask_client)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        sweep(endless, X / 16.0, y, seeds=range(4), backend="dask", client=dask_client, progress=False)
    assert time.perf_counter() - start < 40
    stopped = time.perf_counter()
    quick = [dask_client.submit(int, 7, workers=[address], pure=False) for address in dask_client.nthreads()]
    try:
        distributed.wait(quick, timeout=15)
    except TimeoutError:
        pytest.fail("a worker is still training an interrupted sweep's fit")
    assert [f.result() for f in quick] == [7, 7]
    assert time.perf_counter() - stopped < 15
