"""Batch normalization over axis 1: csrc/batch_norm.cpp (the training and inference
forwards and their backwards); the running-statistics update is composed here."""

from __future__ import annotations

import numpy as np

from ..._C import (
    batch_norm_backward,
    batch_norm_inference_backward,
    batch_norm_inference_forward,
    batch_norm_train_forward,
)


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
