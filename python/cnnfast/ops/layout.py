"""Joining, splitting and spreading arrays on either device: what the autograd layer's
concat and sum need.

Files:
  kernels    NumPy on the host; CUDA row copies (csrc/cuda/elementwise.cuh, CopyRows)
  binding    CUDA csrc/bindings/cuda_backend.h (copy_rows)
  backends   python/cnnfast/backend/cpu/layout.py, python/cnnfast/backend/cuda/layout.py
  reference  NumPy's concatenate and split (the cpu backend is that)
  tests      tests/test_backend.py, tests/test_autograd.py, tests/test_cuda_training.py
  benchmark  none of its own (copies; inside every autograd step that joins or sums)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import for_arrays


def _axis(op: str, ndim: int, axis: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for {ndim}-D arrays")
    return axis % ndim


def concat(arrays: Sequence[Any], axis: int) -> Any:
    """The arrays joined along `axis` (all on one device; shapes agree elsewhere)."""
    op = "concat"
    if not arrays:
        raise ValueError(f"{op}: nothing to join")
    first = arrays[0]
    axis = _axis(op, first.ndim, axis)
    for i, a in enumerate(arrays):
        if a.ndim != first.ndim or any(
            n != m for d, (n, m) in enumerate(zip(a.shape, first.shape)) if d != axis
        ):
            raise ValueError(
                f"{op}: array {i} has shape {a.shape}, array 0 {first.shape}: they must "
                f"agree on every axis but {axis}"
            )
        if a.dtype != first.dtype:
            raise TypeError(f"{op}: array {i} is {a.dtype}, array 0 {first.dtype}")
    k = for_arrays(op, **{f"array {i}": a for i, a in enumerate(arrays)})
    return k.concat(list(arrays), axis)


def split(array: Any, sizes: Sequence[int], axis: int) -> list[Any]:
    """The inverse of concat: pieces of `sizes` along `axis` (they sum to its length)."""
    op = "split"
    axis = _axis(op, array.ndim, axis)
    sizes = [int(n) for n in sizes]
    if min(sizes, default=0) < 0 or sum(sizes) != array.shape[axis]:
        raise ValueError(f"{op}: sizes {sizes} must sum to {array.shape[axis]} (axis {axis})")
    return for_arrays(op, array=array).split(array, sizes, axis)


def sum_backward(
    g: Any, shape: Sequence[int], axis: Any = None, keepdims: bool = False, dtype: Any = None
) -> Any:
    """The gradient of x.sum(axis, keepdims) for x of `shape`: g spread back over the
    summed axes, as `dtype` (default: g's)."""
    k = for_arrays("sum_backward", g=g)
    return k.sum_backward(g, tuple(shape), axis, keepdims, g.dtype if dtype is None else dtype)
