"""The device seam: which backend runs a kernel, decided in one place.

`cnnfast.ops` validates its arguments, then asks `for_arrays(op, x=..., w=...)` for
the backend that holds them and calls the kernel function by its name there. Two
backends implement the same interface (`interface.Backend`, checked by
tests/test_backend.py): `backend.cpu` (the C++ kernels of `_C`, plus the few host
compositions: the cross-entropy reduction, running statistics, the SGD / RMSprop /
Adadelta steps, layout copies) and `backend.cuda` (the kernels of csrc/cuda/ on
DeviceArrays, loaded on first use). Nothing above `ops` asks where an array lives
except through `ops.device_of` / `ops.to_device`, and nothing outside this package
and `cnnfast.cuda` names `DeviceArray`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ..cuda.array import DeviceArray
from . import cpu

DEVICES = ("cpu", "cuda")


def is_device_array(value: Any) -> bool:
    """Whether `value` lives in device memory (a cnnfast.cuda.DeviceArray)."""
    return type(value) is DeviceArray


def device_of(value: Any) -> str:
    """'cuda' for a device array, 'cpu' for anything else."""
    return "cuda" if type(value) is DeviceArray else "cpu"


def get(device: str) -> ModuleType:
    """The backend module for 'cpu' or 'cuda'."""
    if device == "cpu":
        return cpu
    if device == "cuda":
        from . import cuda

        return cuda
    raise ValueError(f"device must be one of {DEVICES}, got {device!r}")


def for_arrays(op: str, **arrays: Any) -> ModuleType:
    """The backend that holds the arrays: cpu when all are on the host, cuda when all
    are on the device; arrays on both is a ValueError naming each one's device. None
    entries (optional arguments) are ignored."""
    where = {k: type(a) is DeviceArray for k, a in arrays.items() if a is not None}
    if not any(where.values()):
        return cpu
    if not all(where.values()):
        places = ", ".join(f"{k} on {'cuda' if d else 'cpu'}" for k, d in where.items())
        raise ValueError(
            f"{op}: inputs on different devices ({places}); move them to one with .to()"
        )
    return get("cuda")


def as_array(value: Any) -> Any:
    """A device array as it is; anything else through np.asarray."""
    return value if type(value) is DeviceArray else np.asarray(value)


__all__ = ["DEVICES", "as_array", "device_of", "for_arrays", "get", "is_device_array"]
