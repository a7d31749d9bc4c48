"""Loaders for the MNIST, Fashion-MNIST and CIFAR-10 image datasets.

Files are looked up as ``<data_home>/mnist/<name>.gz`` and
``<data_home>/fashion-mnist/<name>.gz`` (decompressed files without the
``.gz`` suffix are accepted too), where ``<name>`` is one of
`FILE_NAMES`.  Missing files are downloaded from a list of mirrors; a
download is written to a temporary file next to its destination, verified,
and only then renamed into place, so a failed or corrupted transfer never
leaves a file behind.

MNIST downloads are verified against the sha256 of the *decompressed* files,
because mirrors recompress the data and their ``.gz`` files differ.
Fashion-MNIST downloads are verified against the published md5 of the
``.gz`` files themselves, since that is what its authors publish.

CIFAR-10 is read from ``<data_home>/cifar10/cifar-10-python.tar.gz``, the
official python-format archive (a download is verified against its
published md5), or else from the ``cifar-10-batches-py`` folder extracted
from it beside it.  Only the pickled batches named in
`CIFAR10_FILE_NAMES` are read, straight out of the archive (nothing is
extracted), and they are unpickled with a restricted unpickler that builds
nothing but plain containers and NumPy arrays.
"""

import contextlib
import gzip
import hashlib
import http.client
import io
import logging
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

from ._idx import parse_idx

__all__ = [
    "CIFAR10_FILE_NAMES",
    "CIFAR10_MIRRORS",
    "FASHION_MNIST_MIRRORS",
    "FILE_NAMES",
    "MNIST_MIRRORS",
    "DatasetDownloadError",
    "DatasetNotFoundError",
    "get_data_home",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
]

logger = logging.getLogger(__name__)

MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
FASHION_MNIST_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
]

CIFAR10_MIRRORS = [
    "https://www.cs.toronto.edu/~kriz/",
]

FILE_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR10_FOLDER = "cifar-10-batches-py"  # the archive's top folder
_CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR10_TEST = "test_batch"
_CIFAR10_META = "batches.meta"
CIFAR10_FILE_NAMES = _CIFAR10_TRAIN + (_CIFAR10_TEST, _CIFAR10_META)
_CIFAR10_N_FEATURES = 3 * 32 * 32


@dataclass(frozen=True)
class _Checksum:
    """Expected digest of one dataset file.

    `algorithm` is any name accepted by `hashlib.new`.  `compressed` says
    whether the digest is of the ``.gz`` file as served (True) or of the
    decompressed IDX file (False).
    """

    algorithm: str
    hexdigest: str
    compressed: bool = False


# Keyed by dataset, which is also the name of its subdirectory of data_home.
_CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": _Checksum(
            "sha256", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": _Checksum(
            "sha256", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": _Checksum(
            "sha256", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": _Checksum(
            "sha256", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": _Checksum(
            "md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", compressed=True
        ),
        "train-labels-idx1-ubyte": _Checksum(
            "md5", "25c81989df183df01b3e8a0aad5dffbe", compressed=True
        ),
        "t10k-images-idx3-ubyte": _Checksum(
            "md5", "bef4ecab320f06d8554ea6380940ec79", compressed=True
        ),
        "t10k-labels-idx1-ubyte": _Checksum(
            "md5", "bb300cfdad3c16e7a12a480ee83cd310", compressed=True
        ),
    },
    "cifar10": {
        _CIFAR10_ARCHIVE: _Checksum(
            "md5", "c58f30108f718f92721af3b95e74349a", compressed=True
        ),
    },
}

_TARGET_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}

