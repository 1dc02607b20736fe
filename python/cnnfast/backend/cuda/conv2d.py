"""Convolution on the device, its three passes: csrc/cuda/conv2d.cuh. The binding
builds the geometry from the shapes (make_conv2d_shape, as on the CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._args import output_size
from ._common import DeviceArray, addr, backend, out


def _output_shape(
    x_shape: Sequence[int], w_shape: Sequence[int], stride: Any, padding: Any, dilation: Any
) -> tuple[int, int, int, int]:
    """y's shape, to allocate it; the binding validates the geometry itself
    (make_conv2d_shape) and refuses a y of any other shape's worth of work."""
    N, _, H, W = x_shape
    K, _, R, S = w_shape
    P = output_size(H, R, stride[0], dilation[0], padding[0], padding[1])
    Q = output_size(W, S, stride[1], dilation[1], padding[2], padding[3])
    return N, K, P, Q


def conv2d_forward(
    x: DeviceArray,
    w: DeviceArray,
    b: DeviceArray | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> DeviceArray:
    y = out(_output_shape(x.shape, w.shape, stride, padding, dilation), x)
    geometry = (x.shape, w.shape, stride, padding, dilation, groups)
    backend().conv2d_forward(x.dtype.name, *geometry, x.ptr, w.ptr, addr(b), y.ptr)
    return y


def conv2d_backward_input(
    w: DeviceArray,
    dy: DeviceArray,
    x_shape: Sequence[int],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> DeviceArray:
    dx = out(x_shape, dy)
    geometry = (x_shape, w.shape, stride, padding, dilation, groups)
    backend().conv2d_backward_input(dy.dtype.name, *geometry, w.ptr, dy.ptr, dx.ptr)
    return dx


def conv2d_backward_weight(
    x: DeviceArray,
    dy: DeviceArray,
    w_shape: Sequence[int],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> DeviceArray:
    dw = out(w_shape, x)
    geometry = (x.shape, w_shape, stride, padding, dilation, groups)
    backend().conv2d_backward_weight(x.dtype.name, *geometry, x.ptr, dy.ptr, dw.ptr)
    return dw


__all__ = [
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv2d_forward",
]
