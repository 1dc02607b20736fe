"""Host memory: NumPy arrays are the cpu backend's arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def zeros(shape: Sequence[int], dtype: Any) -> np.ndarray:
    return np.zeros(tuple(shape), dtype)


def full(shape: Sequence[int], value: float, dtype: Any) -> np.ndarray:
    return np.full(tuple(shape), value, dtype)


def from_host(array: Any) -> np.ndarray:
    return np.array(array, copy=True)


def to_host(array: np.ndarray) -> np.ndarray:
    return array


__all__ = ["from_host", "full", "to_host", "zeros"]
