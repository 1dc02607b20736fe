"""Saving results atomically: a temporary file in the same directory, flushed and
fsynced, then renamed into place, so a crash never leaves a torn file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays from an .npz, never unpickling anything."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def save_json(path: str | Path, obj: Any) -> Path:
    return atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2).encode()))


def save_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def save_weights(model: Any, path: str | Path) -> Path:
    """The model's state_dict as .npz (parameters and buffers by dotted name)."""
    return save_npz(path, model.state_dict())


def load_weights(model: Any, path: str | Path) -> None:
    model.load_state_dict(load_npz(path))
