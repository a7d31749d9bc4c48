"""Tests for fastcredit.datasets.

Downloads are exercised for real against HTTP servers on 127.0.0.1; only the
checksum table is patched, to match small synthetic IDX files.
"""

import gzip
import hashlib
import http.server
import os
import re
import socket
import struct
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.utils import Bunch

from fastcredit import datasets
from fastcredit._idx import parse_idx

REPO_ROOT = Path(__file__).resolve().parent.parent
NAMES = datasets.FILE_NAMES
REAL_MNIST_SHA256 = {
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

_IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array):
    """Encode `array` as an IDX file, independently of the parser under test."""
    array = np.asarray(array)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    code = _IDX_CODES[array.dtype.kind + str(array.dtype.itemsize)]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + big_endian.tobytes()


# --------------------------------------------------------------------- fixtures


@pytest.fixture
def synthetic(monkeypatch):
    """Small MNIST-shaped IDX files, with the checksum table patched to match.

    MNIST is patched with sha256 of the decompressed files, Fashion-MNIST with
    md5 of the .gz files, like the real tables.
    """
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 2, 1], dtype=np.uint8),
    }
    arrays["train-images-idx3-ubyte"][0, 0, :2] = [0, 255]  # pin the value range
    raw = {name: idx_bytes(a) for name, a in arrays.items()}
    gz = {name: gzip.compress(data, mtime=0) for name, data in raw.items()}
    monkeypatch.setitem(datasets._CHECKSUMS, "mnist", {
        name: datasets._Checksum("sha256", hashlib.sha256(raw[name]).hexdigest())
        for name in NAMES
    })
    monkeypatch.setitem(datasets._CHECKSUMS, "fashion-mnist", {
        name: datasets._Checksum("md5", hashlib.md5(gz[name]).hexdigest(), compressed=True)
        for name in NAMES
    })
    return SimpleNamespace(arrays=arrays, raw=raw, gz=gz)


