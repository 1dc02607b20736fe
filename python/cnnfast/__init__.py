"""cnnfast: fast CPU kernels for convolution, pooling and GEMM, with NumPy twins.

import cnnfast as cf
y = cf.ops.conv2d(x, w, padding="same")      # C++ kernel
r = cf.reference.conv2d(x, w, padding="same")  # the plain-NumPy twin that checks it
"""

from __future__ import annotations

import importlib
import numbers
import os
import sys
import types
from typing import Any

# The NumPy twins load with the package: `import cnnfast.reference` needs no C
# extension (so the reference can check a build that does not load). Everything
# else loads on first use (PEP 562), the C extension with it.
from . import reference

_SUBMODULES = frozenset(
    {"_C", "backend", "bench", "checks", "cuda", "data", "distributed", "keras", "models", "nn",
     "onnx", "ops", "optim", "random", "torch", "training"}
)  # fmt: skip
_NAMES = {"Tensor": "tensor", "no_grad": "tensor", "manual_seed": "random"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    elif name == "__version__":
        value = _ext().__version__
    else:
        raise AttributeError(f"module 'cnnfast' has no attribute {name!r}")
    globals()[name] = value  # (looked up once)
    return value


class _Package(types.ModuleType):
    """The package's module type: `cnnfast.tensor` is the function that makes a
    tensor, though `cnnfast/tensor.py` is also a submodule, whose import sets the
    package attribute of its name (the setter below keeps the function; the module
    stays reachable as sys.modules["cnnfast.tensor"] and through from-imports)."""

    @property
    def tensor(self) -> Any:
        return importlib.import_module(".tensor", __name__).tensor

    @tensor.setter
    def tensor(self, _module: Any) -> None:
        pass


sys.modules[__name__].__class__ = _Package


def _load_the_package_before_fork() -> None:
    """Finishes loading the package in a process about to fork (os.fork, a 'fork'
    multiprocessing start). A thread importing a submodule here on first use (its
    first `cf.nn`, say) holds that module's import lock, and CPython does not reset
    module locks in a child: forked meanwhile, the child's own first `cf.nn` waited
    for a thread it does not have, forever. Importing everything first waits for any
    such import to end (the lock is released while we wait), and leaves none to
    happen after. Once per process; the C extension's singletons are built at load
    for the same reason (csrc/README.md, "Built at load")."""
    global _package_loaded
    if _package_loaded:
        return
    for name in sorted(_SUBMODULES):
        try:
            importlib.import_module(f".{name}", __name__)
        except Exception:  # (a build without its C extension, say: the user meets the
            pass  # error on first use; the fork goes on regardless)
    _package_loaded = True


_package_loaded = False
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_load_the_package_before_fork)


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_NAMES) | {"__version__", "tensor"})


def _ext() -> Any:
    """The C extension (cnnfast._C), loaded on first use."""
    return importlib.import_module("._C", __name__)


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
    if not 1 <= n <= _ext().max_threads():
        raise ValueError(
            f"set_num_threads: n must be >= 1 and at most {_ext().max_threads()}, got {n}"
        )
    _ext().set_num_threads(n)


def get_num_threads() -> int:
    """How many threads the kernels use (CNNFAST_NUM_THREADS, else OMP_NUM_THREADS,
    else the cores this process may run on, until set_num_threads)."""
    return int(_ext().get_num_threads())


def share_openmp_runtime(path: str | None) -> str | None:
    """Run the kernels' parallel work as regions of another library's OpenMP runtime,
    already loaded in this process (path: its shared library, whose GOMP_parallel is
    called), or with None on cnnfast's own pool. Returns the runtime now in use (None:
    the pool, also in a single-threaded build). cnnfast.torch.accelerate passes
    PyTorch's, so that the two libraries' threads do not compete for the cores
    (csrc/thread_pool.h). A fork()ed child is back on the pool."""
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"share_openmp_runtime: path must be a str or None, got {path!r}")
    _ext().share_openmp_runtime(os.fspath(path) if path is not None else "")
    return shared_openmp_runtime()


def shared_openmp_runtime() -> str | None:
    """The OpenMP runtime the kernels' parallel work runs on, or None: cnnfast's pool."""
    return _ext().shared_openmp_runtime() or None


def memory_stats() -> dict[str, int]:
    """The cache that keeps freed kernel outputs (arrays of 64 KiB and more) for reuse,
    so a training loop does not pay page faults for fresh memory every step:
    cached_bytes (kept, free), in_use_bytes and peak_in_use_bytes (handed out and not
    yet freed by NumPy), hits, misses, limit_bytes."""
    return {k: int(v) for k, v in _ext().memory_stats().items()}


def reset_peak_memory() -> None:
    """Restart memory_stats()["peak_in_use_bytes"] from the bytes in use now."""
    _ext().reset_peak_memory()


def set_memory_cache_limit(nbytes: int) -> None:
    """Keep at most `nbytes` of freed output arrays for reuse (default 1 GiB; 0 turns
    the cache off). Lowering the limit frees the excess at once."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"set_memory_cache_limit: nbytes must be an int >= 0, got {nbytes!r}")
    _ext().set_memory_cache_limit(nbytes)


def empty_memory_cache() -> None:
    """Return every kept block to the system."""
    _ext().empty_memory_cache()


def _spin_description() -> str:
    us = int(_ext().spin_microseconds())
    return "adaptive" if us < 0 else f"{us} us (CNNFAST_SPIN_US)"


def info() -> dict[str, Any]:
    """What this build and machine give: version, SIMD path, threads, CUDA."""
    from . import cuda

    sgemm, dgemm = _ext().gemm_ukernel_names()
    return {
        "version": _ext().__version__,
        "isa": _ext().get_isa(),
        "best_isa": _ext().best_isa(),
        "supported_isas": list(_ext().supported_isas()),
        "gemm_ukernels": {"float32": sgemm, "float64": dgemm},
        "threads": get_num_threads(),
        "threading": "thread pool" if _ext().threads_enabled() else "single-threaded build",
        "spin_us": _spin_description(),
        "openmp_runtime": shared_openmp_runtime(),
        "cuda_built": cuda.is_built(),
        "cuda_available": cuda.is_available(),
        "cuda_emulated": cuda.is_available() and cuda.is_emulated(),
        "cuda_devices": cuda.device_names(),
    }
