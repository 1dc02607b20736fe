"""Convolution on the device, its three passes: csrc/cuda/conv2d.cuh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import _C
from ..._args import output_size
from ._common import DeviceArray, addr, backend, out


def _conv_shape(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Any:
    N, C, H, W = x_shape
    K, Cg, R, S = w_shape
    P = output_size(H, R, stride[0], dilation[0], padding[0], padding[1])
    Q = output_size(W, S, stride[1], dilation[1], padding[2], padding[3])
    shape = (N, C, H, W, K, R, S, P, Q, stride[0], stride[1], padding[0], padding[2])
    return _C.CudaConvShape((*shape, *dilation, groups, Cg, K // groups)), (N, K, P, Q)


def conv2d_forward(
    x: DeviceArray,
    w: DeviceArray,
    b: DeviceArray | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> DeviceArray:
    s, y_shape = _conv_shape(x.shape, w.shape, stride, padding, dilation, groups)
    y = out(y_shape, x)
    backend().conv2d_forward(x.dtype.name, s, x.ptr, w.ptr, addr(b), y.ptr)
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
    s, _ = _conv_shape(x_shape, w.shape, stride, padding, dilation, groups)
    dx = out(x_shape, dy)
    backend().conv2d_backward_input(dy.dtype.name, s, w.ptr, dy.ptr, dx.ptr)
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
    s, _ = _conv_shape(x.shape, w_shape, stride, padding, dilation, groups)
    dw = out(w_shape, x)
    backend().conv2d_backward_weight(x.dtype.name, s, x.ptr, dy.ptr, dw.ptr)
    return dw


__all__ = [
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv2d_forward",
]
