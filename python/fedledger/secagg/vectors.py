"""The .npy encoding of masked vectors and aggregates (<u4, 1-D), strict in both directions."""

from __future__ import annotations

import ast
import io
import warnings
from functools import lru_cache

import numpy as np

from fedledger.errors import FedledgerError

__all__ = ["VectorFormatError", "decode_vector", "encode_vector", "npy_header"]

_MAGIC = b"\x93NUMPY\x01\x00"


class VectorFormatError(FedledgerError):
    """A vector blob is not a v1.0 .npy file of 1-D little-endian uint32."""


def encode_vector(vector: np.ndarray) -> bytes:
    """The exact blob bytes: numpy.save(allow_pickle=False) of a 1-D <u4 array."""
    if not isinstance(vector, np.ndarray) or vector.ndim != 1:
        raise VectorFormatError("vector must be a 1-D numpy array")
    if vector.dtype != np.dtype("<u4"):
        raise VectorFormatError(f"vector dtype must be <u4 (uint32), got {vector.dtype}")
    # numpy.save's bytes, built with one copy of the data (save would copy it twice).
    return b"".join((npy_header(vector.size), np.ascontiguousarray(vector).data))


def decode_vector(blob: bytes, *, length: int | None = None) -> np.ndarray:
    """Parse a blob written by encode_vector (read-only, zero-copy view); refuse anything else."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise VectorFormatError(f"vector blob must be bytes, got {type(blob).__name__}")
    blob = bytes(blob)
    if len(blob) >= 10 and blob[:8] == _MAGIC:
        # Fast path: a header equal to numpy's canonical one for the word count the size
        # implies passes every check below (the last of them is this comparison).
        start = 10 + int.from_bytes(blob[8:10], "little")
        count, rest = divmod(len(blob) - start, 4)
        if (
            rest == 0
            and count >= 0
            and (length is None or count == length)
            and blob[:start] == npy_header(count)
        ):
            return np.frombuffer(blob, dtype="<u4", count=count, offset=start)
    if len(blob) < 10 or blob[:8] != _MAGIC:
        raise VectorFormatError("not a version 1.0 .npy file (bad magic)")
    header_len = int.from_bytes(blob[8:10], "little")
    start = 10 + header_len
    if start > len(blob):
        raise VectorFormatError(f"header length {header_len} is inconsistent with the file")
    try:
        with warnings.catch_warnings():  # hostile headers make compile() warn (e.g. "\\d")
            warnings.simplefilter("ignore")
            header = ast.literal_eval(blob[10:start].decode("latin1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, TypeError, MemoryError, RecursionError):
        # TypeError: e.g. an unhashable dict key ({[]: 1}); the rest are literal_eval's limits
        raise VectorFormatError("header is not a Python literal dict") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise VectorFormatError(
            f"header must have exactly descr/fortran_order/shape, got {header!r}"
        )
    if header["descr"] != "<u4":
        raise VectorFormatError(f"dtype must be '<u4', got {header['descr']!r}")
    if header["fortran_order"] is not False:
        raise VectorFormatError("fortran_order must be False")
    shape = header["shape"]
    if not (isinstance(shape, tuple) and len(shape) == 1 and isinstance(shape[0], int)):
        raise VectorFormatError(f"shape must be 1-D, got {shape!r}")
    (count,) = shape
    if len(blob) - start != 4 * count:
        raise VectorFormatError(f"data is {len(blob) - start} bytes, header says {count} elements")
    if length is not None and count != length:
        raise VectorFormatError(f"expected {length} elements, got {count}")
    if npy_header(count) != blob[:start]:
        raise VectorFormatError("header is not in numpy's canonical form")
    return np.frombuffer(blob, dtype="<u4", count=count, offset=start)


@lru_cache(maxsize=64)
def npy_header(count: int) -> bytes:
    """The .npy v1.0 header of a 1-D <u4 vector of `count` elements (numpy.save's bytes)."""
    buf = io.BytesIO()
    header = {"descr": "<u4", "fortran_order": False, "shape": (count,)}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()
