"""Local response normalisation, forward and backward, against the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .bounds import rounding_bound
from .compare import Result, compare
from .device import On
from .inputs import f64, normal


def check_lrn(
    rng: np.random.Generator,
    dtype: Any,
    shape: tuple[int, ...],
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    case = f"{np.dtype(dtype)} {shape} size={size} alpha={alpha} beta={beta} k={k}"
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    dy = normal(rng, shape, dtype)
    x64, dy64 = f64(x, dy)
    ry = reference.local_response_norm(x64, size, alpha, beta, k)
    out = [
        compare(
            "local_response_norm",
            case,
            run(ops.local_response_norm, x, size, alpha, beta, k),
            ry,
            rounding_bound(8, dtype, ry),
        )
    ]
    rdx = reference.local_response_norm_backward(x64, dy64, size, alpha, beta, k)
    # |dx| <= |dy| s^-beta + 2*alpha*beta/size * |x| * sum_j |dy_j x_j| s_j^(-beta-1), s >= k.
    total = (np.abs(dy64 * x64)).sum(axis=1, keepdims=True) * k ** (-beta - 1)
    mag = np.abs(dy64) * k**-beta + 2 * alpha * beta / size * np.abs(x64) * total
    out.append(
        compare(
            "local_response_norm_backward",
            case,
            run(ops.local_response_norm_backward, x, dy, size, alpha, beta, k),
            rdx,
            rounding_bound(8 + size, dtype, mag),
        )
    )
    return out
