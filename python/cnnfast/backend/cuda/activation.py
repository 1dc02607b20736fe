"""Per-channel bias, ReLU, tanh and sigmoid on the device: csrc/cuda/elementwise.cuh."""

from __future__ import annotations

from ... import _C
from ._common import DeviceArray, addr, backend, channels, out


def _activation(name: str, a: DeviceArray, b: DeviceArray | None = None) -> DeviceArray:
    y = out(a.shape, a)
    backend().activation(
        a.dtype.name, getattr(_C.CudaActivation, name), a.size, a.ptr, addr(b), y.ptr
    )
    return y


def relu_forward(x: DeviceArray) -> DeviceArray:
    return _activation("relu", x)


def relu_backward(x: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _activation("relu_backward", x, dy)


def tanh_forward(x: DeviceArray) -> DeviceArray:
    return _activation("tanh", x)


def tanh_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _activation("tanh_backward", y, dy)


def sigmoid_forward(x: DeviceArray) -> DeviceArray:
    return _activation("sigmoid", x)


def sigmoid_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _activation("sigmoid_backward", y, dy)


def bias_add(x: DeviceArray, b: DeviceArray) -> DeviceArray:
    _, C, L = channels(x)
    y = out(x.shape, x)
    backend().bias_add(x.dtype.name, x.size, C, L, x.ptr, b.ptr, y.ptr)
    return y


def bias_add_backward(dy: DeviceArray) -> DeviceArray:
    N, C, L = channels(dy)
    db = out((C,), dy)
    backend().channel_sum(dy.dtype.name, N, C, L, dy.ptr, 1.0, db.ptr)
    return db


__all__ = [
    "bias_add",
    "bias_add_backward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]
