"""DLPack for device arrays: `DeviceArray.__dlpack__` / `__dlpack_device__` export
without a copy, `from_dlpack` imports without one (PyTorch, CuPy, JAX, NumPy).

On a GPU the memory is CUDA memory (kDLCUDA). On the host emulator "device"
memory is host memory, so it is exported and accepted as kDLCPU: the same
zero-copy exchange, with NumPy or PyTorch's CPU tensors standing in for CUDA ones.
The C structures are in csrc/bindings/dlpack.cpp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _C
from .backends import backend, is_emulated

KDL_CPU, KDL_CUDA = 1, 2
_CODES = {"f": 2, "i": 0, "u": 1}  # kDLFloat, kDLInt, kDLUInt
_DTYPES = {(2, 32): np.float32, (2, 64): np.float64, (0, 64): np.int64, (1, 8): np.uint8}


def device_type() -> int:
    """What DeviceArray memory is, in DLPack's terms."""
    return KDL_CPU if is_emulated() else KDL_CUDA


def export(array: Any) -> Any:
    """A 'dltensor' capsule for a DeviceArray; the capsule keeps its memory alive."""
    backend().synchronize()  # the consumer may read at once, on another stream
    code = _CODES[array.dtype.kind]
    return _C.dlpack_export(
        array.ptr, list(array.shape), code, array.dtype.itemsize * 8, device_type(), 0, array
    )


class _Foreign:
    """Memory another library owns, as a DeviceArray buffer: its DLPack deleter runs
    when the last DeviceArray using it goes. While it lives, the backend knows the
    range as a live array (the kernel bindings accept only addresses inside one)."""

    __slots__ = ("keeper", "nbytes", "ptr", "registration")

    def __init__(self, ptr: int, nbytes: int, keeper: Any) -> None:
        self.ptr, self.nbytes, self.keeper = ptr, nbytes, keeper
        self.registration = backend().Borrowed(ptr, nbytes) if nbytes else None


def from_dlpack(obj: Any) -> Any:
    """A DeviceArray viewing `obj`'s memory (anything with __dlpack__: a torch or CuPy
    tensor on the GPU, or, on the emulator, a host array). No copy; C-contiguous
    float32/float64/int64/uint8 only."""
    from .array import DeviceArray

    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not support DLPack")
    kind, _ = obj.__dlpack_device__()
    if kind != device_type():
        where = (
            "the GPU" if device_type() == KDL_CUDA else "the host (the emulator's device memory)"
        )
        raise ValueError(
            f"from_dlpack: the array is on DLPack device type {kind}, not {where}; "
            "copy it with cnnfast.tensor(x, device='cuda')"
        )
    data, shape, strides, code, bits, lanes, _, _, keeper = _C.dlpack_import(obj.__dlpack__())
    dtype = _DTYPES.get((code, bits))
    if dtype is None or lanes != 1:
        raise TypeError(f"from_dlpack: unsupported dtype (code {code}, {bits} bits, {lanes} lanes)")
    shape = tuple(shape)
    if strides is not None and shape:
        expected = np.empty(shape, dtype=np.uint8).strides  # C order, in elements for itemsize 1
        if any(n > 1 and s != e for n, s, e in zip(shape, strides, expected)):
            raise ValueError(f"from_dlpack: only C-contiguous arrays, got strides {tuple(strides)}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return DeviceArray(shape, dtype, _Foreign(data, nbytes, keeper))
