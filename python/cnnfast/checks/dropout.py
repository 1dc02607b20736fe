"""Dropout's mask, forward and backward: bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .compare import Result, compare
from .device import On
from .inputs import normal


def check_dropout(
    rng: np.random.Generator,
    dtype: Any,
    shape: tuple[int, ...],
    p: float,
    seed: int,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    case = f"{np.dtype(dtype)} {shape} p={p} seed={seed}"
    x = normal(rng, shape, dtype)
    mask = ops.dropout_mask(shape, p, seed, dtype)
    out = [compare("dropout_mask", case, mask, reference.dropout_mask(shape, p, seed, dtype), 0.0)]
    y = run(ops.dropout, x, p, seed)
    out.append(compare("dropout", case, y, reference.dropout(x, p, seed), 0.0))
    out.append(compare("dropout_backward", case, run(ops.dropout_backward, x, p, seed), y, 0.0))
    return out
