"""Joining, splitting and spreading arrays (the autograd layer's concat and sum)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def concat(arrays: Sequence[np.ndarray], axis: int) -> np.ndarray:
    return np.concatenate(list(arrays), axis=axis)


def split(array: np.ndarray, sizes: Sequence[int], axis: int) -> list[np.ndarray]:
    cuts = np.cumsum(sizes)[:-1]
    return [np.ascontiguousarray(p) for p in np.split(array, cuts, axis=axis)]


def sum_backward(
    g: np.ndarray,
    shape: Sequence[int],
    axis: int | tuple[int, ...] | None,
    keepdims: bool,
    dtype: Any,
) -> np.ndarray:
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, tuple(shape)).astype(dtype, copy=True)


__all__ = ["concat", "split", "sum_backward"]
