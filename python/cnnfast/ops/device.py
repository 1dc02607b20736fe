"""Where arrays live, and moving them: the autograd layer and the optimizers ask here
instead of looking at array types (python/cnnfast/backend/ decides).

Files:
  kernels    NumPy copies on the host; CUDA csrc/cuda/allocator.cpp (the caching
             allocator) and the runtime's copies (csrc/cuda/emulated.cpp, csrc/cuda/device.cu)
  binding    CUDA csrc/bindings/cuda_backend.h (Buffer, copy_from_host, copy_to_host)
  backends   python/cnnfast/backend/cpu/memory.py, python/cnnfast/backend/cuda/memory.py
  reference  none (moving data computes nothing)
  tests      tests/test_backend.py, tests/test_cuda_training.py, tests/test_cuda_dlpack.py
  benchmark  python/cnnfast/bench/cuda.py (the device's own suite)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend


def device_of(array: Any) -> str:
    """'cuda' for an array in device memory, 'cpu' for anything else."""
    return backend.device_of(array)


def device_name(device: Any, op: str = "") -> str:
    """'cpu' or 'cuda' for a device name ('cuda:0' and 'gpu' mean 'cuda')."""
    name = str(device).lower()
    if name in ("cuda:0", "gpu"):
        name = "cuda"
    if name not in backend.DEVICES:
        where = f"{op}: " if op else ""
        raise ValueError(f"{where}device must be 'cpu' or 'cuda', got {device!r}")
    return name


def to_device(array: Any, device: str, copy: bool = False) -> Any:
    """`array` on `device` ('cpu' or 'cuda'): itself when it is there already (a copy
    with copy=True), else a copy there."""
    target, origin = device_name(device, "to_device"), backend.device_of(array)
    if target == origin:
        return array.copy() if copy else array
    if target == "cpu":
        return backend.get(origin).to_host(array)
    return backend.get(target).from_host(np.asarray(array))


def full(shape: Sequence[int], value: float, dtype: Any = np.float32, device: str = "cpu") -> Any:
    """A new array of `shape` filled with `value`, on `device`."""
    return backend.get(device_name(device, "full")).full(tuple(shape), value, dtype)


def zeros_like(array: Any) -> Any:
    """A C-contiguous array of zeros with the shape and dtype of `array`, on its device."""
    return backend.get(backend.device_of(array)).zeros(array.shape, array.dtype)