_DESCR = {
    "mnist": """\
MNIST handwritten digits
------------------------
70000 grayscale 28x28 images of the digits 0-9: 60000 for training and
10000 for testing. Pixels are 0 (background) to 255 (ink).

Source: Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
http://yann.lecun.com/exdb/mnist/

Citation: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. Gradient-based
learning applied to document recognition. Proceedings of the IEEE,
86(11):2278-2324, 1998.

Licence: commonly distributed under Creative Commons Attribution-Share
Alike 3.0 (CC BY-SA 3.0).
""",
    "fashion-mnist": """\
Fashion-MNIST
-------------
70000 grayscale 28x28 images of Zalando clothing articles in 10 classes:
60000 for training and 10000 for testing. A drop-in replacement for MNIST.

Source: https://github.com/zalandoresearch/fashion-mnist

Citation: H. Xiao, K. Rasul and R. Vollgraf. Fashion-MNIST: a Novel Image
Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.

Licence: MIT License, Copyright (c) 2017 Zalando SE.
""",
    "cifar10": """\
CIFAR-10
--------
60000 colour 32x32 images in 10 classes (airplane, automobile, bird, cat,
deer, dog, frog, horse, ship, truck): 50000 for training and 10000 for
testing. Each row holds the 1024 red, then the 1024 green, then the 1024
blue pixels of one image, each plane row by row: pixel (c, y, x) is column
c*1024 + y*32 + x, and X.reshape(-1, 3, 32, 32) gives (channel, y, x).
Pixels are 0 to 255.

Source: Alex Krizhevsky, Vinod Nair and Geoffrey Hinton,
https://www.cs.toronto.edu/~kriz/cifar.html

Citation: A. Krizhevsky. Learning Multiple Layers of Features from Tiny
Images. Technical report, University of Toronto, 2009.

Licence: none stated; its authors ask that the technical report be cited.
""",
}

_CHUNK_SIZE = 1 << 20
# A CIFAR-10 batch pickles to about 31 MB; a member far larger is not one.
_MAX_MEMBER_BYTES = 1 << 26
_USER_AGENT = "fastcredit-datasets (Python urllib)"


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files are not in the data home and downloading is off."""


class DatasetDownloadError(OSError):
    """No mirror delivered a verified copy of a dataset file.

    Attributes
    ----------
    failures : list of (str, str)
        The URL tried at each mirror and why it failed, in the order tried.
    """

    def __init__(self, message, failures=()):
        super().__init__(message)
        self.failures = list(failures)


class _TransferError(Exception):
    """A download arrived but is unusable (HTTP error, short, bad checksum)."""


# Everything that means "this mirror did not work, try the next one".
# URLError, HTTPError, timeouts and connection resets are all OSErrors.
_MIRROR_ERRORS = (
    _TransferError, OSError, EOFError, zlib.error, http.client.HTTPException, ValueError,
)


def get_data_home(data_home=None):
    """Return the directory that holds the fastcredit datasets.

    The directory is not created.

    Parameters
    ----------
    data_home : str or path-like, default=None
        If given, it is used as is (after ``~`` expansion).  Otherwise the
        ``FASTCREDIT_DATA`` environment variable is used if set and
        non-empty, else ``$XDG_CACHE_HOME/fastcredit``, else
        ``~/.cache/fastcredit``.

    Returns
    -------
    data_home : str
        Absolute path of the directory.
    """
    if data_home is None:
        data_home = os.environ.get("FASTCREDIT_DATA")
    if not data_home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        data_home = os.path.join(cache, "fastcredit")
    return os.path.abspath(os.path.expanduser(os.fspath(data_home)))


def _find_local(directory, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _manual_instructions(directory, names, mirrors):
    files = ", ".join(name + ".gz" for name in names)
    source = f" (for example from {mirrors[0]})" if mirrors else ""
    return (
        f"Put the files {files}{source} in the directory {directory} by hand; "
        "decompressed copies without the .gz suffix work too."
    )


def _new_hash(algorithm):
    return hashlib.new(algorithm, usedforsecurity=False)


def _fetch(url, out, timeout):
    """Copy `url` into the open binary file `out`; raise unless complete."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # release the connection now, not at garbage collection
        raise _TransferError(f"HTTP error {exc.code} {exc.reason}") from None
    with response:
        try:
            expected = int(response.headers["Content-Length"])
        except (TypeError, ValueError):
            expected = None
        received = 0
        # http.client returns a short body silently, so count it ourselves.
        while chunk := response.read(_CHUNK_SIZE):
            out.write(chunk)
            received += len(chunk)
    if expected is not None and received != expected:
        raise _TransferError(
            f"incomplete transfer: received {received} of {expected} bytes"
        )
    if received == 0:
        raise _TransferError("empty response")


