"""Local response normalization across channels (AlexNet's NORM), PyTorch's convention:

    y_c = x_c / (k + alpha/size * sum_{j in win(c)} x_j^2) ** beta,
    win(c) = [c - size//2, c + (size-1)//2] clipped to the channels.

AlexNet's paper (k=2, n=5, alpha=1e-4, beta=0.75) writes alpha without the 1/size:
pass alpha=5e-4 for it.

Files:
  kernels    csrc/lrn.cpp; CUDA csrc/cuda/lrn.cuh
  binding    csrc/bindings/lrn.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/lrn.py, python/cnnfast/backend/cuda/lrn.py
  reference  python/cnnfast/reference/lrn.py
  tests      tests/test_lrn.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/ops_normalization.py (cnnfast bench ops: AlexNet's
             layers), python/cnnfast/bench/nets.py (alexnet's inference)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import (
    as_float_array,
    positive_int,
    require_ndim,
    require_same_dtype,
    require_shape,
)
from ..backend import for_arrays


def _args(op: str, x: Any, size: Any, k: float) -> tuple[np.ndarray, int]:
    x = as_float_array(op, "x", x)
    require_ndim(op, "x", x, 4, "(N, C, H, W)")
    if not k > 0:
        raise ValueError(f"{op}: k must be > 0, got {k!r}")
    return x, positive_int(op, "size", size)


def local_response_norm(
    x: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> np.ndarray:
    x, size = _args("local_response_norm", x, size, k)
    k_ = for_arrays("local_response_norm", x=x)
    return k_.lrn_forward(x, size, float(alpha), float(beta), float(k))


def local_response_norm_backward(
    x: Any, dy: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> np.ndarray:
    op = "local_response_norm_backward"
    x, size = _args(op, x, size, k)
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, x=x, dy=dy)
    require_shape(op, "dy", dy, x.shape, "the shape of x")
    k_ = for_arrays(op, x=x, dy=dy)
    return k_.lrn_backward(x, dy, size, float(alpha), float(beta), float(k))
