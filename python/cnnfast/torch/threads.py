"""cnnfast's kernels on PyTorch's OpenMP threads.

PyTorch's CPU kernels run on an OpenMP runtime whose workers spin for milliseconds
after each op, waiting for the next. A cnnfast kernel called between two of them, on
cnnfast's own pool, shared the cores with those spinning threads. Sharing the runtime
(`cnnfast.share_openmp_runtime`, csrc/openmp_runtime.h) runs cnnfast's parallel jobs as
regions of PyTorch's runtime instead, on the same, already awake, threads.
"""

from __future__ import annotations

import os
import re

import torch

# GNU's, Intel's and LLVM's runtimes (all three export GNU's GOMP_parallel)
_RUNTIME = re.compile(r"^lib(gomp|iomp5|omp)([-.].*)?\.so(\..*)?$")


def torch_openmp_runtime() -> str | None:
    """The file of the OpenMP runtime PyTorch's kernels run on, where it is one and
    loaded (from the process's memory map; Linux), else None."""
    if "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[-1].strip() for line in f if ".so" in line}
    except OSError:
        return None
    runtimes = sorted(p for p in paths if _RUNTIME.match(os.path.basename(p)))
    torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
    ours = [p for p in runtimes if p.startswith(torch_lib + os.sep)]
    return (ours or runtimes or [None])[0]


def share_threads(enable: bool = True) -> str | None:
    """Run cnnfast's kernels on PyTorch's OpenMP threads (enable) or on cnnfast's own
    pool; returns the runtime's file while shared, else None. Where PyTorch has no
    OpenMP runtime to share (or this cnnfast build is single-threaded), cnnfast keeps
    its own pool."""
    import cnnfast

    return cnnfast.share_openmp_runtime(torch_openmp_runtime() if enable else None)