def _file_digest(path, checksum):
    digest = _new_hash(checksum.algorithm)
    opener = open if checksum.compressed else gzip.open
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(checksum):
    return f"{checksum.algorithm} of the {'.gz' if checksum.compressed else 'decompressed'} file"


def _download(filename, directory, mirrors, checksum, timeout, instructions):
    """Fetch `filename` into `directory` from the first mirror that works.

    `instructions` (how to put the files in place by hand) end the error
    raised when no mirror works.
    """
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, filename)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        logger.info("Downloading %s", url)
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                _fetch(url, out, timeout)
            actual = _file_digest(tmp, checksum)
            if actual != checksum.hexdigest:
                raise _TransferError(
                    f"checksum mismatch: {_describe(checksum)} is {actual}, "
                    f"expected {checksum.hexdigest}"
                )
            os.replace(tmp, target)
            return target
        except _MIRROR_ERRORS as exc:
            if isinstance(exc, _TransferError):
                reason = str(exc)
            else:
                reason = f"{type(exc).__name__}: {exc}"
            logger.warning("Download of %s failed: %s", url, reason)
            failures.append((url, reason))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    tried = "".join(f"\n  {url}: {reason}" for url, reason in failures) or " (no mirrors given)"
    raise DatasetDownloadError(
        f"Could not download {filename} from any mirror:{tried}\n" + instructions,
        failures,
    )


def _read_local(path, checksum, verify):
    """Return the decompressed bytes of `path`, optionally checking them."""
    with open(path, "rb") as f:
        raw = f.read()
    data = raw
    is_gz = path.endswith(".gz")
    if is_gz:
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc
    if verify:
        if checksum.compressed and not is_gz:
            warnings.warn(
                f"Cannot verify {path}: the known checksum is of the .gz file.",
                stacklevel=4,
            )
        else:
            digest = _new_hash(checksum.algorithm)
            digest.update(raw if checksum.compressed else data)
            if digest.hexdigest() != checksum.hexdigest:
                raise ValueError(
                    f"{path}: checksum mismatch ({_describe(checksum)} is "
                    f"{digest.hexdigest()}, expected {checksum.hexdigest}); "
                    "delete it to download it again"
                )
    return data


def _split(arrays, paths, prefix, n_classes, dtype, normalize):
    """Return ``(X, y)`` from the images and labels files named `prefix`-*."""
    image_name, label_name = prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"
    images, labels = arrays[image_name], arrays[label_name]
    image_path, label_path = paths[image_name], paths[label_name]
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{image_path}: expected a 3-D uint8 IDX file, got {images.ndim}-D {images.dtype}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{label_path}: expected a 1-D uint8 IDX file, got {labels.ndim}-D {labels.dtype}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels"
        )
    if len(labels) and labels.max() >= n_classes:
        raise ValueError(f"{label_path}: label {labels.max()} is not below {n_classes}")
    X = images.reshape(len(images), -1).astype(dtype)
    if normalize:
        X /= dtype.type(255)
    return X, labels.astype(np.int64)


def _check_dtype(dtype, normalize):
    dtype = np.dtype(dtype)
    if normalize and not np.issubdtype(dtype, np.floating):
        raise ValueError(f"normalize=True needs a floating-point dtype, got {dtype}")
    return dtype


def _mirror_list(mirrors):
    return [mirrors] if isinstance(mirrors, str) else list(mirrors)


