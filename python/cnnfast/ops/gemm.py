"""Matrix multiply C = op(A) @ op(B) on 2-D float32/float64 arrays.

Files:
  kernels    csrc/gemm/gemm.cpp (the driver), csrc/gemm/gemm_ukernel_generic.cpp,
             csrc/gemm/avx2/ (the AVX2 microkernels); CUDA csrc/cuda/gemm.cuh
  binding    csrc/bindings/gemm.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/gemm.py, python/cnnfast/backend/cuda/gemm.py
  reference  python/cnnfast/reference/gemm.py
  tests      tests/test_gemm.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/gemm.py (cnnfast bench gemm)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import as_float_array, require_ndim, require_same_dtype
from .._sizes import MAX_ELEMENTS, require_representable
from ..backend import for_arrays


def matmul(a: Any, b: Any, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """op(a) @ op(b), where op transposes when asked: (M, K) @ (K, N) -> (M, N)."""
    a = as_float_array("matmul", "a", a)
    b = as_float_array("matmul", "b", b)
    require_ndim("matmul", "a", a, 2)
    require_ndim("matmul", "b", b, 2)
    require_same_dtype("matmul", a=a, b=b)
    ka = a.shape[0] if trans_a else a.shape[1]
    kb = b.shape[1] if trans_b else b.shape[0]
    if ka != kb:
        raise ValueError(
            f"matmul: inner dimensions differ: op(a) is {a.shape[::-1] if trans_a else a.shape}, "
            f"op(b) is {b.shape[::-1] if trans_b else b.shape} "
            f"(a {a.shape}, trans_a={trans_a}; b {b.shape}, trans_b={trans_b})"
        )
    M = a.shape[1] if trans_a else a.shape[0]
    N = b.shape[0] if trans_b else b.shape[1]
    if M * N > MAX_ELEMENTS:  # (an empty a or b can still name a huge output)
        require_representable(
            "matmul", f"the output of a {a.shape} and b {b.shape}", (M, N), a.dtype
        )
    return for_arrays("matmul", a=a, b=b).matmul(a, b, bool(trans_a), bool(trans_b))