def write_files(directory, files, suffix=".gz"):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / (name + suffix)).write_bytes(data)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path]`` and misbehaves as ``server.mode`` says."""

    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        body = server.files.get(self.path.lstrip("/"))
        if body is None or server.mode == "404":
            self.send_error(404)
            return
        if server.mode == "corrupt":
            # A valid gzip stream whose content differs by one byte.
            data = bytearray(gzip.decompress(body))
            data[-1] ^= 0xFF
            body = gzip.compress(bytes(data), mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.mode == "short":
            # Promise the whole body, send half of it, close the connection.
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        elif server.mode == "stall":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            server.release.wait(10)
        else:
            self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins the handler threads


@pytest.fixture
def serve():
    """Factory starting a mirror on 127.0.0.1: ``serve(files, mode="ok")``.

    `files` maps file names (``"train-images-idx3-ubyte.gz"``) to bytes.  The
    returned server has ``url`` (the mirror's base URL) and ``requests`` (the
    paths requested so far).  All servers are shut down at teardown.
    """
    servers = []
    release = threading.Event()

    def start(files, mode="ok"):
        server = _Server(("127.0.0.1", 0), _Handler)
        server.files = {"mirror/" + name: data for name, data in files.items()}
        server.mode, server.requests, server.release = mode, [], release
        server.url = f"http://127.0.0.1:{server.server_address[1]}/mirror/"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,))
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    release.set()
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def gz_files(synthetic):
    return {name + ".gz": data for name, data in synthetic.gz.items()}


@pytest.fixture
def closed_port_url():
    """A 127.0.0.1 URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _real_data_root():
    env = os.environ.get("FASTCREDIT_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def real_mnist_home():
    root = _real_data_root()
    if not all((root / "mnist" / (name + ".gz")).is_file() for name in NAMES):
        pytest.skip(f"real MNIST not found in {root / 'mnist'}")
    return root


# ---------------------------------------------------------------- IDX parser


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
def test_parse_idx_roundtrip(dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    parsed = parse_idx(idx_bytes(array), "x")
    assert parsed.shape == (2, 3, 4)
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


@pytest.mark.parametrize("data, message", [
    (b"", "only 0 bytes"),
    (b"\x00\x00\x08", "only 3 bytes"),
    (b"\x00\x01\x08\x01" + bytes(8), "bad magic number 0x00010801"),
    (b"\x00\x00\x07\x01" + bytes(8), "bad magic number 0x00000701"),
    (b"\x00\x00\x08\x00", "bad magic number 0x00000800"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "header needs 12 bytes"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "needs 5 data bytes, file has 3"),
    (b"\x00\x00\x0c\x01\x00\x00\x00\x01abc", "needs 4 data bytes, file has 3"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x02abc", "1 unexpected bytes"),
])
def test_parse_idx_rejects_malformed(data, message):
    with pytest.raises(ValueError, match=f"^some/file: .*{re.escape(message)}"):
        parse_idx(data, "some/file")


# ------------------------------------------------------------ local loading


def test_load_local_gz(tmp_path, synthetic):
    write_files(tmp_path / "mnist", synthetic.gz)
    data = datasets.load_mnist(tmp_path, download=False)
    assert isinstance(data, Bunch)
    assert data.data_home == str(tmp_path)
    assert data.X_train.shape == (6, 784) and data.X_test.shape == (3, 784)
    assert data.X_train.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    np.testing.assert_array_equal(data.y_train, [5, 0, 4, 1, 9, 2])
    np.testing.assert_array_equal(data.y_test, [7, 2, 1])
    expected = synthetic.arrays["t10k-images-idx3-ubyte"].reshape(3, 784) / 255
    np.testing.assert_allclose(data.X_test, expected, rtol=1e-6)
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert list(data.target_names) == [str(d) for d in range(10)]
    assert "LeCun" in data.DESCR and "CC BY-SA" in data.DESCR


def test_load_local_decompressed_and_options(tmp_path, synthetic):
    write_files(tmp_path / "mnist", synthetic.raw, suffix="")
    X_train, y_train, X_test, y_test = datasets.load_mnist(
        str(tmp_path), download=False, return_X_y=True, dtype=np.float64, normalize=False,
    )
    assert X_train.dtype == np.float64
    images = synthetic.arrays["train-images-idx3-ubyte"]
    np.testing.assert_array_equal(X_train, images.reshape(6, -1))
    np.testing.assert_array_equal(y_test, [7, 2, 1])
    X_int = datasets.load_mnist(tmp_path, download=False, dtype=np.uint8, normalize=False).X_train
    assert X_int.dtype == np.uint8 and X_int.max() == 255
    with pytest.raises(ValueError, match="floating-point"):
        datasets.load_mnist(tmp_path, download=False, dtype=np.uint8)


def test_load_fashion_mnist_local(tmp_path, synthetic):
    write_files(tmp_path / "fashion-mnist", synthetic.gz)
    data = datasets.load_fashion_mnist(tmp_path, download=False, verify=True)
    assert data.target_names[9] == "Ankle boot"
    assert "Zalando" in data.DESCR and "MIT" in data.DESCR
    np.testing.assert_array_equal(data.y_train, [5, 0, 4, 1, 9, 2])


@pytest.mark.parametrize("damage", ["bad magic", "truncated", "truncated gzip"])
def test_malformed_local_file_names_the_file(tmp_path, synthetic, damage):
    write_files(tmp_path / "mnist", synthetic.gz)
    bad = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = synthetic.raw["t10k-labels-idx1-ubyte"]
    if damage == "bad magic":
        bad.write_bytes(gzip.compress(b"\x00\x00\x00\x01" + raw[4:]))
    elif damage == "truncated":
        bad.write_bytes(gzip.compress(raw[:-1]))
    else:
        bad.write_bytes(synthetic.gz["t10k-labels-idx1-ubyte"][:-5])
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        datasets.load_mnist(tmp_path, download=False)


def test_inconsistent_files_are_rejected(tmp_path, synthetic):
    files = dict(synthetic.raw)
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.array([1, 2], dtype=np.uint8))
    write_files(tmp_path / "mnist", files, suffix="")
    with pytest.raises(ValueError, match="has 3 images but .* has 2 labels"):
        datasets.load_mnist(tmp_path, download=False)
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.array([1, 2, 10], dtype=np.uint8))
    write_files(tmp_path / "mnist", files, suffix="")
    with pytest.raises(ValueError, match="label 10 is not below 10"):
        datasets.load_mnist(tmp_path, download=False)


def test_verify_local_files(tmp_path, synthetic):
    changed = synthetic.arrays["train-labels-idx1-ubyte"].copy()
    changed[0] = 3
    files = dict(synthetic.gz, **{"train-labels-idx1-ubyte": gzip.compress(idx_bytes(changed))})
    write_files(tmp_path / "mnist", files)
    # A well-formed but wrong file is only caught when asked to verify.
    assert datasets.load_mnist(tmp_path, download=False).y_train[0] == 3
    path = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*checksum mismatch"):
        datasets.load_mnist(tmp_path, download=False, verify=True)


def test_verify_warns_when_checksum_is_of_the_gz(tmp_path, synthetic):
    write_files(tmp_path / "fashion-mnist", synthetic.raw, suffix="")
    with pytest.warns(UserWarning, match="Cannot verify .*the .gz file"):
        datasets.load_fashion_mnist(tmp_path, download=False, verify=True)


def test_missing_files_without_download(tmp_path, serve, gz_files):
    server = serve(gz_files)
    directory = tmp_path / "mnist"
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_mnist(tmp_path, download=False, mirrors=[server.url])
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert f"in the directory {directory}" in message
    for name in NAMES:
        assert name + ".gz" in message
    assert server.requests == []
    assert not directory.exists()


def test_only_missing_files_are_listed(tmp_path, synthetic):
    name = "train-images-idx3-ubyte"
    write_files(tmp_path / "mnist", {name: synthetic.gz[name]})
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_mnist(tmp_path, download=False)
    assert "train-images" not in str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value)