def _load(dataset, mirrors, data_home, download, return_X_y, dtype, normalize,
          timeout, verify):
    dtype = _check_dtype(dtype, normalize)
    mirrors = _mirror_list(mirrors)
    home = get_data_home(data_home)
    directory = os.path.join(home, dataset)
    checksums = _CHECKSUMS[dataset]

    paths = {name: _find_local(directory, name) for name in FILE_NAMES}
    missing = [name for name in FILE_NAMES if paths[name] is None]
    if missing and not download:
        raise DatasetNotFoundError(
            f"{dataset} files not found in {directory} and download=False. "
            + _manual_instructions(directory, missing, mirrors)
        )
    for i, name in enumerate(missing):
        paths[name] = _download(
            name + ".gz", directory, mirrors, checksums[name], timeout,
            _manual_instructions(directory, missing[i:], mirrors),
        )

    arrays = {}
    for name in FILE_NAMES:
        # Fresh downloads were verified already.
        data = _read_local(paths[name], checksums[name], verify and name not in missing)
        arrays[name] = parse_idx(data, paths[name])

    target_names = _TARGET_NAMES[dataset]
    n_classes = len(target_names)
    X_train, y_train = _split(arrays, paths, "train", n_classes, dtype, normalize)
    X_test, y_test = _split(arrays, paths, "t10k", n_classes, dtype, normalize)
    if return_X_y:
        return X_train, y_train, X_test, y_test
    return Bunch(
        X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        target_names=np.array(target_names), DESCR=_DESCR[dataset], data_home=home,
    )


_LOADER_DOC = """Load the {title} dataset, downloading it if needed.

    The files are read from ``<data_home>/{dataset}/``.  Missing files are
    downloaded there from the first working mirror and verified against
    the {checksum_kind}.
    A download that fails or does not match is discarded and the next
    mirror is tried.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Directory holding the datasets; see `get_data_home` for the default.
    download : bool, default=True
        Whether to download missing files.
    mirrors : list of str, default=None
        Base URLs to try in order; defaults to `{mirrors_name}`.
    return_X_y : bool, default=False
        If True, return ``(X_train, y_train, X_test, y_test)`` instead of a
        Bunch.
    dtype : data-type, default=np.float32
        Element type of ``X_train`` and ``X_test``.
    normalize : bool, default=True
        If True, scale pixels from 0..255 to [0, 1] (`dtype` must then be a
        floating-point type); if False, keep the raw 0..255 values.
    timeout : float, default=30
        Seconds to wait for a mirror to connect or send more data.
    verify : bool, default=False
        Also verify files that were already present (downloads are always
        verified).  Checksums of ``.gz`` files cannot verify decompressed
        copies; a warning is issued for those.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes ``X_train`` (60000, 784) and ``X_test`` (10000, 784)
        of `dtype`, ``y_train`` and ``y_test`` of int64 class indices,
        ``target_names`` (the class names), ``DESCR`` (description, citation
        and licence) and ``data_home`` (the directory the ``{dataset}``
        folder was read from).
    (X_train, y_train, X_test, y_test) : tuple of ndarray
        If `return_X_y` is True.

    Raises
    ------
    DatasetNotFoundError
        If files are missing and `download` is False.
    DatasetDownloadError
        If a missing file could not be downloaded and verified from any
        mirror.  The message lists each mirror's failure.
    ValueError
        If a local file is not a valid (gzipped) IDX file of the expected
        shape, or fails verification with ``verify=True``.
    """


def load_mnist(data_home=None, *, download=True, mirrors=None, return_X_y=False,
               dtype=np.float32, normalize=True, timeout=30, verify=False):
    return _load("mnist", MNIST_MIRRORS if mirrors is None else mirrors, data_home,
                 download, return_X_y, dtype, normalize, timeout, verify)


