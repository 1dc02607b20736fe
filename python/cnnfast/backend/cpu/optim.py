"""Optimizer steps in place: Adam is one fused kernel (csrc/optim.cpp); SGD, RMSprop
and Adadelta are their papers' rules in NumPy, in place on the state arrays (the same
arithmetic, in the same order, as csrc/cuda/optim.cuh)."""

from __future__ import annotations

import numpy as np

from ..._C import adam_update


def _decayed(g: np.ndarray, p: np.ndarray, weight_decay: float) -> np.ndarray:
    """g + weight_decay * p (L2 regularisation folded into the gradient)."""
    return g + weight_decay * p if weight_decay else g


def _running_mean_square(avg: np.ndarray, v: np.ndarray, rho: float) -> None:
    """avg = rho * avg + (1 - rho) * v^2, in place."""
    avg *= rho
    avg += (1 - rho) * v * v


def sgd_update(
    p: np.ndarray,
    g: np.ndarray,
    velocity: np.ndarray | None,
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
    first: bool,
) -> None:
    g = _decayed(g, p, weight_decay)
    if momentum and velocity is not None:
        if first:
            velocity[...] = g
        else:
            velocity *= momentum
            velocity += g
        g = g + momentum * velocity if nesterov else velocity
    p -= lr * g


def rmsprop_update(
    p: np.ndarray,
    g: np.ndarray,
    avg_sq_grad: np.ndarray,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    g = _decayed(g, p, weight_decay)
    _running_mean_square(avg_sq_grad, g, rho)
    p -= (lr * g / (np.sqrt(avg_sq_grad) + eps)).astype(p.dtype)


def adadelta_update(
    p: np.ndarray,
    g: np.ndarray,
    avg_sq_grad: np.ndarray,
    avg_sq_delta: np.ndarray,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    g = _decayed(g, p, weight_decay)
    _running_mean_square(avg_sq_grad, g, rho)
    delta = -np.sqrt(avg_sq_delta + eps) / np.sqrt(avg_sq_grad + eps) * g
    _running_mean_square(avg_sq_delta, delta, rho)
    p += (lr * delta).astype(p.dtype)


__all__ = ["adadelta_update", "adam_update", "rmsprop_update", "sgd_update"]
