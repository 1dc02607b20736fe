"""h5py, imported when a Keras file is read or written (the `keras` extra), and the
pieces every Keras HDF5 layout shares: opening a file so that anything not HDF5 (or
damaged) is a FileFormatError naming it, writing a whole file in memory and renaming
it into place, and Keras's name lists split over attributes `NAME0`, `NAME1`, ...
once they pass HDF5's 64 KiB object-header limit."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FileFormatError
from ...training.files import atomic_write

SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What h5py (and the walk over a damaged file's groups) raises on bytes that are not
# what they claim: a damaged heap or B-tree is a RuntimeError, a dataset where a group
# should be an AttributeError or TypeError. (Found by flipping bytes of saved files.)
DAMAGE = (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError)
# Keras's HDF5_OBJECT_HEADER_LIMIT: an attribute larger than this does not fit.
HEADER_LIMIT = 64512


def h5py() -> Any:
    try:
        import h5py as module
    except ImportError as err:
        raise ImportError(
            "reading or writing Keras's HDF5 files needs h5py: pip install 'cnnfast[keras]'"
        ) from err
    return module


@contextmanager
def open_for_reading(path: str | Path, what: str) -> Iterator[Any]:
    """The file opened read-only; h5py's complaint about a file that is not whole
    HDF5 (truncated, damaged, something else) becomes a FileFormatError naming it."""
    path = Path(path)
    if path.stat().st_size == 0:  # (FileNotFoundError names a missing file)
        raise FileFormatError(path, f"empty file (0 bytes), not a {what}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head != SIGNATURE:
        raise FileFormatError(path, f"not a {what}: it starts with {head!r}, not HDF5's signature")
    lib = h5py()
    try:
        f = lib.File(path, "r")
    except DAMAGE as err:
        raise FileFormatError(path, f"not a readable {what}: {err}") from err
    try:
        yield f
    except FileFormatError:
        raise
    except DAMAGE as err:
        raise FileFormatError(path, f"not a readable {what}: {err}") from err
    finally:
        f.close()


def read_bytes(data: bytes, path: Path, what: str, read: Callable[[Any], Any]) -> Any:
    """read(h5py.File) on an HDF5 file held in memory (a .keras archive's member),
    with the same errors as open_for_reading."""
    if not data.startswith(SIGNATURE):
        raise FileFormatError(path, f"{what} is not HDF5 (it starts with {data[:8]!r})")
    lib = h5py()
    try:
        with lib.File(io.BytesIO(data), "r") as f:
            return read(f)
    except FileFormatError:
        raise
    except DAMAGE as err:
        raise FileFormatError(path, f"{what} is not readable: {err}") from err


def write_file(path: str | Path, fill: Callable[[Any], None]) -> Path:
    """An HDF5 file built in memory by fill(h5py.File), then written atomically: a
    failed save leaves the previous file (or none), never half of one."""
    lib = h5py()
    buffer = io.BytesIO()
    with lib.File(buffer, "w") as f:
        fill(f)
    data = buffer.getvalue()
    return atomic_write(path, lambda out: out.write(data))


def read_names(group: Any, name: str) -> list[str]:
    """A list of names Keras stored as attribute `name`, or split over `name0`, `name1`..."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.append(group.attrs[f"{name}{i}"])
            i += 1
    out = []
    for chunk in chunks:
        for n in np.atleast_1d(chunk):
            if isinstance(n, (bytes, np.bytes_)):
                out.append(n.decode("utf8"))
            elif isinstance(n, str):
                out.append(n)
            elif isinstance(n, (float, np.floating)):  # (Keras writes [] as a float array)
                continue
            else:
                raise ValueError(f"attribute {name!r} holds {type(n).__name__}, not names")
    return out


def write_names(group: Any, name: str, names: list[str]) -> None:
    """Keras's save_attributes_to_hdf5_group: one attribute, or as many chunks as it
    takes to keep each under the header limit."""
    if not names:
        group.attrs[name] = np.array([], dtype=np.float64)  # what Keras writes for none
        return
    data = np.array([n.encode("utf8") for n in names])
    longest = max(len(n.encode("utf8")) for n in names)
    if longest > HEADER_LIMIT:
        raise ValueError(f"a name longer than {HEADER_LIMIT} bytes cannot be stored: {names}")
    chunks = 1
    while True:
        parts = np.array_split(data, chunks)
        if all(p.nbytes <= HEADER_LIMIT for p in parts):
            break
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part
