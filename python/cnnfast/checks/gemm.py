"""matmul against the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .bounds import sum_bound
from .compare import Result, compare
from .device import On
from .inputs import abs64, f64, normal


def check_matmul(
    rng: np.random.Generator,
    dtype: Any,
    m: int,
    n: int,
    k: int,
    trans_a: bool = False,
    trans_b: bool = False,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    case = f"{np.dtype(dtype)} {m}x{n}x{k} ta={trans_a} tb={trans_b}"
    a = normal(rng, (k, m) if trans_a else (m, k), dtype)
    b = normal(rng, (n, k) if trans_b else (k, n), dtype)
    c = run(ops.matmul, a, b, trans_a, trans_b)
    a64, b64 = f64(a, b)
    aa, ab = abs64(a, b)
    return [
        compare(
            "matmul",
            case,
            c,
            reference.matmul(a64, b64, trans_a, trans_b),
            sum_bound(k, dtype, reference.matmul(aa, ab, trans_a, trans_b)),
        )
    ]