# ----------------------------------------------------------------- data home


def test_get_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("FASTCREDIT_DATA", raising=False)
    assert datasets.get_data_home() == str(tmp_path / "home" / ".cache" / "fastcredit")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.get_data_home() == str(tmp_path / "xdg" / "fastcredit")
    monkeypatch.setenv("FASTCREDIT_DATA", "")  # empty means unset
    assert datasets.get_data_home() == str(tmp_path / "xdg" / "fastcredit")
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path / "env"))
    assert datasets.get_data_home() == str(tmp_path / "env")
    assert datasets.get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    assert datasets.get_data_home("~/data") == str(tmp_path / "home" / "data")
    monkeypatch.chdir(tmp_path)
    assert datasets.get_data_home("rel") == str(tmp_path / "rel")
    assert not (tmp_path / "home").exists()  # nothing is created


def test_loaders_follow_data_home_precedence(tmp_path, monkeypatch, synthetic):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("FASTCREDIT_DATA", raising=False)
    labels = synthetic.arrays["t10k-labels-idx1-ubyte"]
    homes = {"default": tmp_path / "home" / ".cache" / "fastcredit",
             "env": tmp_path / "env", "arg": tmp_path / "arg"}
    for offset, home in enumerate(homes.values()):
        # Distinct labels in each home tell which one was read.
        changed = gzip.compress(idx_bytes(labels + offset))
        files = dict(synthetic.gz, **{"t10k-labels-idx1-ubyte": changed})
        write_files(home / "mnist", files)
    assert datasets.load_mnist(download=False).y_test[0] == labels[0]
    monkeypatch.setenv("FASTCREDIT_DATA", str(homes["env"]))
    data = datasets.load_mnist(download=False)
    assert data.y_test[0] == labels[0] + 1 and data.data_home == str(homes["env"])
    assert datasets.load_mnist(homes["arg"], download=False).y_test[0] == labels[0] + 2


# ----------------------------------------------------------------- downloads


