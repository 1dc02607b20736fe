"""Batch normalization over axis 1: csrc/batch_norm.cpp; the running-statistics
update is composed here."""

from __future__ import annotations

import numpy as np

from ..._C import batch_norm_backward, batch_norm_inference_forward, batch_norm_train_forward


def batch_norm_inference_backward(
    x: np.ndarray,
    dy: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    weight: np.ndarray | None,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = (1.0 / np.sqrt(var + eps)).astype(x.dtype).reshape(shape)
    gw = dy * weight.reshape(shape) if weight is not None else dy
    axes = tuple(i for i in range(x.ndim) if i != 1)
    xhat = (x - mean.reshape(shape)) * scale
    return gw * scale, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)


def batch_norm_running_stats(
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    mean: np.ndarray,
    invstd: np.ndarray,
    count: int,
    momentum: float,
    eps: float,
) -> None:
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        var = 1.0 / invstd.astype(np.float64) ** 2 - eps
        running_var *= 1 - momentum
        running_var += momentum * var * count / max(count - 1, 1)


__all__ = [
    "batch_norm_backward",
    "batch_norm_inference_backward",
    "batch_norm_inference_forward",
    "batch_norm_running_stats",
    "batch_norm_train_forward",
]
