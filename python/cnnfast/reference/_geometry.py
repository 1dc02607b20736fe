"""The reference's own reading of the window arguments: strides, paddings (an int,
a pair, a 4-tuple, 'valid' or TensorFlow's 'same'), dilations, pooling's ceil_mode,
and the output sizes they give, written from the definitions and sharing nothing with
`cnnfast._args` (which the kernels' side uses), so a padding or output-size mistake
there shows up as a disagreement instead of being computed the same on both sides.

It assumes valid arguments (the ops check them, with messages) and asserts only
what it needs to compute at all. NumPy only: no C extension.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(value: Any) -> np.ndarray:
    """`value` as a float32/float64 array (what the twins compute on)."""
    a = np.asarray(value)
    if a.dtype not in FLOATS:
        raise TypeError(f"reference: float32 or float64 arrays only, got {a.dtype}")
    return a


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        assert len(v) == 2, v
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _same(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME on one axis: the output is ceil(size / stride) long; the
    padding that needs is split with the odd cell at the end."""
    out = math.ceil(size / stride)
    total = max(0, (out - 1) * stride + dilation * (k - 1) + 1 - size)
    return total // 2, total - total // 2


def _padding(
    padding: Any,
    hw: tuple[int, int],
    k: tuple[int, int],
    stride: tuple[int, int],
    dil: tuple[int, int],
) -> tuple[int, int, int, int]:
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return (0, 0, 0, 0)
        assert padding.lower() == "same", padding
        return (*_same(hw[0], k[0], stride[0], dil[0]), *_same(hw[1], k[1], stride[1], dil[1]))
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        t, b, l, r = (int(p) for p in padding)
        return (t, b, l, r)
    ph, pw = _pair(padding)
    return (ph, ph, pw, pw)


def _out(
    size: int, pad: int, k: int, stride: int, dilation: int, ceil_mode: bool, before: int
) -> int:
    """Windows along one axis: floor((size + pad - extent) / stride) + 1, or ceil with
    ceil_mode, where (PyTorch's rule) the last window must start inside the input or
    its leading padding."""
    span = size + pad - (dilation * (k - 1) + 1)
    n = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (n - 1) * stride >= size + before:
        n -= 1
    return max(n, 0)


class Conv(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int
    out_hw: tuple[int, int]


def conv(x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: Any) -> Conv:
    x, w = float_array(x), float_array(w)
    assert x.ndim == 4 and w.ndim == 4, (x.shape, w.shape)
    s, d = _pair(stride), _pair(dilation)
    k = (w.shape[2], w.shape[3])
    H, W = x.shape[2], x.shape[3]
    t, b, l, r = _padding(padding, (H, W), k, s, d)
    out = (_out(H, t + b, k[0], s[0], d[0], False, t), _out(W, l + r, k[1], s[1], d[1], False, l))
    return Conv(x, w, s, (t, b, l, r), d, int(groups), out)


class Pool(NamedTuple):
    x: np.ndarray
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    ceil_mode: bool
    out_hw: tuple[int, int]

    def kernel_args(self) -> tuple[Any, ...]:
        return (self.kernel, self.stride, self.padding, self.ceil_mode)


def pool_window(
    x_shape: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int], bool, tuple[int, int]]:
    """(kernel, stride, padding, ceil_mode, out_hw) of pooling an x of x_shape; the
    stride defaults to the kernel."""
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    H, W = int(x_shape[2]), int(x_shape[3])
    t, b, l, r = _padding(padding, (H, W), k, s, (1, 1))
    ceil = bool(ceil_mode)
    out = (_out(H, t + b, k[0], s[0], 1, ceil, t), _out(W, l + r, k[1], s[1], 1, ceil, l))
    return k, s, (t, b, l, r), ceil, out


def pool(x: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool) -> Pool:
    x = float_array(x)
    assert x.ndim == 4, x.shape
    return Pool(x, *pool_window(x.shape, kernel_size, stride, padding, ceil_mode))