def _cached(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_download_then_cache(tmp_path, serve, gz_files, synthetic):
    server = serve(gz_files)
    data = datasets.load_mnist(tmp_path, mirrors=[server.url])
    assert sorted(server.requests) == sorted(f"/mirror/{name}.gz" for name in NAMES)
    assert _cached(tmp_path / "mnist") == sorted(name + ".gz" for name in NAMES)
    np.testing.assert_array_equal(data.y_train, [5, 0, 4, 1, 9, 2])
    for name in NAMES:
        assert (tmp_path / "mnist" / (name + ".gz")).read_bytes() == synthetic.gz[name]

    again = datasets.load_mnist(tmp_path, mirrors=[server.url])
    assert len(server.requests) == 4  # served from the cache
    np.testing.assert_array_equal(again.X_train, data.X_train)


def test_only_missing_files_are_downloaded(tmp_path, serve, gz_files, synthetic):
    write_files(tmp_path / "mnist", {name: synthetic.raw[name] for name in NAMES[:3]}, suffix="")
    server = serve(gz_files)
    datasets.load_mnist(tmp_path, mirrors=[server.url])
    assert server.requests == ["/mirror/t10k-labels-idx1-ubyte.gz"]


def test_module_mirror_list_is_the_default(tmp_path, serve, gz_files, monkeypatch):
    server = serve(gz_files)
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", [server.url.rstrip("/")])
    datasets.load_mnist(tmp_path)
    assert len(server.requests) == 4


@pytest.mark.parametrize("mode", ["corrupt", "short", "404", "stall", "refused"])
def test_failing_mirror_falls_back_to_the_next(tmp_path, serve, gz_files, synthetic, mode,
                                              closed_port_url, caplog):
    bad_url = closed_port_url if mode == "refused" else serve(gz_files, mode).url
    good = serve(gz_files)
    data = datasets.load_mnist(tmp_path, mirrors=[bad_url, good.url], timeout=0.3)
    np.testing.assert_array_equal(data.y_test, [7, 2, 1])
    assert len(good.requests) == 4
    # Only the verified copies from the good mirror were kept.
    assert _cached(tmp_path / "mnist") == sorted(name + ".gz" for name in NAMES)
    for name in NAMES:
        assert (tmp_path / "mnist" / (name + ".gz")).read_bytes() == synthetic.gz[name]
    assert sum(bad_url in r.getMessage() for r in caplog.records) == 4


def test_all_mirrors_failing(tmp_path, serve, gz_files, closed_port_url):
    servers = [serve(gz_files, mode) for mode in ("404", "corrupt", "short", "stall")]
    urls = [s.url for s in servers] + [closed_port_url]
    directory = tmp_path / "mnist"
    with pytest.raises(datasets.DatasetDownloadError) as info:
        datasets.load_mnist(tmp_path, mirrors=urls, timeout=0.3)
    error = info.value
    assert isinstance(error, OSError)
    message = str(error)
    first = "train-images-idx3-ubyte.gz"
    assert [url for url, _ in error.failures] == [u + first for u in urls]
    reasons = ["HTTP error 404", "checksum mismatch: sha256 of the decompressed",
               "incomplete transfer", "timed out", "refused"]
    for url, reason in zip(urls, reasons):
        assert re.search(re.escape(url + first) + ": .*" + re.escape(reason), message)
    assert f"in the directory {directory}" in message
    for name in NAMES:
        assert name + ".gz" in message
    assert _cached(directory) == []  # no partial or unverified files left
    # It gave up on the first file instead of trying every file on every mirror.
    assert all(s.requests == ["/mirror/" + first] for s in servers)


def test_no_mirrors(tmp_path):
    with pytest.raises(datasets.DatasetDownloadError, match="no mirrors given"):
        datasets.load_mnist(tmp_path, mirrors=[])


def test_fashion_mnist_download_checks_gz_md5(tmp_path, serve, gz_files, synthetic):
    corrupt, good = serve(gz_files, "corrupt"), serve(gz_files)
    data = datasets.load_fashion_mnist(tmp_path, mirrors=[corrupt.url, good.url])
    np.testing.assert_array_equal(data.y_train, [5, 0, 4, 1, 9, 2])
    assert _cached(tmp_path / "fashion-mnist") == sorted(name + ".gz" for name in NAMES)
    with pytest.raises(datasets.DatasetDownloadError, match="md5 of the .gz file"):
        datasets.load_fashion_mnist(tmp_path / "other", mirrors=[corrupt.url])


def test_checksum_tables():
    assert {n: c.hexdigest for n, c in datasets._CHECKSUMS["mnist"].items()} == REAL_MNIST_SHA256
    assert all(c.algorithm == "sha256" and not c.compressed
               for c in datasets._CHECKSUMS["mnist"].values())
    assert all(c.algorithm == "md5" and c.compressed
               for c in datasets._CHECKSUMS["fashion-mnist"].values())
    assert set(datasets._CHECKSUMS["fashion-mnist"]) == set(NAMES)


# ---------------------------------------------------------------- real MNIST


def test_load_real_mnist(real_mnist_home):
    data = datasets.load_mnist(real_mnist_home, download=False, verify=True)
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    np.testing.assert_array_equal(data.y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(data.y_test[:3], [7, 2, 1])
    np.testing.assert_array_equal(np.unique(data.y_train), np.arange(10))
    np.testing.assert_array_equal(np.unique(data.y_test), np.arange(10))


def test_download_real_mnist_verifies_real_checksums(tmp_path, serve, real_mnist_home):
    files = {name + ".gz": (real_mnist_home / "mnist" / (name + ".gz")).read_bytes()
             for name in NAMES}
    server = serve(files)
    y_train = datasets.load_mnist(tmp_path, mirrors=[server.url], return_X_y=True)[1]
    assert len(server.requests) == 4
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    for name in NAMES:
        data = gzip.decompress((tmp_path / "mnist" / (name + ".gz")).read_bytes())
        assert hashlib.sha256(data).hexdigest() == REAL_MNIST_SHA256[name]
