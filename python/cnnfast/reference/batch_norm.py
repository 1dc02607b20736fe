"""Reference batch norm. The backward is the chain rule written out through
the variance and the mean (the textbook derivation), not the kernel's folded form."""

from __future__ import annotations

from typing import Any

import numpy as np


def _axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(i for i in range(x.ndim) if i != 1)


def _c(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A per-channel vector shaped to broadcast against x."""
    return np.asarray(v).reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_norm_train(
    x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.mean(axis=_axes(x)) if x.shape[0] else np.full(x.shape[1], np.nan, x.dtype)
        var = x.var(axis=_axes(x)) if x.shape[0] else np.full(x.shape[1], np.nan, x.dtype)
    invstd = 1 / np.sqrt(var + eps)
    y = (x - _c(mean, x)) * _c(invstd, x)
    if weight is not None:
        y = y * _c(weight, x)
    if bias is not None:
        y = y + _c(bias, x)
    return y.astype(x.dtype), mean.astype(x.dtype), invstd.astype(x.dtype)


def batch_norm_inference(
    x: Any, mean: Any, var: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> np.ndarray:
    x = np.asarray(x)
    y = (x - _c(mean, x)) / np.sqrt(_c(var, x) + eps)
    if weight is not None:
        y = y * _c(weight, x)
    if bias is not None:
        y = y + _c(bias, x)
    return y.astype(x.dtype)


def batch_norm_backward(
    x: Any, dy: Any, mean: Any, invstd: Any, weight: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, dy = np.asarray(x), np.asarray(dy)
    axes = _axes(x)
    m = x.size // x.shape[1] if x.shape[1] else 0
    mu, istd = _c(mean, x), _c(invstd, x)
    xc = x - mu
    xhat = xc * istd
    gamma = _c(weight, x) if weight is not None else 1.0
    dxhat = dy * gamma
    dvar = (dxhat * xc).sum(axis=axes, keepdims=True) * -0.5 * istd**3
    dmu = (-dxhat * istd).sum(axis=axes, keepdims=True) + dvar * (-2.0 * xc).mean(
        axis=axes, keepdims=True
    )
    dx = dxhat * istd + dvar * 2.0 * xc / m + dmu / m
    return dx.astype(x.dtype), (dy * xhat).sum(axis=axes), dy.sum(axis=axes)


def batch_norm_inference_backward(
    x: Any, dy: Any, mean: Any, var: Any, weight: Any = None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The statistics are constants: y = (x - mean) / sqrt(var + eps) * weight + bias
    is affine in x, so dx = dy * weight / sqrt(var + eps)."""
    x, dy = np.asarray(x), np.asarray(dy)
    axes = _axes(x)
    istd = 1.0 / np.sqrt(_c(var, x).astype(np.float64) + eps)
    gamma = _c(weight, x) if weight is not None else 1.0
    xhat = (x - _c(mean, x)) * istd
    dx = dy * gamma * istd
    return dx.astype(x.dtype), (dy * xhat).sum(axis=axes).astype(x.dtype), dy.sum(axis=axes)


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
    x = np.asarray(x)
    if not training:
        return batch_norm_inference(x, running_mean, running_var, weight, bias, eps)
    y, mean, _ = batch_norm_train(x, weight, bias, eps)
    m = x.size // x.shape[1] if x.shape[1] else 0
    if m > 0:
        var = x.var(axis=_axes(x), ddof=1) if m > 1 else np.zeros(x.shape[1])
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
        if running_var is not None:
            running_var[...] = (1 - momentum) * running_var + momentum * var
    return y
