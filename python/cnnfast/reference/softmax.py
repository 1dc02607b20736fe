"""Reference softmax family, computed the textbook way with a max shift."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._geometry import float_array


def softmax(x: Any, axis: int = -1) -> np.ndarray:
    x = float_array(x)
    with np.errstate(invalid="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    x = float_array(x)
    with np.errstate(invalid="ignore"):
        shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_backward(y: Any, dy: Any, axis: int = -1) -> np.ndarray:
    y, dy = np.asarray(y), np.asarray(dy)
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(y: Any, dy: Any, axis: int = -1) -> np.ndarray:
    y, dy = np.asarray(y), np.asarray(dy)
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


def _per_sample(logits: np.ndarray, t: np.ndarray) -> np.ndarray:
    logp = log_softmax(logits, axis=1)
    if t.dtype.kind in "iu":
        return -logp[np.arange(len(t)), t]
    return -np.where(t != 0, t * logp, 0).sum(axis=1)


def reduce_losses(losses: np.ndarray, reduction: str) -> Any:
    """Per-sample losses reduced: 'none' keeps them, 'sum', or 'mean' (NaN for none)."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.mean() if len(losses) else losses.dtype.type(np.nan)


def loss_scale(dloss: Any, reduction: str, n: int, dtype: Any) -> np.ndarray:
    """What each sample's loss gradient is multiplied by: dloss per sample (a column)
    for 'none', else dloss, divided by n for 'mean'."""
    if reduction == "none":
        return np.asarray(dloss, dtype=dtype).reshape(n, 1)
    return np.asarray(dloss, dtype=dtype) / (n if reduction == "mean" and n else 1)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Any:
    logits, t = float_array(logits), np.asarray(target)
    return reduce_losses(_per_sample(logits, t), reduction)


def cross_entropy_backward(
    logits: Any, target: Any, reduction: str = "mean", dloss: Any = 1.0
) -> np.ndarray:
    logits, t = float_array(logits), np.asarray(target)
    N, C = logits.shape
    p = softmax(logits, axis=1)
    if t.dtype.kind in "iu":
        grad = p - np.eye(C, dtype=logits.dtype)[t]
    else:
        grad = p * t.sum(axis=1, keepdims=True) - t
    return (grad * loss_scale(dloss, reduction, N, logits.dtype)).astype(logits.dtype)
