"""Softmax, log-softmax (last axis) and cross-entropy with logits on the device:
csrc/cuda/softmax.cuh; the reduction over rows is a channel sum (csrc/cuda/reduce.cuh)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...cuda.array import full
from ._common import DeviceArray, backend, out

REDUCTION_CODES = {"mean": 0, "sum": 1, "none": 2}


def _rows(x: DeviceArray) -> tuple[int, int]:
    L = x.shape[-1] if x.ndim else 1
    return (x.size // L if L else 0), L


def _softmax(x: DeviceArray, log: bool) -> DeviceArray:
    y = out(x.shape, x)
    backend().softmax(x.dtype.name, *_rows(x), log, x.ptr, y.ptr)
    return y


def _softmax_backward(y: DeviceArray, dy: DeviceArray, log: bool) -> DeviceArray:
    dx = out(y.shape, y)
    backend().softmax_backward(y.dtype.name, *_rows(y), log, y.ptr, dy.ptr, dx.ptr)
    return dx


def softmax_forward(x: DeviceArray) -> DeviceArray:
    return _softmax(x, log=False)


def log_softmax_forward(x: DeviceArray) -> DeviceArray:
    return _softmax(x, log=True)


def softmax_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _softmax_backward(y, dy, log=False)


def log_softmax_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _softmax_backward(y, dy, log=True)


def _targets(target: DeviceArray, soft: bool) -> tuple[int, int]:
    return (0, target.ptr) if soft else (target.ptr, 0)


def cross_entropy(
    logits: DeviceArray, target: DeviceArray, soft: bool, reduction: str
) -> DeviceArray:
    N, C = logits.shape
    losses = out((N,), logits)
    backend().cross_entropy(
        logits.dtype.name, N, C, logits.ptr, *_targets(target, soft), losses.ptr
    )
    if reduction == "none":
        return losses
    if N == 0:  # the mean of nothing, as on the host
        return full((), np.nan if reduction == "mean" else 0.0, logits.dtype)
    total = out((), logits)
    scale = 1.0 / N if reduction == "mean" else 1.0
    backend().channel_sum(logits.dtype.name, 1, 1, N, losses.ptr, scale, total.ptr)
    return total


def cross_entropy_backward(
    logits: DeviceArray, target: DeviceArray, soft: bool, reduction: str, dloss: Any
) -> DeviceArray:
    N, C = logits.shape
    if not isinstance(dloss, DeviceArray):  # a number ('mean', 'sum'), not a step's gradient
        dloss = full((), float(dloss), logits.dtype)
    grad = out((N, C), logits)
    backend().cross_entropy_backward(
        logits.dtype.name,
        N,
        C,
        REDUCTION_CODES[reduction],
        logits.ptr,
        *_targets(target, soft),
        dloss.ptr,
        grad.ptr,
    )
    return grad


__all__ = [
    "cross_entropy",
    "cross_entropy_backward",
    "log_softmax_backward",
    "log_softmax_forward",
    "softmax_backward",
    "softmax_forward",
]
