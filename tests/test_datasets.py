"""Tests for fastcredit.datasets.

Downloads are exercised for real against HTTP servers on 127.0.0.1; only the
checksum table is patched, to match small synthetic IDX files and CIFAR-10
archives.
"""

import gzip
import hashlib
import http.server
import io
import os
import pickle
import re
import socket
import struct
import tarfile
import threading
import urllib.error
import urllib.request
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


# ------------------------------------------------------------------- CIFAR-10

CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
               b"dog", b"frog", b"horse", b"ship", b"truck"]
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
REAL_CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"


def cifar_pickle(obj, legacy=False):
    """Pickle `obj` like the real batches (protocol 2); `legacy` names numpy.core as NumPy 1 does."""
    data = pickle.dumps(obj, protocol=2)
    if legacy:
        data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    return data


def cifar_tar_gz(members, extra=()):
    """A .tar.gz with `members` (name -> bytes) under cifar-10-batches-py/, as the real one.

    `extra` is (path, bytes) pairs added as they are, at the front.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        folder = tarfile.TarInfo(CIFAR_FOLDER)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for path, data in [*extra, *((f"{CIFAR_FOLDER}/{n}", d) for n, d in members.items())]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo unpickled >&2",))


@pytest.fixture
def cifar(monkeypatch):
    """A small CIFAR-10 archive (3 images per training batch, 4 test images) in the real
    format, with the expected md5 patched to match it.

    Training image 0 is a known channels-first picture: pixel (c, y, x) is
    ``(7 * c + 3 * y + x) % 256``.
    """
    rng = np.random.default_rng(1)
    batches, labels = {}, {}
    for b, name in enumerate(CIFAR_TRAIN + ["test_batch"]):
        n = 4 if name == "test_batch" else 3
        images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels[name] = [int(v) for v in rng.integers(0, 10, n)]
        batches[name] = {b"batch_label": f"batch {b + 1} of 6".encode(), b"labels": labels[name],
                         b"data": images, b"filenames": [b"img%d.png" % i for i in range(n)]}
    c, y, x = np.indices((3, 32, 32))
    picture = ((7 * c + 3 * y + x) % 256).astype(np.uint8)
    batches["data_batch_1"][b"data"][0] = picture.reshape(-1)
    batches["data_batch_1"][b"data"][1, :2] = [0, 255]  # pin the value range
    meta = {b"num_cases_per_batch": 10000, b"label_names": CIFAR_NAMES, b"num_vis": 3072}
    members = {name: cifar_pickle(batch) for name, batch in batches.items()}
    members["batches.meta"] = cifar_pickle(meta)
    archive = cifar_tar_gz(members, extra=[(f"{CIFAR_FOLDER}/readme.html", b"<html></html>")])
    checksum = datasets._Checksum("md5", hashlib.md5(archive).hexdigest(), compressed=True)
    monkeypatch.setitem(datasets._CHECKSUMS, "cifar10", {CIFAR_ARCHIVE: checksum})
    return SimpleNamespace(
        batches=batches, members=members, archive=archive, picture=picture,
        X_train=np.concatenate([batches[n][b"data"] for n in CIFAR_TRAIN]),
        y_train=sum((labels[n] for n in CIFAR_TRAIN), []),
        X_test=batches["test_batch"][b"data"], y_test=labels["test_batch"],
    )


def write_cifar_archive(home, archive):
    (home / "cifar10").mkdir(parents=True, exist_ok=True)
    path = home / "cifar10" / CIFAR_ARCHIVE
    path.write_bytes(archive)
    return path


def write_cifar_folder(home, members):
    folder = home / "cifar10" / CIFAR_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in members.items():
        (folder / name).write_bytes(data)
    return folder


def test_load_cifar10_from_archive(tmp_path, cifar, monkeypatch):
    write_cifar_archive(tmp_path, cifar.archive)
    data = datasets.load_cifar10(tmp_path, download=False, verify=True)
    assert isinstance(data, Bunch)
    assert data.data_home == str(tmp_path)
    assert data.X_train.shape == (15, 3072) and data.X_test.shape == (4, 3072)
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    np.testing.assert_allclose(data.X_train, cifar.X_train / 255, rtol=1e-6)
    np.testing.assert_allclose(data.X_test, cifar.X_test / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.y_train, cifar.y_train)  # batches 1 to 5 in order
    np.testing.assert_array_equal(data.y_test, cifar.y_test)
    assert list(data.target_names) == [n.decode() for n in CIFAR_NAMES]
    assert "Krizhevsky" in data.DESCR and "Licence" in data.DESCR
    assert sorted(os.listdir(tmp_path / "cifar10")) == [CIFAR_ARCHIVE]  # nothing extracted
    monkeypatch.setenv("FASTCREDIT_DATA", str(tmp_path))
    np.testing.assert_array_equal(datasets.load_cifar10(download=False).y_test, cifar.y_test)


def test_cifar10_rows_are_the_archive_layout(tmp_path, cifar):
    write_cifar_archive(tmp_path, cifar.archive)
    X_train = datasets.load_cifar10(tmp_path, download=False, dtype=np.uint8, normalize=False).X_train
    assert X_train.dtype == np.uint8
    np.testing.assert_array_equal(X_train, cifar.X_train)
    row = X_train[0]
    for c, y, x in [(0, 0, 0), (0, 0, 31), (0, 1, 0), (1, 0, 0), (2, 5, 7), (2, 31, 31)]:
        assert row[c * 1024 + y * 32 + x] == cifar.picture[c, y, x] == (7 * c + 3 * y + x) % 256
    np.testing.assert_array_equal(row.reshape(3, 32, 32), cifar.picture)


def test_load_cifar10_from_extracted_folder(tmp_path, cifar):
    write_cifar_folder(tmp_path, cifar.members)
    X_train, y_train, X_test, y_test = datasets.load_cifar10(
        str(tmp_path), download=False, return_X_y=True, dtype=np.float64, normalize=False,
    )
    assert X_train.dtype == np.float64 and X_train.shape == (15, 3072)
    np.testing.assert_array_equal(X_train, cifar.X_train)
    np.testing.assert_array_equal(X_test, cifar.X_test)
    np.testing.assert_array_equal(y_train, cifar.y_train)
    np.testing.assert_array_equal(y_test, cifar.y_test)
    with pytest.warns(UserWarning, match=f"Cannot verify .*{CIFAR_FOLDER}: .*{CIFAR_ARCHIVE}"):
        datasets.load_cifar10(tmp_path, download=False, verify=True)
    with pytest.raises(ValueError, match="floating-point"):
        datasets.load_cifar10(tmp_path, download=False, dtype=np.uint8)


def test_cifar10_pickles_of_numpy_1_load(tmp_path, cifar):
    members = {name: cifar_pickle(batch, legacy=True) for name, batch in cifar.batches.items()}
    assert b"cnumpy.core.multiarray\n" in members["test_batch"]
    members["batches.meta"] = cifar.members["batches.meta"]
    write_cifar_archive(tmp_path, cifar_tar_gz(members))
    np.testing.assert_array_equal(datasets.load_cifar10(tmp_path, download=False).y_test, cifar.y_test)


def py2_batch_pickle(images, labels):
    """``{"data": images, "labels": labels}`` as Python 2's cPickle wrote the real batches:
    protocol 2, str (not unicode) strings, NumPy 1's array reduction."""
    def string(b):
        return b"U" + bytes([len(b)]) + b

    rows, cols = images.shape
    raw = images.tobytes()
    return (
        b"\x80\x02}q\x01(" + string(b"data")
        + b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85" + string(b"b")
        + b"\x87R(K\x01M" + struct.pack("<H", rows) + b"M" + struct.pack("<H", cols) + b"\x86"
        + b"cnumpy\ndtype\n" + string(b"u1") + b"K\x00K\x01\x87R"
        + b"(K\x03" + string(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        + b"I00\nT" + struct.pack("<I", len(raw)) + raw + b"tb"
        + string(b"labels") + b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"eu."
    )


def test_cifar10_python2_pickles_load(tmp_path, cifar):
    members = {name: py2_batch_pickle(batch[b"data"], batch[b"labels"])
               for name, batch in cifar.batches.items()}
    members["batches.meta"] = cifar.members["batches.meta"]
    write_cifar_folder(tmp_path, members)
    data = datasets.load_cifar10(tmp_path, download=False, dtype=np.uint8, normalize=False)
    np.testing.assert_array_equal(data.X_train, cifar.X_train)
    np.testing.assert_array_equal(data.y_train, cifar.y_train)
    np.testing.assert_array_equal(data.X_test, cifar.X_test)


@pytest.mark.parametrize("damage", ["truncated", "not gzip", "empty"])
def test_corrupted_cifar10_archive_is_rejected(tmp_path, cifar, damage):
    archive = {"truncated": cifar.archive[: len(cifar.archive) // 2],
               "not gzip": b"PK\x03\x04 a zip file", "empty": b""}[damage]
    path = write_cifar_archive(tmp_path, archive)
    with pytest.raises(ValueError, match=re.escape(f"{path}: not a valid .tar.gz archive")):
        datasets.load_cifar10(tmp_path, download=False)


def test_cifar10_archive_checked_with_verify(tmp_path, cifar):
    batch = {**cifar.batches["test_batch"], b"labels": [9, 9, 9, 9]}
    path = write_cifar_archive(tmp_path, cifar_tar_gz(dict(cifar.members, test_batch=cifar_pickle(batch))))
    # A well-formed but different archive is only caught when asked to verify.
    np.testing.assert_array_equal(datasets.load_cifar10(tmp_path, download=False).y_test, [9] * 4)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*checksum mismatch.*md5"):
        datasets.load_cifar10(tmp_path, download=False, verify=True)


def _with_batch(cifar, name, **changes):
    batch = {**cifar.batches[name], **{key.encode(): value for key, value in changes.items()}}
    return dict(cifar.members, **{name: cifar_pickle(batch)})


@pytest.mark.parametrize("case, message", [
    ("no test batch", f"not a CIFAR-10 archive, it lacks {CIFAR_FOLDER}/test_batch"),
    ("wrong shape", "data_batch_2: expected data of shape (n, 3072) and dtype uint8, got (3, 1024) uint8"),
    ("wrong dtype", "data_batch_2: expected data of shape (n, 3072) and dtype uint8, got (3, 3072) int64"),
    ("label count", "data_batch_2 has 3 images but 2 labels"),
    ("label range", "data_batch_2: label 10 is not in [0, 10)"),
    ("not a dict", "test_batch: expected a pickled dict, got list"),
    ("no labels", "test_batch: no 'labels' entry"),
    ("not a pickle", "test_batch: not a CIFAR-10 pickle"),
    ("code in the pickle", "test_batch: not a CIFAR-10 pickle (UnpicklingError: refusing to unpickle"),
    ("label names", "batches.meta: expected 10 label names, got 9"),
])
def test_malformed_cifar10_batch_names_the_member(tmp_path, cifar, case, message, capfd):
    data = cifar.batches["data_batch_2"][b"data"]
    members = {
        "no test batch": {k: v for k, v in cifar.members.items() if k != "test_batch"},
        "wrong shape": _with_batch(cifar, "data_batch_2", data=data[:, :1024]),
        "wrong dtype": _with_batch(cifar, "data_batch_2", data=data.astype(np.int64)),
        "label count": _with_batch(cifar, "data_batch_2", labels=[1, 2]),
        "label range": _with_batch(cifar, "data_batch_2", labels=[1, 10, 2]),
        "not a dict": dict(cifar.members, test_batch=cifar_pickle([1, 2])),
        "no labels": dict(cifar.members, test_batch=cifar_pickle({b"data": data})),
        "not a pickle": dict(cifar.members, test_batch=b"\x80\x02 garbage"),
        "code in the pickle": dict(cifar.members, test_batch=cifar_pickle({b"data": _Evil()})),
        "label names": dict(cifar.members, **{"batches.meta": cifar_pickle({b"label_names": CIFAR_NAMES[:9]})}),
    }[case]
    path = write_cifar_archive(tmp_path, cifar_tar_gz(members))
    with pytest.raises(ValueError, match=re.escape(f"{path}:") + ".*" + re.escape(message)):
        datasets.load_cifar10(tmp_path, download=False)
    assert "unpickled" not in capfd.readouterr().err  # no code ran


def test_cifar10_only_the_batches_are_read_from_the_archive(tmp_path, cifar, capfd):
    extra = [("evil.pkl", cifar_pickle(_Evil())), (f"{CIFAR_FOLDER}/other", cifar_pickle(_Evil())),
             ("../data_batch_1", b"outside")]
    write_cifar_archive(tmp_path, cifar_tar_gz(cifar.members, extra=extra))
    data = datasets.load_cifar10(tmp_path, download=False)
    np.testing.assert_array_equal(data.y_test, cifar.y_test)
    assert "unpickled" not in capfd.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["cifar10"]
    assert sorted(os.listdir(tmp_path / "cifar10")) == [CIFAR_ARCHIVE]


def test_cifar10_link_member_is_rejected(tmp_path, cifar):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in cifar.members.items():
            info = tarfile.TarInfo(f"{CIFAR_FOLDER}/{name}")
            if name == "test_batch":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    path = write_cifar_archive(tmp_path, buf.getvalue())
    with pytest.raises(ValueError, match=re.escape(f"{path}:{CIFAR_FOLDER}/test_batch: not a regular file")):
        datasets.load_cifar10(tmp_path, download=False)


def test_cifar10_missing_without_download(tmp_path, serve, cifar):
    server = serve({CIFAR_ARCHIVE: cifar.archive})
    directory = tmp_path / "cifar10"
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_cifar10(tmp_path, download=False, mirrors=[server.url])
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert f"in the directory {directory}" in message
    assert f"{CIFAR_ARCHIVE} (for example from {server.url})" in message
    assert CIFAR_FOLDER in message and "batches.meta" in message
    assert server.requests == []
    assert not directory.exists()


def test_cifar10_incomplete_folder_says_what_it_lacks(tmp_path, cifar):
    folder = write_cifar_folder(tmp_path, {k: v for k, v in cifar.members.items() if k != "data_batch_3"})
    with pytest.raises(datasets.DatasetNotFoundError, match=re.escape(f"{folder} lacks data_batch_3.")):
        datasets.load_cifar10(tmp_path, download=False)
    with pytest.raises(datasets.DatasetNotFoundError, match=re.escape("https://www.cs.toronto.edu/~kriz/")):
        datasets.load_cifar10(tmp_path, download=False)


def test_cifar10_download_then_cache(tmp_path, serve, cifar):
    server = serve({CIFAR_ARCHIVE: cifar.archive})
    data = datasets.load_cifar10(tmp_path, mirrors=[server.url])
    assert server.requests == [f"/mirror/{CIFAR_ARCHIVE}"]
    assert _cached(tmp_path / "cifar10") == [CIFAR_ARCHIVE]
    assert (tmp_path / "cifar10" / CIFAR_ARCHIVE).read_bytes() == cifar.archive
    np.testing.assert_array_equal(data.y_train, cifar.y_train)
    again = datasets.load_cifar10(tmp_path, mirrors=[server.url])
    assert len(server.requests) == 1  # served from the cache
    np.testing.assert_array_equal(again.X_train, data.X_train)


def test_cifar10_failing_mirrors(tmp_path, serve, cifar, closed_port_url):
    files = {CIFAR_ARCHIVE: cifar.archive}
    servers = [serve(files, mode) for mode in ("404", "corrupt", "short")]
    urls = [s.url for s in servers] + [closed_port_url]
    directory = tmp_path / "cifar10"
    with pytest.raises(datasets.DatasetDownloadError) as info:
        datasets.load_cifar10(tmp_path, mirrors=urls, timeout=2)
    error = info.value
    assert [url for url, _ in error.failures] == [u + CIFAR_ARCHIVE for u in urls]
    reasons = ["HTTP error 404", "checksum mismatch: md5", "incomplete transfer", "refused"]
    for url, reason in zip(urls, reasons):
        assert re.search(re.escape(url + CIFAR_ARCHIVE) + ": .*" + re.escape(reason), str(error))
    assert f"Put the file {CIFAR_ARCHIVE}" in str(error)
    assert _cached(directory) == []  # no partial or unverified file left
    # The next mirror that works delivers it.
    good = serve(files)
    data = datasets.load_cifar10(tmp_path, mirrors=urls + [good.url], timeout=2)
    np.testing.assert_array_equal(data.y_test, cifar.y_test)
    assert _cached(directory) == [CIFAR_ARCHIVE]


class _BrokenResponse:
    """An HTTP response that delivers `head` and then loses the connection."""

    headers = {"Content-Length": "1000000"}

    def __init__(self, head):
        self.chunks = [head]

    def read(self, size=-1):
        if self.chunks:
            return self.chunks.pop()
        raise ConnectionResetError("connection reset by peer")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("failure", ["unreachable", "reset"])
def test_cifar10_default_mirror_download_failure(tmp_path, cifar, monkeypatch, failure):
    requested = []

    def urlopen(request, timeout):
        requested.append(request.full_url)
        if failure == "unreachable":
            raise urllib.error.URLError("no network")
        return _BrokenResponse(cifar.archive[:1000])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(datasets.DatasetDownloadError) as info:
        datasets.load_cifar10(tmp_path)
    assert requested == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    reason = "no network" if failure == "unreachable" else "ConnectionResetError"
    assert reason in info.value.failures[0][1]
    assert _cached(tmp_path / "cifar10") == []


def test_cifar10_checksum_and_mirrors():
    assert datasets._CHECKSUMS["cifar10"] == {
        CIFAR_ARCHIVE: datasets._Checksum("md5", REAL_CIFAR10_MD5, compressed=True)
    }
    assert datasets.CIFAR10_MIRRORS[0] == "https://www.cs.toronto.edu/~kriz/"
    assert datasets.CIFAR10_FILE_NAMES == (*CIFAR_TRAIN, "test_batch", "batches.meta")


# ------------------------------------------------------------- real CIFAR-10


@pytest.fixture(scope="module")
def real_cifar10_home():
    root = _real_data_root()
    directory = root / "cifar10"
    folder = directory / CIFAR_FOLDER
    if not ((directory / CIFAR_ARCHIVE).is_file()
            or all((folder / name).is_file() for name in datasets.CIFAR10_FILE_NAMES)):
        pytest.skip(f"real CIFAR-10 not found in {directory}")
    return root


def test_load_real_cifar10(real_cifar10_home):
    has_archive = (real_cifar10_home / "cifar10" / CIFAR_ARCHIVE).is_file()
    data = datasets.load_cifar10(real_cifar10_home, download=False, verify=has_archive)
    assert data.X_train.shape == (50000, 3072) and data.X_test.shape == (10000, 3072)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert list(data.target_names) == [n.decode() for n in CIFAR_NAMES]
    np.testing.assert_array_equal(np.bincount(data.y_train), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [1000] * 10)
    np.testing.assert_array_equal(data.y_train[:3], [6, 9, 9])  # frog, truck, truck
