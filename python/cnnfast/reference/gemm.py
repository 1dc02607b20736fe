"""Reference matmul: NumPy's own (BLAS-backed) product of the transposed views."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import as_float_array


def matmul(a: Any, b: Any, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    a = as_float_array("matmul", "a", a)
    b = as_float_array("matmul", "b", b)
    return np.matmul(a.T if trans_a else a, b.T if trans_b else b)
