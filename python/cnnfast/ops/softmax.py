"""Softmax, log-softmax and cross-entropy with logits (numerically stable).

Files:
  kernels    csrc/softmax.cpp; CUDA csrc/cuda/softmax.cuh
  binding    csrc/bindings/softmax.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/softmax.py (the reduction over rows),
             python/cnnfast/backend/cuda/softmax.py
  reference  python/cnnfast/reference/softmax.py
  tests      tests/test_softmax.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/ops_normalization.py (cnnfast bench ops: cross-entropy
             at each net's output), python/cnnfast/bench/nets.py (each step's loss)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._args import as_float_array, require_ndim, require_same_dtype, require_shape
from ..backend import for_arrays, is_device_array

REDUCTIONS = ("mean", "sum", "none")


def _axis(op: str, x: np.ndarray, axis: int) -> int:
    if x.ndim == 0:
        raise ValueError(f"{op}: x must be at least 1-D, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for x with shape {x.shape}")
    return axis % x.ndim


def _along_last(op: str, fn: Callable[..., Any], axis: int, *arrays: np.ndarray) -> np.ndarray:
    """Apply the last-axis kernel fn along `axis` (moved to the end and back)."""
    last = arrays[0].ndim - 1
    if axis == last:
        return fn(*arrays)
    if is_device_array(arrays[0]):
        raise NotImplementedError(f"{op}: on cuda only along the last axis, got axis {axis}")
    moved = [np.ascontiguousarray(np.moveaxis(a, axis, -1)) for a in arrays]
    return np.moveaxis(fn(*moved), -1, axis)


def softmax(x: Any, axis: int = -1) -> np.ndarray:
    x = as_float_array("softmax", "x", x)
    return _along_last(
        "softmax", for_arrays("softmax", x=x).softmax_forward, _axis("softmax", x, axis), x
    )


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    x = as_float_array("log_softmax", "x", x)
    fn = for_arrays("log_softmax", x=x).log_softmax_forward
    return _along_last("log_softmax", fn, _axis("log_softmax", x, axis), x)


def _grad_args(op: str, y: Any, dy: Any, axis: int) -> tuple[np.ndarray, np.ndarray, int]:
    y = as_float_array(op, "y", y)
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, y=y, dy=dy)
    require_shape(op, "dy", dy, y.shape, "the shape of y")
    return y, dy, _axis(op, y, axis)


def softmax_backward(y: Any, dy: Any, axis: int = -1) -> np.ndarray:
    """From the forward output y = softmax(x): dx = y * (dy - sum(dy * y))."""
    y, dy, axis = _grad_args("softmax_backward", y, dy, axis)
    fn = for_arrays("softmax_backward", y=y, dy=dy).softmax_backward
    return _along_last("softmax_backward", fn, axis, y, dy)


def log_softmax_backward(y: Any, dy: Any, axis: int = -1) -> np.ndarray:
    """From the forward output y = log_softmax(x): dx = dy - exp(y) * sum(dy)."""
    y, dy, axis = _grad_args("log_softmax_backward", y, dy, axis)
    fn = for_arrays("log_softmax_backward", y=y, dy=dy).log_softmax_backward
    return _along_last("log_softmax_backward", fn, axis, y, dy)


def _ce_args(
    op: str, logits: Any, target: Any, reduction: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(logits, target, soft): target is class indices (N,) or probabilities (N, C)."""
    logits = as_float_array(op, "logits", logits)
    require_ndim(op, "logits", logits, 2, "(N, classes)")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    for_arrays(op, logits=logits, target=target)  # one device for both
    if is_device_array(target):
        return logits, target, _device_target(op, logits, target)
    t = np.asarray(target)
    N, C = logits.shape
    if t.dtype.kind in "iu":
        require_shape(op, "target", t, (N,), f"one class index per row of logits {logits.shape}")
        if t.size and (t.min() < 0 or t.max() >= C):
            bad = int(t[(t < 0) | (t >= C)][0])
            raise ValueError(
                f"{op}: target holds class {bad}, outside [0, {C}) for logits {logits.shape}"
            )
        return logits, np.ascontiguousarray(t, dtype=np.int64), False
    if t.dtype.kind == "f":
        t = as_float_array(op, "target", t)
        require_same_dtype(op, logits=logits, target=t)
        require_shape(op, "target", t, logits.shape, "probabilities, like logits")
        return logits, t, True
    raise TypeError(
        f"{op}: target must be integer class indices (N,) or float probabilities (N, C), "
        f"got dtype {t.dtype} with shape {t.shape}"
    )


def _device_target(op: str, logits: Any, t: Any) -> bool:
    """Whether a device target is probabilities (else int64 class indices). Labels
    are not range-checked here (that would read them back to the host every step):
    a label outside [0, C) gives a NaN loss."""
    N = logits.shape[0]
    if t.dtype == np.int64:
        require_shape(op, "target", t, (N,), f"one class index per row of logits {logits.shape}")
        return False
    if t.dtype.kind == "f":
        require_same_dtype(op, logits=logits, target=t)
        require_shape(op, "target", t, logits.shape, "probabilities, like logits")
        return True
    raise TypeError(
        f"{op}: a target on cuda must be int64 class indices or float probabilities, got {t.dtype}"
    )


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Any:
    """Cross-entropy of softmax(logits) against target; 'mean' and 'sum' give a scalar."""
    logits, t, soft = _ce_args("cross_entropy", logits, target, reduction)
    return for_arrays("cross_entropy", logits=logits).cross_entropy(logits, t, soft, reduction)


def cross_entropy_backward(
    logits: Any, target: Any, reduction: str = "mean", dloss: Any = 1.0
) -> np.ndarray:
    """d(loss)/d(logits), scaled by the upstream gradient dloss (a scalar, or (N,) for 'none')."""
    op = "cross_entropy_backward"
    logits, t, soft = _ce_args(op, logits, target, reduction)
    N = logits.shape[0]
    # (a host dloss goes with device logits: it is uploaded; a device one must match)
    k = for_arrays(op, logits=logits, dloss=dloss if is_device_array(dloss) else None)
    if is_device_array(dloss):
        require_shape(op, "dloss", dloss, (N,) if reduction == "none" else (), "the loss's shape")
    elif reduction == "none":
        dloss = as_float_array(op, "dloss", dloss).astype(logits.dtype, copy=False)
        require_shape(op, "dloss", dloss, (N,), "one per sample for reduction='none'")
        if is_device_array(logits):
            dloss = k.from_host(dloss)
    else:
        dloss = float(np.asarray(dloss))
    return k.cross_entropy_backward(logits, t, soft, reduction, dloss)
