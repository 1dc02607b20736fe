"""Batching, a train/validation split, and the lectures' ImageDataGenerator-style
augmentation (random shifts, horizontal flips), all seeded."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..random import numpy_rng


def train_val_split(
    x: np.ndarray, y: np.ndarray, val_fraction: float, rng: np.random.Generator | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out `val_fraction` of the samples (shuffled with rng; the last ones, like
    Keras's validation_split, when rng is None)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n_val = round(len(x) * val_fraction)
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    train, val = order[: len(x) - n_val], order[len(x) - n_val :]
    return (x[train], y[train]), (x[val], y[val])


def batch_indices(
    n: int, batch_size: int, shuffle: bool = True, rng: np.random.Generator | None = None
) -> Iterator[np.ndarray]:
    """The sample indices of each mini-batch of n samples (the last may be smaller), in
    a fresh random order when shuffling."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = (rng if rng is not None else numpy_rng()).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Mini-batches (the last one may be smaller), in a fresh random order when shuffling."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    for idx in batch_indices(len(x), batch_size, shuffle, rng):
        yield np.ascontiguousarray(x[idx]), y[idx]


def random_shift_flip(
    x: np.ndarray,
    rng: np.random.Generator,
    width_shift: float = 0.0,
    height_shift: float = 0.0,
    horizontal_flip: bool = False,
) -> np.ndarray:
    """Shift each image (N, C, H, W) by a random whole number of pixels, up to the given
    fraction of its width/height, filling with zeros; flip half of them left-right."""
    n, _, h, w = x.shape
    out = np.zeros_like(x)
    max_dy, max_dx = round(height_shift * h), round(width_shift * w)
    dys = rng.integers(-max_dy, max_dy + 1, n)
    dxs = rng.integers(-max_dx, max_dx + 1, n)
    flips = rng.random(n) < 0.5 if horizontal_flip else np.zeros(n, bool)
    for i in range(n):
        src = x[i, :, :, ::-1] if flips[i] else x[i]
        dy, dx = int(dys[i]), int(dxs[i])
        out[i, :, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = src[
            :, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
        ]
    return out
