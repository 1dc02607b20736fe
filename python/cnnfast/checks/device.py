"""Where a check runs the kernels: the CPU or the CUDA backend (a GPU, or the host
emulator of CUDA's execution model). The reference always runs on the host in
float64; the inputs are the same values on either device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from .bounds import U64, unit


class On:
    """run(ops.f, *args, **kwargs) on one device: NumPy array arguments are copied
    there, and array results come back as NumPy arrays (tuples element by element)."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = ops.device_name(device, "checks")

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        args = tuple(self._put(a) for a in args)
        kwargs = {k: self._put(v) for k, v in kwargs.items()}
        return self._get(fn(*args, **kwargs))

    def _put(self, a: Any) -> Any:
        return ops.to_device(a, self.device) if isinstance(a, np.ndarray) else a

    def _get(self, r: Any) -> Any:
        if isinstance(r, tuple):
            return tuple(self._get(v) for v in r)
        return ops.to_device(r, "cpu") if ops.device_of(r) != "cpu" else r


def accumulation_unit(device: str, dtype: Any) -> float:
    """The unit roundoff of the row and channel sums in softmax, cross-entropy and
    batch norm: the CPU kernels accumulate them in double, the CUDA kernels in the
    dtype (a fixed tree per row or channel in shared memory)."""
    return U64 if ops.device_name(device, "checks") == "cpu" else unit(dtype)
