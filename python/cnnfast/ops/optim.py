"""Optimizer updates in place on NumPy arrays: one fused pass over a parameter and its
state. Kernel: csrc/optim.cpp. Reference: cnnfast/reference/optim.py (same arithmetic,
same order: the two agree bit for bit)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _C
from .._args import as_float_array


def adam_update(
    p: np.ndarray,
    g: Any,
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
    """Adam step `step` (1 for the first), updating p, m and v in place. p, m and v must
    be writable C-contiguous arrays of one float dtype and one shape; g is cast to it."""
    op = "adam_update"
    for name, a in (("p", p), ("m", m), ("v", v)):
        if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{op}: {name} must be a float32 or float64 ndarray, got {type(a)}")
        if a.dtype != p.dtype or a.shape != p.shape:
            raise ValueError(
                f"{op}: {name} {a.dtype}{a.shape} must match p {p.dtype}{p.shape} "
                "(updated in place)"
            )
        if not (a.flags.c_contiguous and a.flags.writeable):
            raise ValueError(f"{op}: {name} must be writable and C-contiguous (updated in place)")
    g = as_float_array(op, "g", g).astype(p.dtype, copy=False)
    if g.shape != p.shape:
        raise ValueError(f"{op}: g {g.shape} must have p's shape {p.shape}")
    if int(step) < 1:
        raise ValueError(f"{op}: step must be >= 1, got {step}")
    _C.adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, int(step))
