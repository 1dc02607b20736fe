"""DeviceArray: an n-d array in device memory, what a Tensor on device='cuda' holds.

Always C-contiguous; float32/float64 data, int64 class labels, uint8 argmax codes.
Memory comes from the backend's caching allocator (csrc/cuda/allocator.cpp) and
goes back to it when the last reference (views included) is dropped. It has the
few array methods the autograd layer uses (reshape, copy, +, scalar *, sum, item);
everything else is an op in cnnfast.ops, which dispatch on where their inputs live.
Moving data between host and device is explicit: `DeviceArray.from_numpy`,
`.numpy()` (and `Tensor.to`).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .._sizes import require_representable
from .backends import backend

DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int64, np.uint8))
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_NO_BYTES = np.dtype([])  # items of size 0: shape arithmetic without an allocation


class DeviceArray:
    """A C-contiguous array in device memory (see the module docstring)."""

    __slots__ = ("_buffer", "_offset", "dtype", "shape")
    device = "cuda"

    def __init__(self, shape: Any, dtype: Any, _buffer: Any = None, _offset: int = 0) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in DTYPES:
            raise TypeError(
                f"DeviceArray: dtype must be one of {[str(d) for d in DTYPES]}, got {self.dtype}"
            )
        if any(n < 0 for n in self.shape):
            raise ValueError(f"DeviceArray: negative dimension in shape {self.shape}")
        if _buffer is None:
            require_representable("DeviceArray", "shape", self.shape, self.dtype)
        self._buffer = backend().Buffer(self.nbytes) if _buffer is None else _buffer
        self._offset = _offset

    # --- properties -------------------------------------------------------------------
    @property
    def ptr(self) -> int:
        """The device address of element 0."""
        return int(self._buffer.ptr) + self._offset

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # (exact: np.prod in int64 wraps around silently)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d DeviceArray")
        return self.shape[0]

    def __repr__(self) -> str:
        values = np.array2string(self.numpy(), threshold=8)
        return f"DeviceArray({values}, dtype={self.dtype}, device='cuda')"

    # --- host <-> device ------------------------------------------------------------
    @classmethod
    def from_numpy(cls, array: Any, dtype: Any = None) -> DeviceArray:
        """A device copy of a host array (integers become int64, as labels)."""
        host = np.asarray(array, dtype=dtype)
        if host.dtype.kind in "iub" and host.dtype != np.uint8:
            host = host.astype(np.int64)
        host = host if host.flags.c_contiguous else host.copy(order="C")  # (keeps 0-d arrays 0-d)
        out = cls(host.shape, host.dtype)
        if out.nbytes:
            backend().copy_from_host(out.ptr, host.reshape(-1).view(np.uint8), out.nbytes)
        return out

    def numpy(self) -> np.ndarray:
        """A host copy (waits for the kernels that write this array)."""
        out = np.empty(self.shape, self.dtype)
        if self.nbytes:
            backend().copy_to_host(out.reshape(-1).view(np.uint8), self.ptr, self.nbytes)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        host = self.numpy()
        return host if dtype is None else host.astype(dtype)

    def __setitem__(self, index: Any, value: Any) -> None:
        """a[...] = host values (broadcast to the shape): an upload in place."""
        if index is not Ellipsis:
            raise NotImplementedError("DeviceArray supports only a[...] = values (a whole upload)")
        host = np.ascontiguousarray(np.broadcast_to(np.asarray(value, self.dtype), self.shape))
        if self.nbytes:
            backend().copy_from_host(self.ptr, host.reshape(-1).view(np.uint8), self.nbytes)

    def item(self) -> Any:
        if self.size != 1:
            raise ValueError(f"item(): the array has {self.size} elements, not 1")
        return self.numpy().item()

    # --- DLPack (cuda/dlpack.py) -----------------------------------------------------
    def __dlpack__(self, stream: Any = None, **kwargs: Any) -> Any:
        from . import dlpack

        return dlpack.export(self)

    def __dlpack_device__(self) -> tuple[int, int]:
        from . import dlpack

        return dlpack.device_type(), 0

    # --- shape ----------------------------------------------------------------------
    def reshape(self, *shape: Any) -> DeviceArray:
        """A view with a new shape (one dimension may be -1)."""
        new = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        # NumPy's reshape rules and errors, on a stand-in of zero-byte items (no memory)
        dims = np.empty(self.shape, dtype=_NO_BYTES).reshape(new).shape
        return DeviceArray(dims, self.dtype, self._buffer, self._offset)

    def copy(self) -> DeviceArray:
        out = DeviceArray(self.shape, self.dtype)
        if self.nbytes:
            backend().copy(out.ptr, self.ptr, self.nbytes)
        return out

    def astype(self, dtype: Any, copy: bool = True) -> DeviceArray:
        if np.dtype(dtype) == self.dtype:
            return self.copy() if copy else self
        # A cast is rare on the device (parameters are created in their dtype); via the host.
        return DeviceArray.from_numpy(self.numpy().astype(dtype))

    # --- arithmetic (what autograd needs: gradient sums, scalar scaling, full sums) ----
    def _axpby(self, alpha: float, other: DeviceArray | None, beta: float) -> DeviceArray:
        _require_float(self, "arithmetic")
        out = DeviceArray(self.shape, self.dtype)
        b, period = (0, 1) if other is None else (other.ptr, other.size)
        backend().axpby(
            self.dtype.name, self.size, float(alpha), self.ptr, float(beta), b, period, out.ptr
        )
        return out

    def _combine(self, other: DeviceArray, sign: float, op: str) -> DeviceArray:
        """self + sign * other, the smaller operand broadcast over the larger's leading axes."""
        if other.size > self.size:  # (the kernel repeats its second operand)
            _require_same(other, self, op)
            return other._axpby(sign, self, 1.0)
        _require_same(self, other, op)
        return self._axpby(1.0, other, sign)

    def __add__(self, other: Any) -> DeviceArray:
        if isinstance(other, DeviceArray):
            return self._combine(other, 1.0, "+")
        s = _scalar(other, "+")
        return self + full(self.shape, s, self.dtype) if s else self.copy()

    __radd__ = __add__

    def __neg__(self) -> DeviceArray:
        return self._axpby(-1.0, None, 0.0)

    def __sub__(self, other: Any) -> DeviceArray:
        if isinstance(other, DeviceArray):
            return self._combine(other, -1.0, "-")
        return self + (-_scalar(other, "-"))

    def __mul__(self, other: Any) -> DeviceArray:
        return self._axpby(_scalar(other, "*"), None, 0.0)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> DeviceArray:
        return self._axpby(1.0 / _scalar(other, "/"), None, 0.0)

    def sum(self, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> DeviceArray:
        """The sum over all axes, or over leading ones (axis 0..k-1: a broadcast operand's
        gradient); other reductions are ops."""
        _require_float(self, "sum")
        axes = (
            list(range(self.ndim))
            if axis is None
            else sorted(int(a) % max(self.ndim, 1) for a in np.atleast_1d(axis))
        )
        if axes != list(range(len(axes))):
            raise NotImplementedError(
                "DeviceArray.sum: on cuda only over all or leading axes, "
                f"got axis={axis} for shape {self.shape}"
            )
        k = len(axes)
        rows = int(np.prod(self.shape[:k], dtype=np.int64))
        rest = self.shape[k:]
        out = DeviceArray((1,) * k + rest if keepdims else rest, self.dtype)
        # column j sums x[n * m + j] over the rows n: channel_sum with C = m, L = 1
        m = int(np.prod(rest, dtype=np.int64))
        backend().channel_sum(self.dtype.name, rows, m, 1, self.ptr, 1.0, out.ptr)
        return out


def _scalar(value: Any, op: str) -> float:
    if isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return float(value)
    if isinstance(value, np.ndarray):
        raise ValueError(
            f"DeviceArray {op}: operands on different devices (cuda and cpu, shape {value.shape}); "
            "move the host one with .to('cuda')"
        )
    raise TypeError(
        f"DeviceArray {op}: the other operand must be a DeviceArray of the same shape or a "
        f"number, got {type(value).__name__}"
    )


def _trailing(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape without its leading 1s."""
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return shape[i:]


def _require_same(a: DeviceArray, b: DeviceArray, op: str) -> None:
    """One dtype, and b either of a's shape or broadcast over a's leading axes (b's
    shape, leading 1s aside, a suffix of a's): the cases the kernel covers."""
    tail = _trailing(b.shape)
    fits = len(b.shape) <= len(a.shape) and a.shape[len(a.shape) - len(tail) :] == tail
    if a.dtype != b.dtype or not fits:
        raise ValueError(
            f"DeviceArray {op}: operands must have one dtype, the second of the first's shape or "
            f"broadcast over its leading axes; got {a.dtype}{a.shape} and {b.dtype}{b.shape}"
        )


def _require_float(a: DeviceArray, what: str) -> None:
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"DeviceArray {what}: needs float32 or float64 data, got {a.dtype}")


def empty(shape: Any, dtype: Any = np.float32) -> DeviceArray:
    return DeviceArray(shape, dtype)


def full(shape: Any, value: float, dtype: Any = np.float32) -> DeviceArray:
    out = DeviceArray(shape, dtype)
    _require_float(out, "full")
    backend().fill(out.dtype.name, out.size, float(value), out.ptr)
    return out


def zeros(shape: Any, dtype: Any = np.float32) -> DeviceArray:
    return full(shape, 0.0, dtype)
