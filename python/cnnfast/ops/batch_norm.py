"""Batch normalization over axis 1 of x (N, C, ...): images (N,C,H,W) or features (N,C).

Files:
  kernels    csrc/batch_norm.cpp; CUDA csrc/cuda/batch_norm.cuh, csrc/cuda/reduce.cuh
  binding    csrc/bindings/batch_norm.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/batch_norm.py, python/cnnfast/backend/cuda/batch_norm.py
  reference  python/cnnfast/reference/batch_norm.py
  tests      tests/test_batch_norm.py, tests/test_backend.py (eval-mode backward),
             tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/ops_normalization.py (cnnfast bench ops: resnet-blocks'
             layers), python/cnnfast/bench/nets.py (resnet-blocks' training step)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import as_float_array, require_same_dtype, require_shape
from ..backend import for_arrays, is_device_array


def _x(op: str, x: Any) -> np.ndarray:
    x = as_float_array(op, "x", x)
    if x.ndim < 2:
        raise ValueError(f"{op}: x must be at least 2-D (N, C, ...), got shape {x.shape}")
    return x


def _per_channel(op: str, name: str, a: Any, x: np.ndarray) -> np.ndarray | None:
    if a is None:
        return None
    a = as_float_array(op, name, a)
    require_same_dtype(op, x=x, **{name: a})
    require_shape(op, name, a, (x.shape[1],), f"one per channel of x {x.shape}")
    return a


def _eps(op: str, eps: float) -> float:
    if not eps >= 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps!r}")
    return float(eps)


def batch_norm_train(
    x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise with batch statistics: returns (y, mean, invstd), invstd = 1/sqrt(var + eps).

    The statistics of an empty batch are undefined: mean and invstd are NaN then.
    """
    op = "batch_norm_train"
    x = _x(op, x)
    w, b = _per_channel(op, "weight", weight, x), _per_channel(op, "bias", bias, x)
    k = for_arrays(op, x=x, weight=w, bias=b)
    return tuple(k.batch_norm_train_forward(x, w, b, _eps(op, eps)))  # type: ignore[return-value]


def batch_norm_inference(
    x: Any, mean: Any, var: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> np.ndarray:
    """Normalise with given (running) statistics."""
    op = "batch_norm_inference"
    x = _x(op, x)
    mean, var = _per_channel(op, "mean", mean, x), _per_channel(op, "var", var, x)
    w, b = _per_channel(op, "weight", weight, x), _per_channel(op, "bias", bias, x)
    k = for_arrays(op, x=x, mean=mean, var=var, weight=w, bias=b)
    return k.batch_norm_inference_forward(x, mean, var, w, b, _eps(op, eps))


def batch_norm_backward(
    x: Any, dy: Any, mean: Any, invstd: Any, weight: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dweight, dbias) of batch_norm_train, from the mean and invstd it returned."""
    op = "batch_norm_backward"
    x = _x(op, x)
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, x=x, dy=dy)
    require_shape(op, "dy", dy, x.shape, "the shape of x")
    mean, invstd = _per_channel(op, "mean", mean, x), _per_channel(op, "invstd", invstd, x)
    w = _per_channel(op, "weight", weight, x)
    k = for_arrays(op, x=x, dy=dy, mean=mean, invstd=invstd, weight=w)
    return tuple(k.batch_norm_backward(x, dy, mean, invstd, w))  # type: ignore[return-value]


def batch_norm_inference_backward(
    x: Any, dy: Any, mean: Any, var: Any, weight: Any = None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dweight, dbias) of batch_norm_inference (the statistics are constants):
    dx = dy * weight / sqrt(var + eps), dweight = sum(dy * xhat), dbias = sum(dy),
    the sums over every axis but 1."""
    op = "batch_norm_inference_backward"
    x = _x(op, x)
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, x=x, dy=dy)
    require_shape(op, "dy", dy, x.shape, "the shape of x")
    mean, var = _per_channel(op, "mean", mean, x), _per_channel(op, "var", var, x)
    w = _per_channel(op, "weight", weight, x)
    k = for_arrays(op, x=x, dy=dy, mean=mean, var=var, weight=w)
    return tuple(k.batch_norm_inference_backward(x, dy, mean, var, w, _eps(op, eps)))  # type: ignore[return-value]


def batch_norm(
    x: Any,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> np.ndarray:
    """torch.nn.functional.batch_norm: in training, normalise with batch statistics and
    update running_mean / running_var in place (unbiased variance), like PyTorch."""
    op = "batch_norm"
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{op}: momentum must be in [0, 1], got {momentum!r}")
    x = _x(op, x)
    for name, r in (("running_mean", running_mean), ("running_var", running_var)):
        if r is not None and not (
            (isinstance(r, np.ndarray) or is_device_array(r)) and r.shape == (x.shape[1],)
        ):
            raise ValueError(
                f"{op}: {name} must be an ndarray (or a device array) of shape ({x.shape[1]},)"
            )
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: inference needs running_mean and running_var")
        return batch_norm_inference(x, running_mean, running_var, weight, bias, eps)
    y, mean, invstd = batch_norm_train(x, weight, bias, eps)
    update_running_stats(
        running_mean,
        running_var,
        mean,
        invstd,
        x.size // x.shape[1] if x.shape[1] else 0,
        momentum,
        eps,
    )
    return y


def update_running_stats(
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    mean: np.ndarray,
    invstd: np.ndarray,
    count: int,
    momentum: float,
    eps: float,
) -> None:
    """running = (1 - momentum) * running + momentum * batch, in place, with the unbiased
    batch variance (PyTorch's rule); an empty batch changes nothing."""
    if count <= 0:
        return
    k = for_arrays(
        "update_running_stats", running_mean=running_mean, running_var=running_var, mean=mean
    )
    k.batch_norm_running_stats(running_mean, running_var, mean, invstd, count, momentum, eps)
