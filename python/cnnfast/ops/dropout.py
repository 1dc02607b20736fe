"""Inverted dropout with a seeded, counter-based mask.

The mask is a pure function of (seed, element index) (see csrc/dropout.h), so
it does not depend on the thread count and the backward regenerates it from
the seed instead of storing it.

Files:
  kernels    csrc/dropout.cpp, csrc/dropout.h (the mask), csrc/dropout/avx2/dropout_avx2.cpp
             (the same mask 8 floats at a time); CUDA csrc/cuda/elementwise.cuh
  binding    csrc/bindings/dropout.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/dropout.py, python/cnnfast/backend/cuda/dropout.py
  reference  python/cnnfast/reference/dropout.py
  tests      tests/test_dropout.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/nets.py (in each training step)
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import _C
from .._args import FLOAT_DTYPES, as_float_array
from .._sizes import require_representable
from ..backend import for_arrays


def _check(op: str, p: Any, seed: Any) -> tuple[float, int]:
    if not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{op}: seed must be an int, got {seed!r}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"{op}: seed must be in [0, 2**64), got {seed}")
    return float(p), int(seed)


def dropout(x: Any, p: float = 0.5, seed: int = 0, training: bool = True) -> np.ndarray:
    """Zero each element with probability p, scale the rest by 1/(1-p); identity unless training."""
    x = as_float_array("dropout", "x", x)
    p, seed = _check("dropout", p, seed)
    if not training:
        return x.copy()
    return for_arrays("dropout", x=x).dropout_forward(x, p, seed)


def dropout_backward(dy: Any, p: float = 0.5, seed: int = 0, training: bool = True) -> np.ndarray:
    """dx = dy * mask, the mask regenerated from the same (p, seed)."""
    return dropout(dy, p, seed, training)


def dropout_mask(shape: Any, p: float = 0.5, seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    """The mask itself: 0 where dropped, 1/(1-p) where kept."""
    p, seed = _check("dropout_mask", p, seed)
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dropout_mask: dtype must be float32 or float64, got {dt}")
    dims = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in dims):
        raise TypeError(f"dropout_mask: shape must be ints, got {shape!r}")
    shape = tuple(int(s) for s in dims)
    if any(s < 0 for s in shape):
        raise ValueError(f"dropout_mask: shape must be non-negative, got {shape}")
    require_representable("dropout_mask", "shape", shape, dt)
    fn = _C.dropout_mask_float32 if dt == np.float32 else _C.dropout_mask_float64
    return fn(list(shape), p, seed)
