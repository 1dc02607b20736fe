"""Reference matmul: NumPy's own (BLAS-backed) product of the transposed views."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._geometry import float_array


def matmul(a: Any, b: Any, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    a = float_array(a)
    b = float_array(b)
    return np.matmul(a.T if trans_a else a, b.T if trans_b else b)
