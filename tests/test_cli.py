"""``fastcredit compare``: in-process runs checked against independently fitted estimators,
the files it writes, the progress bar, argument errors and the data sets' availability."""

import csv
import hashlib
import io
import json
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import fastcredit
from fastcredit import BackpropClassifier, cli, datasets
from fastcredit._base import _BaseCreditAssigner
from fastcredit._compare import format_table, load_dataset, run
from fastcredit._progress import EpochProgress

REPO_ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["--hidden", "64", "--epochs", "10", "--seed", "3"]


def digits_split(seed):
    X, y = load_digits(return_X_y=True)
    return train_test_split((X / 16.0).astype(np.float32), y, test_size=0.3, random_state=seed, stratify=y)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One in-process digits run (bp and the sklearn reference): output dir, stdout, stderr."""
    out = tmp_path_factory.mktemp("compare")
    stdout, stderr = io.StringIO(), io.StringIO()
    parser = cli.build_parser()
    args = cli.resolve(parser.parse_args(["compare", "--rules", "bp", *SMALL, "--out", str(out)]), parser.compare_parser)
    cli.compare(args, out=stdout, err=stderr)
    return out, stdout.getvalue(), stderr.getvalue()


def read_json(directory):
    return json.loads((Path(directory) / "results.json").read_text())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 10 epochs on purpose
def test_results_are_those_of_independent_fits(small_run):
    out, _, _ = small_run
    X_train, X_test, y_train, y_test = digits_split(3)
    params = dict(hidden_layer_sizes=(64,), max_iter=10, random_state=3, tol=0.0, n_iter_no_change=np.inf)
    with threadpool_limits(limits=1):  # as compare fits: NumPy's BLAS threads change sklearn's rounding
        bp = BackpropClassifier(**params).fit(X_train, y_train)
        mlp = MLPClassifier(**params).fit(X_train, y_train)
    results = {r["rule"]: r for r in read_json(out)["results"]}
    assert list(results) == ["bp", cli.SKLEARN_LABEL]
    for label, estimator in (("bp", bp), (cli.SKLEARN_LABEL, mlp)):
        r = results[label]
        assert r["test_accuracy"] == estimator.score(X_test, y_test)
        assert r["train_accuracy"] == estimator.score(X_train, y_train)
        assert r["loss_curve"] == pytest.approx(estimator.loss_curve_, rel=1e-12)
        assert r["epochs"] == 10 and r["status"] == "ok" and r["fit_seconds"] > 0
    assert results["bp"]["test_accuracy"] > 0.8  # it learned, in 10 epochs
    assert results["bp"]["update_angle"] == pytest.approx(bp.alignment_["update_angle"][-1].tolist(), abs=1e-9)
    assert results["bp"]["alignment"]["epoch"] == list(range(1, 11))
    assert results[cli.SKLEARN_LABEL]["update_angle"] is None
    assert results["bp"]["params"]["hidden_layer_sizes"] == [64] and results["bp"]["params"]["max_iter"] == 10
    assert results["bp"]["params"]["n_iter_no_change"] == "inf" and "verbose" not in results["bp"]["params"]
    expected = {k: "inf" if v == np.inf else list(v) if isinstance(v, tuple) else v
                for k, v in mlp.get_params().items() if k != "verbose"}
    assert results[cli.SKLEARN_LABEL]["params"] == expected


def test_csv_holds_the_table(small_run):
    out, _, _ = small_run
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["rule", "test_accuracy", "train_accuracy", "fit_seconds", "epochs", "final_loss",
                       "angle_layer1", "angle_layer2"]
    results = read_json(out)["results"]
    for row, r in zip(rows[1:], results):
        assert row[0] == r["rule"]
        assert float(row[1]) == r["test_accuracy"] and float(row[2]) == r["train_accuracy"]
        assert int(row[4]) == r["epochs"] and float(row[5]) == pytest.approx(r["final_loss"])
    assert [float(a) for a in rows[1][6:]] == pytest.approx(results[0]["update_angle"])
    assert rows[2][6:] == ["", ""]  # scikit-learn reports no alignment


def test_json_records_the_configuration(small_run):
    config = read_json(small_run[0])["config"]
    assert config["dataset"] == "digits" and config["rules"] == ["bp"]
    assert config["hidden"] == [64] and config["epochs"] == 10 and config["seed"] == 3
    assert config["n_train_samples"] == 1257 and config["n_test_samples"] == 540


def test_table_and_progress_lines(small_run):
    out, stdout, stderr = small_run
    results = read_json(out)["results"]
    lines = stdout.splitlines()
    assert lines[0].startswith("fastcredit compare: digits (1257 train, 540 test), hidden 64, 10 epochs, seed 3")
    assert "test acc" in lines[1] and "angle per layer" in lines[1]
    bp_row = lines[2].split()
    assert bp_row[0] == "bp" and float(bp_row[1]) == pytest.approx(results[0]["test_accuracy"], abs=5e-5)
    assert bp_row[4] == "10" and [float(a) for a in bp_row[5:]] == pytest.approx(results[0]["update_angle"], abs=0.05)
    assert lines[3].split()[0] == cli.SKLEARN_LABEL and lines[3].split()[5:] == ["-", "-"]
    assert lines[-1].startswith("written: ")
    # Not a terminal: one final bar line per rule, nothing redrawn.
    bars = [line for line in stderr.splitlines() if not line.startswith("fastcredit:")]  # not notes
    assert len(bars) == 2 and "\r" not in stderr
    assert bars[0].startswith("bp ") and "[####################] 10/10" in bars[0] and "loss" in bars[0]


def test_figures_are_written(small_run):
    pytest.importorskip("matplotlib")
    out = small_run[0]
    for name in ("learning_curves.png", "alignment.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC


def test_progress_bar_redraws_on_a_terminal():
    stream = io.StringIO()
    bar = EpochProgress("fa", 3, stream, live=True, label_width=4)
    for epoch, loss in [(1, 2.5), (2, 1.25), (3, 0.5)]:
        bar(epoch, loss, float("nan"), 1e-3)
    bar.close()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 4 and stream.getvalue().endswith("\n")
    assert frames[0].startswith("fa   [" + "#" * 6 + "." * 14 + "] 1/3  loss 2.5")
    assert "[" + "#" * 20 + "] 3/3  loss 0.5" in frames[-1]


def test_progress_bar_quiet_writes_nothing(capsys):
    bar = EpochProgress("bp", 3, None, live=True)
    bar(1, 1.0)
    bar.close("diverged")  # no stream: nothing to write to, no error
    assert capsys.readouterr() == ("", "")  # and nothing leaks to stdout/stderr instead


def test_verbose_callable_is_called_at_every_epoch_end():
    X_train, _, y_train, _ = digits_split(0)
    calls = []
    est = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=3, tol=0.0, random_state=0,
                             verbose=lambda *a: calls.append(a))
    with pytest.warns(ConvergenceWarning):
        est.fit(X_train, y_train)
    assert [c[0] for c in calls] == [1, 2, 3]
    assert [c[1] for c in calls] == pytest.approx(est.loss_curve_)
    assert all(np.isnan(c[2]) for c in calls)


def test_an_error_in_the_hook_stops_the_fit():
    X_train, _, y_train, _ = digits_split(0)

    def stop(epoch, *_):
        if epoch == 2:
            raise RuntimeError("stop here")

    est = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0, verbose=stop)
    with pytest.raises(RuntimeError, match="stop here"):
        est.fit(X_train, y_train)
    assert est.n_iter_ == 2


def test_a_diverging_rule_is_a_row_not_a_crash():
    X_train, X_test, y_train, y_test = digits_split(0)
    data = (X_train * np.float32(3e38), y_train, X_test, y_test)  # overflows in the first forward pass
    stream = io.StringIO()
    [result] = run([("bp", BackpropClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0))],
                   data, 3, stream, live=False)
    assert result["status"] == "diverged" and np.isnan(result["test_accuracy"])
    assert stream.getvalue().rstrip().endswith("diverged")
    assert format_table([result]).splitlines()[-1] == "bp: diverged"


def test_a_rule_refusing_the_settings_is_a_row_not_a_crash():
    data = digits_split(0)
    data = (data[0], data[2], data[1], data[3])
    refusing = BackpropClassifier(hidden_layer_sizes=(8,), max_iter=2, activation="sigmoid")  # not one it knows
    [bad, good] = run([("bp-bad", refusing), ("bp", BackpropClassifier(hidden_layer_sizes=(8,), max_iter=2))],
                      data, 2, None, live=False)
    assert bad["status"].startswith("failed: The 'activation' parameter") and np.isnan(bad["test_accuracy"])
    assert good["status"] == "ok" and good["epochs"] == 2


def test_main_in_process_writes_and_returns_zero(tmp_path, capsys):
    assert cli.main(["compare", "--rules", "bp", "--hidden", "8", "--epochs", "2", "--no-sklearn",
                     "--no-plots", "--quiet", "--out", str(tmp_path / "new" / "dir")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no bars
    assert sorted(os.listdir(tmp_path / "new" / "dir")) == ["results.csv", "results.json"]
    assert [r["rule"] for r in read_json(tmp_path / "new" / "dir")["results"]] == ["bp"]


def test_python_dash_m_fastcredit(tmp_path):
    package_root = str(Path(fastcredit.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "fastcredit", "compare", "--rules", "bp", "--hidden", "8", "--epochs", "2",
         "--no-sklearn", "--no-plots"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\nbp " in proc.stdout and "Traceback" not in proc.stderr
    assert (tmp_path / "fastcredit-results" / "results.json").is_file()  # the default --out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["compare", "--rules", "bp,nope"],
        ["compare", "--rules", ","],
        ["compare", "--dataset", "cifar100"],
        ["compare", "--hidden", "256,x"],
        ["compare", "--hidden", "0"],
        ["compare", "--hidden", ""],
        ["compare", "--epochs", "-3"],
        ["compare", "--epochs", "0"],
        ["compare", "--epochs", "ten"],
        ["compare", "--seed", "-1"],
        ["compare", "--n-train", "1.5"],
        ["compare", "--preset", "nope"],
        ["compare", "--bogus"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_preset_naming_an_unavailable_rule_is_an_error(monkeypatch, capsys):
    monkeypatch.delitem(cli.RULES, "wp", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--preset", "lecture"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "preset 'lecture'" in err and "wp" in err


def test_preset_values_apply_unless_given(monkeypatch):
    for name in ("wp", "fa", "kp"):
        monkeypatch.setitem(cli.RULES, name, cli.RULES.get(name, BackpropClassifier))
    parser = cli.build_parser()
    args = cli.resolve(parser.parse_args(["compare", "--preset", "lecture", "--epochs", "3"]), parser.compare_parser)
    assert args.dataset == "mnist" and args.rules == ["wp", "bp", "fa", "kp"]
    assert args.hidden == cli.PRESETS["lecture"]["hidden"] and args.epochs == 3


def test_default_is_every_registered_rule_on_digits():
    parser = cli.build_parser()
    args = cli.resolve(parser.parse_args(["compare"]), parser.compare_parser)
    assert args.dataset == "digits" and args.rules == list(cli.RULES) and args.hidden == (256, 256)


def test_rule_defaults_reach_the_estimator(monkeypatch):
    monkeypatch.setitem(cli.RULE_DEFAULTS, "bp", {"learning_rate_init": 0.01, "max_iter": 99})
    parser = cli.build_parser()
    args = cli.resolve(parser.parse_args(["compare", "--rules", "bp", "--epochs", "7", "--no-sklearn"]), parser.compare_parser)
    [(label, estimator)] = cli.make_estimators(args)
    assert label == "bp" and estimator.learning_rate_init == 0.01
    assert estimator.max_iter == 7  # --epochs is the comparison's: the same for every rule


def test_ctrl_c_stops_the_comparison(tmp_path, monkeypatch, capsys):
    def interrupt(self, epoch, *_):
        if epoch == 2:
            raise KeyboardInterrupt  # what Ctrl-C raises from the engine's signal poll

    monkeypatch.setattr(EpochProgress, "__call__", interrupt)
    assert cli.main(["compare", "--rules", "bp", "--hidden", "8", "--epochs", "5", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.endswith("fastcredit compare: interrupted\n")
    assert not os.listdir(tmp_path)


def test_every_registered_rule_makes_a_fastcredit_classifier():
    for name, make in cli.RULES.items():  # a class, or e.g. a functools.partial fixing a variant
        assert name.isidentifier() and name == name.lower()
        estimator = make(**cli.RULE_DEFAULTS.get(name, {}))
        assert isinstance(estimator, _BaseCreditAssigner) and is_classifier(estimator)
        assert type(estimator).__name__ in fastcredit.__all__
    assert set(cli.RULE_DEFAULTS) <= set(cli.RULES)


def test_missing_matplotlib_is_a_note_not_a_failure(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib...` fail
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.delitem(sys.modules, "fastcredit.plotting", raising=False)
    assert cli.main(["compare", "--rules", "bp", "--hidden", "8", "--epochs", "1", "--no-sklearn",
                     "--quiet", "--out", str(tmp_path)]) == 0
    assert "pip install matplotlib" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["results.csv", "results.json"]


def _closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_dataset_absent_without_download_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path))
    assert cli.main(["compare", "--dataset", "mnist", "--no-download", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "mnist") in err and "downloading is off" in err


@pytest.mark.parametrize("quiet", [True, False])
def test_dataset_absent_and_unreachable_is_one_line(tmp_path, monkeypatch, capfd, quiet):
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path))
    url = _closed_port_url()
    monkeypatch.setattr(datasets, "FASHION_MNIST_MIRRORS", [url])
    argv = ["compare", "--dataset", "fashion-mnist", "--out", str(tmp_path / "o")] + ["--quiet"] * quiet
    assert cli.main(argv) == 1
    lines = capfd.readouterr().err.splitlines()  # capfd: what a terminal would show, logging included
    # The download attempt is noted (unless --quiet); its failure is summed up in the error line.
    assert lines[:-1] == ([] if quiet else [f"fastcredit: Downloading {url}train-images-idx3-ubyte.gz"])
    assert lines[-1].startswith("fastcredit compare: error: fashion-mnist is not in ")
    assert "no mirror could deliver it (1 tried; last: URLError: " in lines[-1]
    assert not os.listdir(tmp_path / "o")  # nothing trained, nothing written


def _real_data_root():
    env = os.environ.get("FASTCREDIT_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def test_mnist_subset(tmp_path, monkeypatch):
    root = _real_data_root()
    if not all((root / "mnist" / (name + ".gz")).is_file() for name in datasets.FILE_NAMES):
        pytest.skip(f"real MNIST not found in {root / 'mnist'}")
    monkeypatch.setenv("FASTCREDIT_DATA", str(root))
    assert cli.main(["compare", "--dataset", "mnist", "--n-train", "3000", "--n-test", "1000", "--rules", "bp",
                     "--hidden", "64", "--epochs", "3", "--no-sklearn", "--no-plots", "--quiet", "--no-download",
                     "--out", str(tmp_path)]) == 0
    saved = read_json(tmp_path)
    assert saved["config"]["n_train_samples"] == 3000 and saved["config"]["n_test_samples"] == 1000
    assert saved["results"][0]["test_accuracy"] > 0.85


def test_damaged_local_file_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    for name in datasets.FILE_NAMES:
        (tmp_path / "mnist" / (name + ".gz")).write_bytes(b"not gzip")
    assert cli.main(["compare", "--dataset", "mnist", "--no-download", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a valid gzip file" in err


def test_unwritable_out_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file, not a directory")
    assert cli.main(["compare", "--rules", "bp", "--hidden", "8", "--epochs", "1", "--no-sklearn", "--quiet",
                     "--out", str(tmp_path / "taken")]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "error:" in captured.err and str(tmp_path / "taken") in captured.err
    assert captured.out == ""  # it stopped before loading data or training


# --------------------------------------------------------------------- CIFAR-10


def fake_cifar10_archive(n_per_batch=4, n_test=5, seed=0):
    """A small cifar-10-python.tar.gz in the real format, with its images and labels."""
    rng = np.random.default_rng(seed)
    members, arrays = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else n_per_batch
        arrays[name] = (rng.integers(0, 256, (n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, n)])
        members[name] = pickle.dumps({b"data": arrays[name][0], b"labels": arrays[name][1]}, protocol=2)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    members["batches.meta"] = pickle.dumps({b"label_names": names}, protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    X_train = np.concatenate([arrays[f"data_batch_{i}"][0] for i in range(1, 6)])
    y_train = np.concatenate([arrays[f"data_batch_{i}"][1] for i in range(1, 6)])
    return buf.getvalue(), (X_train, y_train, arrays["test_batch"][0], np.array(arrays["test_batch"][1]))


@pytest.fixture
def cifar10_home(tmp_path):
    """A data home holding a fake CIFAR-10 archive (20 train, 5 test images)."""
    archive, arrays = fake_cifar10_archive()
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    (tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz").write_bytes(archive)
    return tmp_path / "data", arrays


def test_cifar10_subset_run_from_data_home(tmp_path, cifar10_home, monkeypatch, capsys):
    home, _ = cifar10_home
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path / "elsewhere"))  # --data-home wins
    out = tmp_path / "o"
    assert cli.main(["compare", "--dataset", "cifar10", "--data-home", str(home), "--no-download",
                     "--n-train", "12", "--n-test", "3", "--rules", "bp", "--hidden", "16", "--epochs", "1",
                     "--no-plots", "--quiet", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("fastcredit compare: cifar10 (12 train, 3 test), hidden 16, 1 epochs")
    saved = read_json(out)
    assert saved["config"]["dataset"] == "cifar10"
    assert saved["config"]["n_train_samples"] == 12 and saved["config"]["n_test_samples"] == 3
    assert [r["rule"] for r in saved["results"]] == ["bp", cli.SKLEARN_LABEL]
    assert all(r["status"] == "ok" and r["epochs"] == 1 for r in saved["results"])
    assert sorted(os.listdir(out)) == ["results.csv", "results.json"]


def test_cifar10_subsets_are_those_of_mnist(cifar10_home):
    home, (X_train, y_train, X_test, y_test) = cifar10_home
    X_tr, y_tr, X_te, y_te = load_dataset("cifar10", seed=5, n_train=12, n_test=3, data_home=home, download=False)
    assert X_tr.dtype == np.float32 and X_tr.shape == (12, 3072) and X_te.shape == (3, 3072)
    rng = np.random.RandomState(5)  # the same seeded draw as for MNIST: train, then test
    keep_train = np.sort(rng.permutation(20)[:12])
    keep_test = np.sort(rng.permutation(5)[:3])
    np.testing.assert_allclose(X_tr, X_train[keep_train] / 255, rtol=1e-6)
    np.testing.assert_array_equal(y_tr, y_train[keep_train])
    np.testing.assert_allclose(X_te, X_test[keep_test] / 255, rtol=1e-6)
    np.testing.assert_array_equal(y_te, y_test[keep_test])
    full = load_dataset("cifar10", data_home=home, download=False)
    assert [len(part) for part in full] == [20, 20, 5, 5]


class _FakeResponse(io.BytesIO):
    def __init__(self, body):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body))}


def test_cifar10_downloads_into_fastcredit_data(tmp_path, monkeypatch, capfd):
    archive, _ = fake_cifar10_archive()
    monkeypatch.setitem(datasets._CHECKSUMS, "cifar10", {
        "cifar-10-python.tar.gz": datasets._Checksum("md5", hashlib.md5(archive).hexdigest(), compressed=True)
    })
    requested = []

    def urlopen(request, timeout):
        requested.append(request.full_url)
        return _FakeResponse(archive)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path / "data"))
    assert cli.main(["compare", "--dataset", "cifar10", "--n-train", "8", "--rules", "bp", "--hidden", "16",
                     "--epochs", "1", "--no-sklearn", "--no-plots", "--out", str(tmp_path / "o")]) == 0
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert requested == [url]
    assert f"fastcredit: Downloading {url}\n" in capfd.readouterr().err
    assert os.listdir(tmp_path / "data" / "cifar10") == ["cifar-10-python.tar.gz"]
    assert read_json(tmp_path / "o")["config"]["n_train_samples"] == 8


def test_cifar10_absent_without_download_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path))
    assert cli.main(["compare", "--dataset", "cifar10", "--no-download", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "cifar10") in err and "downloading is off" in err
    assert "put cifar-10-python.tar.gz (or the cifar-10-batches-py folder extracted from it) there" in err


def test_cifar10_damaged_archive_is_one_line(tmp_path, cifar10_home, capsys):
    home, _ = cifar10_home
    path = home / "cifar10" / "cifar-10-python.tar.gz"
    path.write_bytes(path.read_bytes()[:300])
    assert cli.main(["compare", "--dataset", "cifar10", "--data-home", str(home), "--no-download",
                     "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: not a valid .tar.gz archive" in err
