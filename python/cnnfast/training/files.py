"""Saving results atomically, and reading them back only when they are whole.

A write goes to a temporary file in the same directory (`.NAME.PID.XXXXXXXX.tmp`),
is flushed and fsynced, then renamed into place: a crash never leaves a torn file,
and a failed write (a full disk, a file-size limit) is an OSError that names the
file and says the previous one is unchanged. A run killed in the middle of a write
leaves its temporary file behind; `remove_stale_temporaries` removes those whose
writer (the PID in the name) is no longer running.

A load checks the whole .npz archive (its zip structure and every member's CRC)
before returning anything, so a truncated, empty, damaged or foreign file is one
FileFormatError naming it (cnnfast.errors), and nothing is unpickled, ever.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import FileFormatError, reading

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]{8}\.tmp$")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _unlink_quietly(tmp)
        reason = err.strerror or str(err)
        if err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            reason += " (the disk or a file-size limit is full)"
        kept = f"the previous {path.name} is unchanged" if path.exists() else "nothing was written"
        raise OSError(err.errno, f"could not write {path}: {reason}; {kept}") from err
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return path


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_temporaries(directory: str | Path, names: Iterable[str]) -> list[Path]:
    """Removes the temporary files atomic_write left in `directory` for the files
    `names` when the process that wrote each (its PID is in the name) is gone, as
    after a kill in the middle of a write. Returns what was removed."""
    wanted = set(names)
    removed = []
    d = Path(directory)
    if not d.is_dir():
        return removed
    for entry in d.iterdir():
        m = _TEMPORARY.match(entry.name)
        if m and m.group("name") in wanted and not _pid_running(int(m.group("pid"))):
            _unlink_quietly(entry)
            removed.append(entry)
    return removed


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays from an .npz archive, checked whole first (zip structure, every
    member's CRC), never unpickling anything. A file that is not a whole .npz is a
    FileFormatError naming it and what is wrong."""
    path = Path(path)
    size = path.stat().st_size  # (FileNotFoundError names the file)
    if size == 0:
        raise FileFormatError(path, "empty file (0 bytes), not an .npz archive")
    with open(path, "rb") as f:
        head = f.read(4)
    if head != b"PK\x03\x04":
        raise FileFormatError(
            path, f"not an .npz archive (it starts with {head!r}, not a zip header)"
        )
    with reading(path, ".npz archive"):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                _check_member_kind(path, info)
            bad = z.testzip()
            if bad is not None:
                raise FileFormatError(
                    path, f"damaged .npz archive: member {bad!r} fails its CRC check"
                )
            for info in z.infolist():
                _check_npy_header(path, z, info)
    out: dict[str, np.ndarray] = {}
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            try:
                out[name] = z[name]
            except ValueError as err:
                if "pickled" in str(err) or "allow_pickle" in str(err):
                    raise FileFormatError(
                        path,
                        f"array {name!r} holds Python objects (pickled), which cnnfast never loads",
                    ) from err
                raise FileFormatError(path, f"array {name!r} is damaged: {err}") from err
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise FileFormatError(path, f"array {name!r} is damaged: {err}") from err
    return out


def _check_member_kind(path: Path, info: zipfile.ZipInfo) -> None:
    """NumPy writes members stored or deflated, unencrypted: anything else is not an
    .npz (zipfile would ask for a password, or not know the method). (Found by
    fuzzing: an encryption flag made zipfile raise RuntimeError.)"""
    if info.flag_bits & 0x1:
        raise FileFormatError(path, f"member {info.filename!r} is encrypted: not an .npz archive")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FileFormatError(
            path,
            f"member {info.filename!r} uses zip compression method {info.compress_type}, "
            "which no .npz writer uses",
        )


def _check_npy_header(path: Path, z: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """An .npy member's header must describe exactly the bytes that follow it: NumPy
    allocates the array its header claims before reading, so a header claiming
    terabytes would otherwise be a MemoryError (or a huge allocation) instead of an
    error about the file. Object arrays are refused later, by name."""
    if not info.filename.endswith(".npy"):
        return
    with z.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        held = info.file_size - member.tell()
    if dtype.hasobject:
        return
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != held:
        name = info.filename[: -len(".npy")]
        raise FileFormatError(
            path,
            f"array {name!r}: its header says {tuple(shape)} {dtype} ({claimed} bytes), "
            f"but the archive holds {held} bytes of it",
        )


def load_json(path: str | Path, what: str = "JSON file") -> Any:
    """A JSON file; damaged or truncated JSON is a FileFormatError naming the file."""
    path = Path(path)
    with reading(path, what):
        return json.loads(path.read_bytes().decode("utf-8"))


def save_json(path: str | Path, obj: Any) -> Path:
    return atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2).encode()))


def save_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def save_weights(model: Any, path: str | Path) -> Path:
    """The model's state_dict as .npz (parameters and buffers by dotted name)."""
    return save_npz(path, model.state_dict())


def load_weights(model: Any, path: str | Path) -> None:
    """Loads all of `path` into the model or, when the file does not fit it, none of
    it (an error names the file and the first array that does not fit)."""
    arrays = load_npz(path)
    try:
        model.load_state_dict(arrays)
    except (KeyError, ValueError) as err:
        raise type(err)(f"{path}: {err.args[0] if err.args else err}") from err
