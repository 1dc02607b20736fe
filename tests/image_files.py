"""Small image folders written by the tests (lossless PNGs, so pixels can be compared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def make_folder(root: Path, rng: np.random.Generator, per_class: int = 3, hw=(6, 8)) -> dict:
    """Two classes of lossless PNGs; returns {relative path: pixels}."""
    written = {}
    for name in ("dogs", "cats"):
        for i in range(per_class):
            a = rng.integers(0, 256, (*hw, 3), dtype=np.uint8)
            rel = f"{name}/{i:03d}.png"
            write_image(root / rel, a)
            written[rel] = a
    return written
