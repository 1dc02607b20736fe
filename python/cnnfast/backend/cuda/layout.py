"""Joining, splitting and spreading device arrays: row copies (csrc/cuda/elementwise.cuh)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import DeviceArray, backend, out


def _rows_and_width(shape: tuple[int, ...], axis: int) -> tuple[int, int]:
    """Rows (the product of the axes before `axis`) and row width (the rest)."""
    return int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))


def concat(arrays: Sequence[DeviceArray], axis: int) -> DeviceArray:
    """np.concatenate on the device: each input fills its slice of every output row."""
    first = arrays[0]
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    y = out(tuple(shape), first)
    rows, out_width = _rows_and_width(y.shape, axis)
    offset = 0
    for a in arrays:
        _, width = _rows_and_width(a.shape, axis)
        backend().copy_rows(a.dtype.name, rows, width, a.ptr, width, 0, y.ptr, out_width, offset)
        offset += width
    return y


def split(array: DeviceArray, sizes: Sequence[int], axis: int) -> list[DeviceArray]:
    """The inverse of concat: pieces of `sizes` along `axis`."""
    rows, in_width = _rows_and_width(array.shape, axis)
    pieces, offset = [], 0
    for n in sizes:
        shape = list(array.shape)
        shape[axis] = n
        piece = out(tuple(shape), array)
        _, width = _rows_and_width(piece.shape, axis)
        backend().copy_rows(
            array.dtype.name, rows, width, array.ptr, in_width, offset, piece.ptr, width, 0
        )
        pieces.append(piece)
        offset += width
    return pieces


def sum_backward(
    g: DeviceArray, shape: Sequence[int], axis: Any, keepdims: bool, dtype: Any
) -> DeviceArray:
    """The gradient of a sum over all axes or over leading ones (the sums a DeviceArray
    has): each row of the input's shape gets g, a row copy with source stride 0."""
    shape = tuple(shape)
    k = len(shape) if axis is None else len(np.atleast_1d(axis))
    rows, width = _rows_and_width(shape, k) if shape else (1, 1)
    spread = out(shape, g)
    backend().copy_rows(g.dtype.name, rows, width, g.ptr, 0, 0, spread.ptr, width, 0)
    return spread if spread.dtype == np.dtype(dtype) else spread.astype(dtype)


__all__ = [
    "concat",
    "split",
    "sum_backward",
]
