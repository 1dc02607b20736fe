"""cnnfast: fast CPU kernels for convolution, pooling and GEMM, with NumPy twins.

import cnnfast as cf
y = cf.ops.conv2d(x, w, padding="same")      # C++ kernel
r = cf.reference.conv2d(x, w, padding="same")  # the plain-NumPy twin that checks it
"""

from __future__ import annotations

import numbers
from typing import Any

from . import _C, cuda, data, models, nn, ops, optim, random, reference, training
from .random import manual_seed
from .tensor import Tensor, no_grad, tensor

__version__: str = _C.__version__

__all__ = [
    "Tensor",
    "__version__",
    "data",
    "empty_memory_cache",
    "get_num_threads",
    "info",
    "manual_seed",
    "memory_stats",
    "models",
    "nn",
    "no_grad",
    "ops",
    "optim",
    "random",
    "reference",
    "reset_peak_memory",
    "set_memory_cache_limit",
    "set_num_threads",
    "tensor",
    "training",
]


def set_num_threads(n: int) -> None:
    """Set how many threads the kernels use (1 <= n <= 1024; affects every Python
    thread, from its next kernel call: a call already running keeps the count it
    started with). The threads are started once here, so a system that cannot run
    n of them raises RuntimeError and the count stays as it was."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"set_num_threads: n must be an int, got {n!r}")
    n = int(n)
    if not 1 <= n <= _C.max_threads():
        raise ValueError(f"set_num_threads: n must be >= 1 and at most {_C.max_threads()}, got {n}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """How many threads the kernels use (CNNFAST_NUM_THREADS, else OMP_NUM_THREADS,
    else the cores this process may run on, until set_num_threads)."""
    return int(_C.get_num_threads())


def memory_stats() -> dict[str, int]:
    """The cache that keeps freed kernel outputs (arrays of 64 KiB and more) for reuse,
    so a training loop does not pay page faults for fresh memory every step:
    cached_bytes (kept, free), in_use_bytes and peak_in_use_bytes (handed out and not
    yet freed by NumPy), hits, misses, limit_bytes."""
    return {k: int(v) for k, v in _C.memory_stats().items()}


def reset_peak_memory() -> None:
    """Restart memory_stats()["peak_in_use_bytes"] from the bytes in use now."""
    _C.reset_peak_memory()


def set_memory_cache_limit(nbytes: int) -> None:
    """Keep at most `nbytes` of freed output arrays for reuse (default 1 GiB; 0 turns
    the cache off). Lowering the limit frees the excess at once."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"set_memory_cache_limit: nbytes must be an int >= 0, got {nbytes!r}")
    _C.set_memory_cache_limit(nbytes)


def empty_memory_cache() -> None:
    """Return every kept block to the system."""
    _C.empty_memory_cache()


def _spin_description() -> str:
    us = int(_C.spin_microseconds())
    return "adaptive" if us < 0 else f"{us} us (CNNFAST_SPIN_US)"


def info() -> dict[str, Any]:
    """What this build and machine give: version, SIMD path, threads, CUDA."""
    sgemm, dgemm = _C.gemm_ukernel_names()
    return {
        "version": __version__,
        "isa": _C.get_isa(),
        "best_isa": _C.best_isa(),
        "supported_isas": list(_C.supported_isas()),
        "gemm_ukernels": {"float32": sgemm, "float64": dgemm},
        "threads": get_num_threads(),
        "threading": "thread pool" if _C.threads_enabled() else "single-threaded build",
        "spin_us": _spin_description(),
        "cuda_built": cuda.is_built(),
        "cuda_available": cuda.is_available(),
        "cuda_emulated": cuda.is_available() and cuda.is_emulated(),
        "cuda_devices": cuda.device_names(),
    }
