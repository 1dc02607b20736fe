"""Finite differences, for the float64 gradient checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """d/dx of sum(f(x) * dy) by central differences, element by element (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + h
        plus = float((f(x) * dy).sum())
        flat[i] = orig - h
        minus = float((f(x) * dy).sum())
        flat[i] = orig
        g[i] = (plus - minus) / (2 * h)
    return grad
