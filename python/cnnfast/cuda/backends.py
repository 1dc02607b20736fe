"""Which build of the CUDA backend runs `device="cuda"` work.

The device build (`_C.cuda_device`, a GPU) when there is one; the host emulator's
(`_C.cuda_emulated`: the same kernel source run on the CPU, CUDA's execution model
emulated) when CNNFAST_CUDA_EMULATE=1 is set, which is how CI runs the whole device
path without a GPU. Both modules have the same functions (csrc/bindings/cuda_backend.h).
"""

from __future__ import annotations

import os
from types import ModuleType

from .. import _C
from . import status

_chosen: ModuleType | None = None


def emulate_requested() -> bool:
    return os.environ.get("CNNFAST_CUDA_EMULATE", "") not in ("", "0")


def backend() -> ModuleType:
    """The backend module; a RuntimeError that says why when there is none."""
    global _chosen
    if _chosen is None:
        if emulate_requested():
            _chosen = _C.cuda_emulated
        elif status.is_built() and status.device_count() > 0:
            _chosen = _C.cuda_device
        else:
            why = "this build has no CUDA backend (nvcc was not found at build time)"
            if status.is_built():
                why = "the CUDA runtime reports no usable GPU"
            raise RuntimeError(
                f"device='cuda' is unavailable: {why}. Set CNNFAST_CUDA_EMULATE=1 to run the "
                "CUDA kernels on the host emulator instead (slow; for testing)."
            )
    return _chosen


def is_emulated() -> bool:
    """Whether device='cuda' runs on the host emulator."""
    return emulate_requested() or (_chosen is _C.cuda_emulated)