def load_fashion_mnist(data_home=None, *, download=True, mirrors=None, return_X_y=False,
                       dtype=np.float32, normalize=True, timeout=30, verify=False):
    return _load("fashion-mnist", FASHION_MNIST_MIRRORS if mirrors is None else mirrors,
                 data_home, download, return_X_y, dtype, normalize, timeout, verify)


load_mnist.__doc__ = _LOADER_DOC.format(
    title="MNIST handwritten digits", dataset="mnist", mirrors_name="MNIST_MIRRORS",
    checksum_kind="sha256 of the decompressed files",
)
load_fashion_mnist.__doc__ = _LOADER_DOC.format(
    title="Fashion-MNIST", dataset="fashion-mnist", mirrors_name="FASHION_MNIST_MIRRORS",
    checksum_kind="md5 of the ``.gz`` files published by its authors",
)


# ------------------------------------------------------------------ CIFAR-10


def _latin1_encode(text, encoding):
    """``_codecs.encode`` as Python 3 pickles bytes at protocol 2, latin-1 only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refusing _codecs.encode other than of a str to latin-1")
    return text.encode("latin-1")


_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]  # the function NumPy pickles arrays with

# The only globals a CIFAR-10 batch may name: enough to rebuild a NumPy array.
# NumPy 1 pickles name numpy.core, NumPy 2 numpy._core.
_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


# What a damaged or foreign pickle can raise while it is being loaded.
_PICKLE_ERRORS = (
    pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
    KeyError, OverflowError,
)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays; refuses every other global."""

    def find_class(self, module, name):
        try:
            return _PICKLE_GLOBALS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}") from None


def _unpickle(data, where):
    """The object pickled in `data` (the bytes of the file `where`)."""
    try:
        return _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except _PICKLE_ERRORS as exc:
        raise ValueError(f"{where}: not a CIFAR-10 pickle ({type(exc).__name__}: {exc})") from exc


def _cifar10_members(tar, archive):
    """The bytes of the `CIFAR10_FILE_NAMES` members of the open `tar`, by name."""
    wanted = {f"{_CIFAR10_FOLDER}/{name}": name for name in CIFAR10_FILE_NAMES}
    found = {}
    for member in tar:
        name = wanted.get(member.name.removeprefix("./"))
        if name is None:
            continue  # never read, let alone unpickled
        where = f"{archive}:{member.name}"
        if not member.isfile():
            raise ValueError(f"{where}: not a regular file")
        if member.size > _MAX_MEMBER_BYTES:
            raise ValueError(f"{where}: {member.size} bytes is too large for a CIFAR-10 batch")
        found[name] = (tar.extractfile(member).read(), where)
    missing = [name for name in CIFAR10_FILE_NAMES if name not in found]
    if missing:
        raise ValueError(
            f"{archive}: not a CIFAR-10 archive, it lacks "
            + ", ".join(f"{_CIFAR10_FOLDER}/{name}" for name in missing)
        )
    return found


def _read_cifar10_archive(path):
    """``{name: (bytes, where)}`` of the batches in the ``.tar.gz`` at `path`."""
    with open(path, "rb") as f:
        try:
            with tarfile.open(fileobj=f, mode="r:gz") as tar:
                return _cifar10_members(tar, path)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{path}: not a valid .tar.gz archive ({exc}); delete it to download it again"
            ) from exc


def _read_cifar10_folder(folder):
    """``{name: (bytes, where)}`` of the batches in the extracted `folder`."""
    found = {}
    for name in CIFAR10_FILE_NAMES:
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            found[name] = (f.read(), path)
    return found


def _missing_from_folder(folder):
    return [name for name in CIFAR10_FILE_NAMES
            if not os.path.isfile(os.path.join(folder, name))]


