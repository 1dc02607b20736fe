"""Softmax, log-softmax (last axis) and cross-entropy with logits: csrc/softmax.cpp.
The cross-entropy kernels give per-row losses and gradients; the reduction over
rows is composed here."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _C
from ..._C import log_softmax_backward, log_softmax_forward, softmax_backward, softmax_forward


def cross_entropy(logits: np.ndarray, target: np.ndarray, soft: bool, reduction: str) -> Any:
    losses = (_C.cross_entropy_soft_forward if soft else _C.cross_entropy_forward)(logits, target)
    if reduction == "none":
        return losses
    total = losses.sum(dtype=np.float64)  # (in float64: the mean of many float32 losses)
    if reduction == "mean":
        total = total / losses.shape[0] if losses.shape[0] else np.nan
    return logits.dtype.type(total)


def cross_entropy_backward(
    logits: np.ndarray, target: np.ndarray, soft: bool, reduction: str, dloss: Any
) -> np.ndarray:
    N = logits.shape[0]
    if reduction == "none":
        d = dloss
    else:
        scale = float(np.asarray(dloss)) / (N if reduction == "mean" and N else 1)
        d = np.full(N, scale, dtype=logits.dtype)
    fn = _C.cross_entropy_soft_backward if soft else _C.cross_entropy_backward
    return fn(logits, target, d)


__all__ = [
    "cross_entropy",
    "cross_entropy_backward",
    "log_softmax_backward",
    "log_softmax_forward",
    "softmax_backward",
    "softmax_forward",
]
