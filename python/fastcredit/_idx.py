"""Parser for the IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the data in C order, with
multi-byte values big-endian.  See http://yann.lecun.com/exdb/mnist/.
"""

import math
import struct

import numpy as np

_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data, name="<IDX data>"):
    """Parse the bytes of an uncompressed IDX file.

    Parameters
    ----------
    data : bytes-like
        Complete contents of the file.
    name : str, default="<IDX data>"
        Name of the file, used in error messages.

    Returns
    -------
    array : ndarray
        Array with the file's shape and element type, in native byte order.
        It may be read-only and share memory with `data`.

    Raises
    ------
    ValueError
        If the magic number is wrong, or the file is shorter or longer than
        its header says.
    """
    data = memoryview(data).cast("B")
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file (only {len(data)} bytes long)")
    code, ndim = data[2], data[3]
    if data[0] != 0 or data[1] != 0 or code not in _DTYPES or ndim == 0:
        magic = int.from_bytes(data[:4], "big")
        raise ValueError(f"{name}: not an IDX file (bad magic number 0x{magic:08X})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{name}: truncated IDX file (header needs {header_size} bytes, "
            f"file has {len(data)})"
        )
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = _DTYPES[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    actual = len(data) - header_size
    if actual < expected:
        raise ValueError(
            f"{name}: truncated IDX file (shape {shape} needs {expected} data bytes, "
            f"file has {actual})"
        )
    if actual > expected:
        raise ValueError(
            f"{name}: malformed IDX file ({actual - expected} unexpected bytes after "
            f"the data for shape {shape})"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    return array.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
