"""Loaders for the MNIST and Fashion-MNIST image datasets.

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
"""

import contextlib
import gzip
import hashlib
import http.client
import logging
import os
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
    "FASHION_MNIST_MIRRORS",
    "FILE_NAMES",
    "MNIST_MIRRORS",
    "DatasetDownloadError",
    "DatasetNotFoundError",
    "get_data_home",
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

FILE_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


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
}

_CHUNK_SIZE = 1 << 20
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


def _download(name, directory, mirrors, checksum, timeout, still_missing):
    """Fetch ``name + '.gz'`` into `directory` from the first mirror that works."""
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, name + ".gz")
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name + ".gz"
        logger.info("Downloading %s", url)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.gz.", suffix=".part", dir=directory)
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
        f"Could not download {name}.gz from any mirror:{tried}\n"
        + _manual_instructions(directory, still_missing, mirrors),
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


def _load(dataset, mirrors, data_home, download, return_X_y, dtype, normalize,
          timeout, verify):
    dtype = np.dtype(dtype)
    if normalize and not np.issubdtype(dtype, np.floating):
        raise ValueError(f"normalize=True needs a floating-point dtype, got {dtype}")
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    mirrors = list(mirrors)
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
            name, directory, mirrors, checksums[name], timeout, missing[i:]
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
