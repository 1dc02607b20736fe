"""Reading the data sets' file formats safely, and downloading with a checksum."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import struct
import tempfile
import urllib.request
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from .._sizes import MAX_BYTES
from ..errors import FileFormatError, reading

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def open_maybe_gzip(path: Path) -> IO[bytes]:
    """Open a file, transparently un-gzipping it when it starts with the gzip magic."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    # (gzip.open owns its file: a GzipFile over an open file would leave that one open)
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format, optionally gzipped) as an array. A truncated,
    damaged or foreign file is a FileFormatError naming it."""
    with reading(path, "IDX file"), open_maybe_gzip(Path(path)) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise FileFormatError(path, f"not an IDX file (magic {data[:4]!r})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FileFormatError(path, f"IDX header cut short ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    # NumPy's rule, even for an empty array: the non-zero dimensions must fit.
    if math.prod(d for d in dims if d) * dtype.itemsize > MAX_BYTES:
        raise FileFormatError(path, f"IDX header says {dims}: more than an array can hold")
    count = math.prod(dims)
    if len(data) - header != count * dtype.itemsize:
        raise FileFormatError(
            path,
            f"IDX header says {dims} ({count * dtype.itemsize} bytes of data), "
            f"the file holds {len(data) - header}",
        )
    body = np.frombuffer(data, dtype=dtype, offset=header)
    return body.reshape(dims).astype(dtype.newbyteorder("="))


class _Refused(pickle.UnpicklingError):
    """A data pickle asked for something other than arrays."""


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays, tuples, lists, dicts, strings and bytes, and nothing
    else: data files must not be able to run code (the data sets ship as pickles)."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise _Refused(f"refusing to load {module}.{name} from a data file")
        if module.startswith("numpy") and module.endswith("multiarray"):
            from numpy._core import multiarray  # numpy >= 2; numpy.core is an alias

            return getattr(multiarray, name)
        return super().find_class(module, name)


def load_data_pickle(path: Path, what: str = "data pickle") -> Any:
    """A (possibly gzipped) pickle of arrays, loaded without allowing code. Truncated
    or damaged data is a FileFormatError naming the file; a pickle that asks for
    anything but arrays is refused (pickle.UnpicklingError, naming what it asked)."""
    try:
        with reading(path, what), open_maybe_gzip(Path(path)) as f:
            return _ArraysOnlyUnpickler(f, encoding="latin1").load()
    except FileFormatError as err:
        if isinstance(err.__cause__, _Refused):  # a pickle that would run code
            raise pickle.UnpicklingError(f"{path}: {err.__cause__}") from None
        raise
    except MemoryError as err:
        # pickle allocates the length an opcode claims before it reads (found by
        # fuzzing: a damaged length field asked for gigabytes)
        raise FileFormatError(
            path,
            f"not a readable {what}: it asks for more memory than can be allocated (a length "
            "in it is damaged, or the data is larger than this machine's memory)",
        ) from err


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, md5: str) -> Path:
    """Fetch `url` to `dest` (atomically: a temporary file renamed into place) and
    verify its MD5, the checksum the data sets publish. An existing file that
    matches is kept."""
    dest = Path(dest)
    if dest.exists() and file_digest(dest, "md5") == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        got = file_digest(Path(tmp), "md5")
        if got != md5:
            raise OSError(f"download of {url} has MD5 {got}, expected {md5}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def cache_dir() -> Path:
    """Where downloads go: $CNNFAST_DATA, else ~/.cache/cnnfast."""
    return Path(os.environ.get("CNNFAST_DATA", Path.home() / ".cache" / "cnnfast"))
