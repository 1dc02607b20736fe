"""Max, average and global-average pooling on the device: csrc/cuda/pool2d.cuh
(max pooling keeps one-byte argmax codes, as the host's
csrc/pool2d/pool2d_argmax.cpp)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import DeviceArray, backend, out


def _pooled_shape(
    x_shape: Sequence[int], kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool
) -> tuple[int, ...]:
    """y's shape, to allocate it: from the binding's own geometry (make_pool2d_shape, the
    one the launch builds), so y holds exactly what the kernel writes."""
    return tuple(backend().pool_output_shape(x_shape, kernel_size, stride, padding, ceil_mode))


def max_pool2d_forward_argmax(
    x: DeviceArray, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, relu: bool
) -> tuple[DeviceArray, DeviceArray]:
    geometry = (x.shape, kernel_size, stride, padding, ceil_mode)
    y_shape = _pooled_shape(*geometry)
    y, codes = out(y_shape, x), DeviceArray(y_shape, np.uint8)
    backend().max_pool(x.dtype.name, *geometry, x.ptr, relu, y.ptr, codes.ptr)
    return y, codes


def max_pool2d_forward(
    x: DeviceArray,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> DeviceArray:
    if return_indices:
        raise NotImplementedError(
            "max_pool2d: return_indices is not supported on cuda (use max_pool2d_argmax)"
        )
    geometry = (x.shape, kernel_size, stride, padding, ceil_mode)
    y = out(_pooled_shape(*geometry), x)
    backend().max_pool(x.dtype.name, *geometry, x.ptr, False, y.ptr, 0)
    return y


def max_pool2d_backward_argmax(
    argmax: DeviceArray,
    dy: DeviceArray,
    x_shape: Sequence[int],
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
) -> DeviceArray:
    dx = out(x_shape, dy)
    geometry = (x_shape, kernel_size, stride, padding, ceil_mode)
    backend().max_pool_backward(dy.dtype.name, *geometry, argmax.ptr, dy.ptr, dx.ptr)
    return dx


def max_pool2d_backward(
    x: DeviceArray, dy: DeviceArray, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool
) -> DeviceArray:
    _, codes = max_pool2d_forward_argmax(x, kernel_size, stride, padding, ceil_mode, False)
    return max_pool2d_backward_argmax(codes, dy, x.shape, kernel_size, stride, padding, ceil_mode)


def avg_pool2d_forward(
    x: DeviceArray,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
) -> DeviceArray:
    geometry = (x.shape, kernel_size, stride, padding, ceil_mode)
    y = out(_pooled_shape(*geometry), x)
    backend().avg_pool(x.dtype.name, *geometry, count_include_pad, x.ptr, y.ptr)
    return y


def avg_pool2d_backward(
    x: DeviceArray,
    dy: DeviceArray,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
) -> DeviceArray:
    dx = out(x.shape, dy)
    geometry = (x.shape, kernel_size, stride, padding, ceil_mode)
    backend().avg_pool_backward(dy.dtype.name, *geometry, count_include_pad, dy.ptr, dx.ptr)
    return dx


def global_avg_pool2d_forward(x: DeviceArray) -> DeviceArray:
    N, C, H, W = x.shape
    y = out((N, C, 1, 1), x)
    backend().channel_sum(x.dtype.name, 1, N * C, H * W, x.ptr, 1.0 / (H * W), y.ptr)
    return y


def global_avg_pool2d_backward(dy: DeviceArray, x_shape: Sequence[int]) -> DeviceArray:
    dx = out(x_shape, dy)
    backend().global_avg_pool_backward(
        dy.dtype.name, dx.size, x_shape[2] * x_shape[3], dy.ptr, dx.ptr
    )
    return dx


__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "global_avg_pool2d_backward",
    "global_avg_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_backward_argmax",
    "max_pool2d_forward",
    "max_pool2d_forward_argmax",
]
