"""cnnfast's CUDA backend: device arrays, the kernels that run on them, and status.

`cnnfast.tensor(x, device="cuda")` puts data in device memory (a `DeviceArray`);
`cnnfast.ops` and the autograd layer dispatch on where their inputs live. Kernels:
csrc/cuda/*.cuh, the same source built by nvcc for a GPU and by the host compiler for
an emulator of CUDA's execution model (CNNFAST_CUDA_EMULATE=1 selects it; see
backend.py). The CUDA runtime is linked statically, so the module imports, and
reports no device, on machines without a driver or GPU.
"""

from __future__ import annotations

from typing import Any

from .array import DeviceArray, empty, full, zeros
from .backends import backend, is_emulated
from .dlpack import from_dlpack
from .status import device_count, device_names, is_built, versions


def is_available() -> bool:
    """Whether device='cuda' works here: a GPU with a device build, or the emulator
    selected by CNNFAST_CUDA_EMULATE=1."""
    try:
        backend()
    except RuntimeError:
        return False
    return True


def synchronize() -> None:
    """Wait for every kernel launched so far."""
    backend().synchronize()


def memory_stats() -> dict[str, Any]:
    """The caching device allocator's counters: bytes in use, cached and at peak,
    allocations that reached the runtime, and those served from the cache."""
    return dict(backend().memory_stats())


def empty_cache() -> None:
    """Return the allocator's cached (unused) blocks to the device."""
    backend().empty_cache()


__all__ = [
    "DeviceArray",
    "backend",
    "device_count",
    "device_names",
    "empty",
    "empty_cache",
    "from_dlpack",
    "full",
    "is_available",
    "is_built",
    "is_emulated",
    "memory_stats",
    "synchronize",
    "versions",
    "zeros",
]
