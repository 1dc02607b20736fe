"""Reference dropout: the same counter-based mask (it is the definition of the
op's randomness, see csrc/dropout.h), computed with NumPy uint64 arithmetic."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def mask_at(index: np.ndarray, p: float, seed: int) -> np.ndarray:
    """The mask (float64: 0 or 1/(1-p)) at the given flat element indices (uint64)."""
    key = _mix64(np.array([seed], dtype=np.uint64) + _GOLDEN)[0]
    i = np.asarray(index, dtype=np.uint64) + np.uint64(1)
    u = (_mix64(key + i * _GOLDEN) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    return np.where(u >= p, scale, 0.0)


def dropout_mask(shape: Any, p: float = 0.5, seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    shape = (shape,) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    n = math.prod(shape)
    return mask_at(np.arange(n, dtype=np.uint64), p, seed).astype(dtype).reshape(shape)


def dropout(x: Any, p: float = 0.5, seed: int = 0, training: bool = True) -> np.ndarray:
    x = np.asarray(x)
    if not training:
        return x.copy()
    return x * dropout_mask(x.shape, p, seed, x.dtype)


def dropout_backward(dy: Any, p: float = 0.5, seed: int = 0, training: bool = True) -> np.ndarray:
    return dropout(dy, p, seed, training)
