"""Convolution on the device, its three passes: csrc/cuda/conv2d.cuh. The binding
builds the geometry from the shapes (make_conv2d_shape, as on the CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._common import DeviceArray, addr, backend, out
from .activation import relu_forward


def _output_shape(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> tuple[int, ...]:
    """y's shape, to allocate it: from the binding's own geometry (make_conv2d_shape, the
    one the launch builds), so y holds exactly what the kernel writes."""
    geometry = (x_shape, w_shape, stride, padding, dilation, groups)
    return tuple(backend().conv2d_output_shape(*geometry))


def conv2d_forward(
    x: DeviceArray,
    w: DeviceArray,
    b: DeviceArray | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    relu: bool = False,
) -> DeviceArray:
    geometry = (x.shape, w.shape, stride, padding, dilation, groups)
    y = out(_output_shape(*geometry), x)
    backend().conv2d_forward(x.dtype.name, *geometry, x.ptr, w.ptr, addr(b), y.ptr)
    # The device kernels have no fused epilogue yet: ReLU as its own launch.
    return relu_forward(y) if relu else y


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
