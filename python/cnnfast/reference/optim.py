"""Reference optimizer updates: the published rules in NumPy, in place."""

from __future__ import annotations

import numpy as np


def adam_update(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int,
) -> None:
    """Kingma & Ba (2015), Algorithm 1, step `step`: m = b1 m + (1-b1) g;
    v = b2 v + (1-b2) g^2; p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)."""
    g = g.astype(p.dtype, copy=False)
    if weight_decay:
        g = g + weight_decay * p
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    m_hat = m / (1 - beta1**step)
    v_hat = v / (1 - beta2**step)
    p -= (lr * m_hat / (np.sqrt(v_hat) + eps)).astype(p.dtype)
