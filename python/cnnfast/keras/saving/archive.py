"""Keras 3's `.keras` archive: a zip of config.json (the model config and its
compile config), metadata.json (the Keras version, the date) and model.weights.h5
(Keras 3's weights layout). Read through zipfile, checked whole (every member's CRC)
before anything is parsed; the weights member is read by h5py from memory."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ... import __version__
from ...errors import FileFormatError, reading
from ...training.files import atomic_write
from . import hdf5, weights_h5
from .layout import LayerWeights

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# The Keras release whose archive layout this follows (what metadata.json says).
LAYOUT_VERSION = "3.15.1"


def is_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return CONFIG in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def read(path: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """(config.json, the weights by layer key) of a .keras archive."""
    with reading(path, ".keras archive"):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            missing = [m for m in (CONFIG, WEIGHTS) if m not in names]
            if missing:
                raise FileFormatError(
                    path, f"a zip without {', '.join(missing)}: not a .keras archive ({names[:5]})"
                )
            bad = z.testzip()
            if bad is not None:
                raise FileFormatError(path, f"damaged .keras archive: {bad!r} fails its CRC check")
            config = json.loads(z.read(CONFIG).decode("utf-8"))
            weights = z.read(WEIGHTS)
    if not isinstance(config, dict):
        raise FileFormatError(path, f"{CONFIG} holds {type(config).__name__}, not an object")
    read = lambda f: weights_h5.read_from(f, path)  # noqa: E731
    return config, hdf5.read_bytes(weights, path, f"{WEIGHTS} in the archive", read)


def write(
    path: str | Path, config: dict[str, Any], weights: list[LayerWeights], kinds: list[str]
) -> Path:
    lib = hdf5.h5py()
    buffer = io.BytesIO()
    with lib.File(buffer, "w") as f:
        weights_h5.write_into(f, weights, kinds, config["config"]["name"])
    metadata = {
        "keras_version": LAYOUT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "written_by": f"cnnfast {__version__}",
    }

    def fill(out: Any) -> None:
        with zipfile.ZipFile(out, "w") as z:
            z.writestr(METADATA, json.dumps(metadata))
            z.writestr(CONFIG, json.dumps(config))
            z.writestr(WEIGHTS, buffer.getvalue())

    return atomic_write(path, fill)
