"""Local response normalization on the device: csrc/cuda/lrn.cuh."""

from __future__ import annotations

from ._common import DeviceArray, backend, out


def lrn_forward(x: DeviceArray, size: int, alpha: float, beta: float, k: float) -> DeviceArray:
    N, C, H, W = x.shape
    y = out(x.shape, x)
    backend().lrn(x.dtype.name, N, C, H * W, size, alpha, beta, k, x.ptr, y.ptr)
    return y


def lrn_backward(
    x: DeviceArray, dy: DeviceArray, size: int, alpha: float, beta: float, k: float
) -> DeviceArray:
    N, C, H, W = x.shape
    dx = out(x.shape, x)
    backend().lrn_backward(x.dtype.name, N, C, H * W, size, alpha, beta, k, x.ptr, dy.ptr, dx.ptr)
    return dx


__all__ = [
    "lrn_backward",
    "lrn_forward",
]
