"""Reference pooling: reductions over sliding windows of the padded input.

Max pooling pads with -inf (padding never wins); average pooling divides by the
window-sum of a mask of the cells that count (the padded input with
count_include_pad, the input alone without). ceil_mode's overhang pads with
cells that count for nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._geometry import Pool, float_array, pool, pool_window
from ._windows import pad_hw, window_slice, windows


def _overhang(a: Pool) -> tuple[int, int]:
    """Extra bottom/right cells ceil_mode's last windows reach past the padding."""
    H, W = a.x.shape[2:]
    t, b, l, r = a.padding
    need_h = (a.out_hw[0] - 1) * a.stride[0] + a.kernel[0]
    need_w = (a.out_hw[1] - 1) * a.stride[1] + a.kernel[1]
    return max(0, need_h - (H + t + b)), max(0, need_w - (W + l + r))


def _padded(a: Pool, arr: np.ndarray, value: float, overhang_value: float) -> np.ndarray:
    oh, ow = _overhang(a)
    t, b, l, r = a.padding
    inner = pad_hw(arr, (t, b, l, r), value)
    return pad_hw(inner, (0, oh, 0, ow), overhang_value)


def _windows(a: Pool, xp: np.ndarray) -> np.ndarray:
    return windows(xp, a.kernel, a.stride, (1, 1), a.out_hw)


def _window_argmax(a: Pool) -> np.ndarray:
    """Index (h - h0) * kw + (w - w0) in its window of each window's first maximum
    among the input's cells (a NaN wins; a padded cell never does, even against a
    -inf: np.argmax of the -inf-padded window would pick the padding then)."""
    win = _windows(a, _padded(a, a.x, -np.inf, -np.inf))
    inside = _windows(a, _padded(a, np.ones_like(a.x, dtype=bool), False, False))
    N, C, P, Q, kh, kw = win.shape
    win = win.reshape(N, C, P, Q, kh * kw)
    inside = np.broadcast_to(inside, (N, C, P, Q, kh, kw)).reshape(win.shape)
    best = win.max(axis=-1, keepdims=True)  # (a NaN among the cells makes it NaN)
    hit = inside & ((win == best) | (np.isnan(win) & np.isnan(best)))
    return np.argmax(hit, axis=-1)


def _argmax(a: Pool) -> np.ndarray:
    """Flat index h*W + w in its plane of each window's first maximum (a NaN wins)."""
    k = _window_argmax(a)
    P, Q = a.out_hw
    kw = a.kernel[1]
    h = np.arange(P).reshape(P, 1) * a.stride[0] - a.padding[0] + k // kw
    w = np.arange(Q).reshape(1, Q) * a.stride[1] - a.padding[2] + k % kw
    return (h * a.x.shape[3] + w).astype(np.int64)


def max_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    a = pool(x, kernel_size, stride, padding, ceil_mode)
    y = _windows(a, _padded(a, a.x, -np.inf, -np.inf)).max(axis=(4, 5))
    return (y, _argmax(a)) if return_indices else y


def max_pool2d_backward(
    x: Any,
    dy: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    a = pool(x, kernel_size, stride, padding, ceil_mode)
    dy = float_array(dy)
    N, C, H, W = a.x.shape
    P, Q = a.out_hw
    idx = _argmax(a).reshape(N * C, P * Q) + (np.arange(N * C) * H * W).reshape(-1, 1)
    dx = np.zeros(N * C * H * W, dtype=a.x.dtype)
    np.add.at(dx, idx.ravel(), dy.reshape(-1))
    return dx.reshape(a.x.shape)


NO_GRADIENT = 255


def max_pool2d_argmax(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    relu: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """ReLU first, literally, then the max and its window index; 255 where the max
    of the relu'd window is not from a positive input (ReLU's gradient is 0)."""
    a = pool(x, kernel_size, stride, padding, ceil_mode)
    if relu:
        a = Pool(np.where(a.x < 0, 0, a.x).astype(a.x.dtype), *a.kernel_args(), a.out_hw)
    y = max_pool2d(a.x, *a.kernel_args())
    code = _window_argmax(a).astype(np.uint8)
    if relu:
        code[~(y > 0) & ~np.isnan(y)] = NO_GRADIENT
    return y, code


def max_pool2d_backward_argmax(
    argmax: Any,
    dy: Any,
    x_shape: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Adds each dy to the cell its code names, by coordinates."""
    N, C, H, W = (int(n) for n in x_shape)
    kernel, stride_, pad, _, _ = pool_window((N, C, H, W), kernel_size, stride, padding, ceil_mode)
    code = np.asarray(argmax).astype(np.int64)
    dy = float_array(dy)
    n, c, oh, ow = np.nonzero(code != NO_GRADIENT)
    k = code[n, c, oh, ow]
    h = oh * stride_[0] - pad[0] + k // kernel[1]
    w = ow * stride_[1] - pad[2] + k % kernel[1]
    dx = np.zeros((N, C, H, W), dtype=dy.dtype)
    np.add.at(dx, (n, c, h, w), dy[n, c, oh, ow])
    return dx


def _divisor(a: Pool, count_include_pad: bool) -> np.ndarray:
    """(P, Q) count of the cells each window averages over."""
    H, W = a.x.shape[2:]
    ones = np.ones((1, 1, H, W), dtype=np.float64)
    counted = _padded(a, ones, 1.0 if count_include_pad else 0.0, 0.0)
    return _windows(a, counted).sum(axis=(4, 5))[0, 0]


def avg_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    a = pool(x, kernel_size, stride, padding, ceil_mode)
    sums = _windows(a, _padded(a, a.x, 0.0, 0.0)).sum(axis=(4, 5))
    return (sums / _divisor(a, count_include_pad)).astype(a.x.dtype)


def avg_pool2d_backward(
    x: Any,
    dy: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    a = pool(x, kernel_size, stride, padding, ceil_mode)
    share = float_array(dy) / _divisor(a, count_include_pad)
    dxp = np.zeros_like(_padded(a, a.x, 0.0, 0.0))
    P, Q = a.out_hw
    for i in range(a.kernel[0]):
        for j in range(a.kernel[1]):
            dxp[:, :, window_slice(i, a.stride[0], P), window_slice(j, a.stride[1], Q)] += share
    H, W = a.x.shape[2:]
    t, l = a.padding[0], a.padding[2]
    return np.ascontiguousarray(dxp[:, :, t : t + H, l : l + W]).astype(a.x.dtype)


def global_avg_pool2d(x: Any) -> np.ndarray:
    x = float_array(x)
    return x.mean(axis=(2, 3), keepdims=True)


def global_avg_pool2d_backward(x: Any, dy: Any) -> np.ndarray:
    x = float_array(x)
    dy = float_array(dy)
    return np.broadcast_to(dy / (x.shape[2] * x.shape[3]), x.shape).copy()
