"""Binary cross-entropy with a logit, from its formula: the twin of
cnnfast.ops.binary_cross_entropy (which runs the softmax cross-entropy over (0, z))."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._geometry import float_array
from .softmax import loss_scale, reduce_losses


def _per_sample(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    # -(t log s + (1 - t) log(1 - s)) with s = sigmoid(z), written so that no exp
    # overflows: max(z, 0) - t z + log(1 + exp(-|z|)).
    return np.maximum(z, 0) - t * z + np.log1p(np.exp(-np.abs(z)))


def binary_cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Any:
    z = float_array(logits).reshape(-1)
    t = np.asarray(target).reshape(-1).astype(z.dtype)
    return reduce_losses(_per_sample(z, t), reduction)


def binary_cross_entropy_backward(
    logits: Any, target: Any, reduction: str = "mean", dloss: Any = 1.0
) -> np.ndarray:
    z = float_array(logits)
    column = z.reshape(-1, 1)
    t = np.asarray(target).reshape(column.shape).astype(z.dtype)
    e = np.exp(-np.abs(column))  # (in (0, 1]: the sigmoid without overflow on either side)
    grad = np.where(column >= 0, 1 / (1 + e), e / (1 + e)) - t
    scale = loss_scale(dloss, reduction, len(column), z.dtype)
    return (grad * scale).astype(z.dtype).reshape(z.shape)
