"""Binary cross-entropy with a logit: a sigmoid output and its loss, fused.

A two-class problem with one logit z per sample (Keras's Dense(1, 'sigmoid') under
'binary_crossentropy') is the softmax cross-entropy over the two logits (0, z):
softmax((0, z)) = (1 - sigmoid(z), sigmoid(z)). So the loss runs the same fused,
numerically stable log-softmax kernel as every other classifier here, on either device,
and its gradient is sigmoid(z) - t without forming sigmoid(z) and its logarithm apart.

Files:
  kernels    the cross-entropy's (csrc/softmax.cpp; CUDA csrc/cuda/softmax.cuh)
  reference  python/cnnfast/reference/binary_cross_entropy.py (the direct formula)
  tests      tests/test_binary_cross_entropy.py
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import as_float_array
from ..backend import for_arrays, is_device_array
from .device import zeros_like
from .layout import concat, split
from .softmax import REDUCTIONS, cross_entropy, cross_entropy_backward


def _args(op: str, logits: Any, target: Any, reduction: str) -> tuple[Any, Any]:
    """(the two-column logits (N, 2) = (0, z), the target as class indices or as the
    two columns' probabilities (1 - t, t))."""
    logits = as_float_array(op, "logits", logits)
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if logits.ndim == 1 and not is_device_array(logits):
        logits = logits.reshape(-1, 1)
    if logits.ndim != 2 or logits.shape[1] != 1:
        raise ValueError(
            f"{op}: logits must hold one logit per sample, (N, 1) or (N,); got {logits.shape}"
        )
    n = logits.shape[0]
    for_arrays(op, logits=logits, target=target)  # one device for both
    pair = concat([zeros_like(logits), logits], axis=1)
    if is_device_array(target):
        if target.dtype != np.int64 or target.shape not in ((n,), (n, 1)):
            raise TypeError(
                f"{op}: a target on cuda must be int64 labels 0/1 of shape ({n},), got "
                f"{target.dtype} {target.shape}"
            )
        return pair, target if target.ndim == 1 else target.reshape(n)
    t = np.asarray(target)
    if t.shape not in ((n,), (n, 1)):
        raise ValueError(
            f"{op}: target must be ({n},) or ({n}, 1) for logits {logits.shape}, got {t.shape}"
        )
    t = t.reshape(n)
    if t.dtype.kind in "iub":
        if t.size and (t.min() < 0 or t.max() > 1):
            bad = int(t[(t < 0) | (t > 1)][0])
            raise ValueError(f"{op}: target holds {bad}; binary labels are 0 or 1")
        return pair, np.ascontiguousarray(t, dtype=np.int64)
    if t.dtype.kind == "f":
        if t.size and not (np.isfinite(t).all() and t.min() >= 0 and t.max() <= 1):
            raise ValueError(f"{op}: target probabilities must lie in [0, 1]")
        p = t.astype(logits.dtype)
        return pair, np.ascontiguousarray(np.stack([1 - p, p], axis=1))
    raise TypeError(f"{op}: target must be 0/1 labels or probabilities, got dtype {t.dtype}")


def binary_cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Any:
    """-(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))) for logits z (N, 1) or (N,)
    and targets t (labels 0/1 or probabilities); 'mean' and 'sum' give a scalar."""
    pair, t = _args("binary_cross_entropy", logits, target, reduction)
    return cross_entropy(pair, t, reduction)


def binary_cross_entropy_backward(
    logits: Any, target: Any, reduction: str = "mean", dloss: Any = 1.0
) -> Any:
    """d(loss)/d(logits) = (sigmoid(z) - t) * dloss (/ N for 'mean'), shaped as logits."""
    shape = np.shape(logits) if not is_device_array(logits) else logits.shape
    pair, t = _args("binary_cross_entropy_backward", logits, target, reduction)
    grad = split(cross_entropy_backward(pair, t, reduction, dloss), [1, 1], axis=1)[1]
    return grad if len(shape) == 2 else np.ascontiguousarray(grad).reshape(shape)
