"""Device memory: DeviceArrays from the caching allocator (csrc/cuda/allocator.cpp)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...cuda import array as device
from ._common import DeviceArray


def zeros(shape: Sequence[int], dtype: Any) -> DeviceArray:
    return device.zeros(tuple(shape), dtype)


def full(shape: Sequence[int], value: float, dtype: Any) -> DeviceArray:
    return device.full(tuple(shape), value, dtype)


def from_host(array: Any) -> DeviceArray:
    return DeviceArray.from_numpy(array)


def to_host(array: DeviceArray) -> np.ndarray:
    return array.numpy()


__all__ = [
    "from_host",
    "full",
    "to_host",
    "zeros",
]
