"""What the CUDA backend's family files share: output allocation, device addresses,
the (N, C, L) view of channel-first arrays. The launchers they call are the backend
module's (csrc/bindings/cuda_backend.h -> csrc/cuda/backend.cuh), one build for a GPU
(nvcc) and one for the host emulator (cnnfast.cuda.backends chooses)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...cuda.array import DeviceArray
from ...cuda.backends import backend

__all__ = ["DeviceArray", "addr", "backend", "channels", "out"]


def out(shape: Any, like: DeviceArray) -> DeviceArray:
    """A new device array of `shape` with the dtype of `like`."""
    return DeviceArray(shape, like.dtype)


def addr(a: DeviceArray | None) -> int:
    """The device address of an optional array (0 for None)."""
    return 0 if a is None else a.ptr


def channels(x: DeviceArray) -> tuple[int, int, int]:
    """(N, C, L) of an (N, C, ...) array."""
    N, C = x.shape[:2]
    return N, C, int(np.prod(x.shape[2:], dtype=np.int64))