def _cifar10_instructions(directory, mirrors, folder_missing):
    source = f" (for example from {mirrors[0]})" if mirrors else ""
    folder = os.path.join(directory, _CIFAR10_FOLDER)
    lacks = ""
    if os.path.isdir(folder):
        lacks = f"; {folder} lacks {', '.join(folder_missing)}"
    return (
        f"Put the file {_CIFAR10_ARCHIVE}{source} in the directory {directory} by hand, "
        f"or the {_CIFAR10_FOLDER} folder extracted from it (with "
        f"{', '.join(CIFAR10_FILE_NAMES)}){lacks}."
    )


def _field(obj, key, where):
    """``obj[key]`` of an unpickled dict, whose keys are bytes (or str)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a pickled dict, got {type(obj).__name__}")
    for candidate in (key.encode(), key):
        if candidate in obj:
            return obj[candidate]
    raise ValueError(f"{where}: no {key!r} entry")


def _cifar10_label_names(obj, where):
    names = _field(obj, "label_names", where)
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names):
        raise ValueError(f"{where}: label_names is not a list of strings")
    if len(names) != 10:
        raise ValueError(f"{where}: expected 10 label names, got {len(names)}")
    return [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]


def _cifar10_batch(obj, where, n_classes):
    """``(images, labels)`` of one unpickled batch: (n, 3072) uint8 and (n,) int64."""
    images, labels = _field(obj, "data", where), _field(obj, "labels", where)
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 2
            and images.shape[1] == _CIFAR10_N_FEATURES):
        found = (f"{images.shape} {images.dtype}" if isinstance(images, np.ndarray)
                 else type(images).__name__)
        raise ValueError(f"{where}: expected data of shape (n, 3072) and dtype uint8, got {found}")
    try:
        labels = np.asarray(labels)
    except (ValueError, TypeError):  # a ragged or otherwise odd list
        labels = None
    if labels is None or labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"{where}: labels are not a list of integers")
    if len(labels) != len(images):
        raise ValueError(f"{where} has {len(images)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(f"{where}: label {bad} is not in [0, {n_classes})")
    return images, labels.astype(np.int64)


def _stack(batches, dtype, normalize):
    """``(X, y)`` from a list of ``(images, labels)``, converted batch by batch."""
    X = np.empty((sum(len(images) for images, _ in batches), _CIFAR10_N_FEATURES), dtype)
    start = 0
    for images, _ in batches:
        X[start:start + len(images)] = images
        start += len(images)
    if normalize:
        X /= dtype.type(255)
    return X, np.concatenate([labels for _, labels in batches])


def _cifar10_split(members, names, n_classes, dtype, normalize):
    """``(X, y)`` of the batches `names`, taken out of `members` as they are read."""
    batches = []
    for name in names:
        data, where = members.pop(name)  # the bytes are freed once unpickled
        batches.append(_cifar10_batch(_unpickle(data, where), where, n_classes))
    return _stack(batches, dtype, normalize)


def _locate_cifar10(directory, mirrors, download, timeout, verify):
    """``{name: (bytes, where)}`` of the CIFAR-10 batches, downloading if needed."""
    archive = os.path.join(directory, _CIFAR10_ARCHIVE)
    folder = os.path.join(directory, _CIFAR10_FOLDER)
    checksum = _CHECKSUMS["cifar10"][_CIFAR10_ARCHIVE]
    if os.path.isfile(archive):
        if verify:
            actual = _file_digest(archive, checksum)
            if actual != checksum.hexdigest:
                raise ValueError(
                    f"{archive}: checksum mismatch (md5 of the archive is {actual}, "
                    f"expected {checksum.hexdigest}); delete it to download it again"
                )
        return _read_cifar10_archive(archive)
    folder_missing = _missing_from_folder(folder)
    if not folder_missing:
        if verify:
            warnings.warn(
                f"Cannot verify {folder}: the known checksum is of {_CIFAR10_ARCHIVE}.",
                stacklevel=3,
            )
        return _read_cifar10_folder(folder)
    instructions = _cifar10_instructions(directory, mirrors, folder_missing)
    if not download:
        raise DatasetNotFoundError(
            f"cifar10 files not found in {directory} and download=False. " + instructions
        )
    archive = _download(_CIFAR10_ARCHIVE, directory, mirrors, checksum, timeout, instructions)
    return _read_cifar10_archive(archive)


def load_cifar10(data_home=None, *, download=True, mirrors=None, return_X_y=False,
                 dtype=np.float32, normalize=True, timeout=30, verify=False):
    """Load the CIFAR-10 dataset, downloading it if needed.

    The data is read from ``<data_home>/cifar10/cifar-10-python.tar.gz``
    (the official python-format archive), else from the
    ``cifar-10-batches-py`` folder extracted from it in the same directory.
    If neither is there, the archive is downloaded there from the first
    working mirror and verified against its published md5.  A download
    that fails or does not match is discarded and the next mirror is tried.
    Only the batch files are read from the archive, which is never
    extracted, and they are unpickled without running any code.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Directory holding the datasets; see `get_data_home` for the default.
    download : bool, default=True
        Whether to download the archive if the data is missing.
    mirrors : list of str, default=None
        Base URLs to try in order; defaults to `CIFAR10_MIRRORS`.
    return_X_y : bool, default=False
        If True, return ``(X_train, y_train, X_test, y_test)`` instead of a
        Bunch.
    dtype : data-type, default=np.float32
        Element type of ``X_train`` and ``X_test``.
    normalize : bool, default=True
        If True, scale pixels from 0..255 to [0, 1] (`dtype` must then be a
        floating-point type); if False, keep the raw 0..255 values.
    timeout : float, default=30
        Seconds to wait for a mirror to connect or send more data.
    verify : bool, default=False
        Also verify an archive that was already present (downloads are
        always verified).  The checksum of the archive cannot verify an
        extracted folder; a warning is issued for that.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes ``X_train`` (50000, 3072) and ``X_test`` (10000,
        3072) of `dtype`, ``y_train`` and ``y_test`` of int64 class indices,
        ``target_names`` (the class names from ``batches.meta``), ``DESCR``
        (description, citation and licence) and ``data_home`` (the
        directory the ``cifar10`` folder was read from).  A row is the
        archive's own layout, channels first: the red, green and blue
        32x32 planes one after the other, so pixel ``(c, y, x)`` is column
        ``c * 1024 + y * 32 + x`` and ``X.reshape(-1, 3, 32, 32)`` gives the
        images.  The training set is ``data_batch_1`` to ``data_batch_5`` in
        order.
    (X_train, y_train, X_test, y_test) : tuple of ndarray
        If `return_X_y` is True.

    Raises
    ------
    DatasetNotFoundError
        If the data is missing and `download` is False.
    DatasetDownloadError
        If the archive could not be downloaded and verified from any
        mirror.  The message lists each mirror's failure.
    ValueError
        If a local archive is not a valid ``.tar.gz`` holding the CIFAR-10
        batches, a batch is not of the expected form, or the archive fails
        verification with ``verify=True``.
    """
    dtype = _check_dtype(dtype, normalize)
    mirrors = _mirror_list(CIFAR10_MIRRORS if mirrors is None else mirrors)
    home = get_data_home(data_home)
    members = _locate_cifar10(os.path.join(home, "cifar10"), mirrors, download, timeout, verify)
    data, where = members.pop(_CIFAR10_META)
    target_names = _cifar10_label_names(_unpickle(data, where), where)
    n_classes = len(target_names)
    X_train, y_train = _cifar10_split(members, _CIFAR10_TRAIN, n_classes, dtype, normalize)
    X_test, y_test = _cifar10_split(members, (_CIFAR10_TEST,), n_classes, dtype, normalize)
    if return_X_y:
        return X_train, y_train, X_test, y_test
    return Bunch(
        X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        target_names=np.array(target_names), DESCR=_DESCR["cifar10"], data_home=home,
    )
