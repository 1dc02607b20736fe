"""Reference LRN: windowed channel sums on a zero-padded channel axis; the
backward sums each window's contribution to the channels it covers."""

from __future__ import annotations

from typing import Any

import numpy as np


def _scale(x: np.ndarray, size: int, alpha: float, k: float) -> np.ndarray:
    C = x.shape[1]
    sq = np.pad(x.astype(np.float64) ** 2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    window_sums = sum(sq[:, o : o + C] for o in range(size))
    return k + alpha / size * window_sums


def local_response_norm(
    x: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> np.ndarray:
    x = np.asarray(x)
    return (x * _scale(x, size, alpha, k) ** -beta).astype(x.dtype)


def local_response_norm_backward(
    x: Any, dy: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> np.ndarray:
    x, dy = np.asarray(x), np.asarray(dy)
    C = x.shape[1]
    s = _scale(x, size, alpha, k)
    dx = dy * s**-beta
    # Output j's window covers channels j + o, o in [-size//2, (size-1)//2]:
    # d y_j / d x_{j+o} = x_j * (-beta) * s_j^(-beta-1) * (alpha/size) * 2 x_{j+o}.
    g = dy * x * (-beta) * s ** (-beta - 1) * (2 * alpha / size)
    for o in range(-(size // 2), (size - 1) // 2 + 1):
        j0, j1 = max(0, -o), min(C, C - o)  # j with 0 <= j+o < C
        if j0 >= j1:
            continue
        dx[:, j0 + o : j1 + o] += g[:, j0:j1] * x[:, j0 + o : j1 + o]
    return dx.astype(x.dtype)
