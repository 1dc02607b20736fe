"""Inverted dropout on the device, the host's counter-based mask: csrc/cuda/elementwise.cuh."""

from __future__ import annotations

from ._common import DeviceArray, backend, out


def dropout_forward(x: DeviceArray, p: float, seed: int) -> DeviceArray:
    y = out(x.shape, x)
    backend().dropout(x.dtype.name, x.size, x.ptr, p, seed, y.ptr)
    return y


__all__ = [
    "dropout_forward",
]
