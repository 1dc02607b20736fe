"""Reading a Keras HDF5 file in a child process, so that the HDF5 library cannot hang
or crash the user's interpreter on a damaged file.

libhdf5 is C, and some damaged files make it loop for ever (a global heap pointer in
a variable-length string attribute, found by flipping bytes of a saved .h5) or, in
known CVEs, read out of bounds. The readers return plain data (configs, lists, NumPy
arrays), so they run in a fresh interpreter (`python -c`, which neither forks the
caller's threads nor re-runs its script as multiprocessing's spawn would); the parent
waits a time bounded by the file's size, kills a child that loops and reports one
that dies: either is a FileFormatError naming the file. The child's result comes back
pickled in a private temporary file: it is our own process's output, not the file's.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ...errors import FileFormatError

# A whole file is read at well over 20 MB/s here, after ~1 s of start-up; a child
# that needs more than this is stuck, not slow.
_BASE_SECONDS, _BYTES_PER_SECOND = 20.0, 20e6

_CHILD = """
import importlib, pathlib, pickle, sys
module, name, path, out = sys.argv[1:]
try:
    result = (True, getattr(importlib.import_module(module), name)(pathlib.Path(path)))
except BaseException as err:
    result = (False, err)
with open(out, 'wb') as f:
    pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
"""


def run(module: str, name: str, path: str | Path, what: str) -> Any:
    """module.name(path) in a child interpreter; its result, or its exception raised here."""
    path = Path(path)
    importlib.import_module(module)  # (an import error belongs to the caller, not the file)
    limit = _BASE_SECONDS + path.stat().st_size / _BYTES_PER_SECOND
    fd, out = tempfile.mkstemp(prefix="cnnfast-read-", suffix=".pickle")
    os.close(fd)
    try:
        try:
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, module, name, str(path), out],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise FileFormatError(
                path,
                f"reading it as a {what} did not finish in {limit:.0f} s: the HDF5 library "
                "loops on some damaged files, so the file is damaged",
            ) from err
        if child.returncode != 0 or os.path.getsize(out) == 0:
            tail = child.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise FileFormatError(
                path,
                f"the HDF5 library stopped (exit code {child.returncode}) reading it as a "
                f"{what}: the file is damaged {tail[0]}".rstrip(),
            )
        with open(out, "rb") as f:
            ok, value = pickle.load(f)  # (written by the child above, never by the file)
    finally:
        os.unlink(out)
    if not ok:
        raise value
    return value
