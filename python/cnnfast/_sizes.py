"""Size limits shared by the Python checks and the C++ kernels (csrc/sizes.h,
csrc/common.h), so a request too large to represent is refused here, with the op
and the argument named, before anything is allocated or computed.

Python's integers do not overflow, so the arithmetic below is exact; what it
guards is the conversion to the kernels' 64-bit sizes:

- every size, stride, padding, dilation and kernel extent must fit in int64
  (``INDEX_MAX``), or the C++ side could not even receive it;
- an array may hold at most ``MAX_ELEMENTS`` (2**59) elements and
  ``MAX_BYTES`` (2**63 - 1) bytes (NumPy's own limit), so that no product a kernel
  forms from its shape wraps around.

Too large to represent is an ``OverflowError``; representable but more than the
machine can allocate is the allocator's ``MemoryError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

INDEX_MAX = 2**63 - 1
MAX_ELEMENTS = 2**59  # csrc/common.h kMaxElements
MAX_BYTES = 2**63 - 1  # csrc/sizes.h kMaxBytes


def require_index(op: str, name: str, value: int) -> None:
    """`value` (a size, stride, padding, ...) must fit the kernels' int64."""
    if value > INDEX_MAX:
        raise OverflowError(f"{op}: {name} = {value} does not fit in a 64-bit size (max 2**63 - 1)")


def require_representable(op: str, what: str, shape: Sequence[int], dtype: Any) -> None:
    """An array of `shape` and `dtype` must be one that can exist: at most
    MAX_ELEMENTS elements and MAX_BYTES bytes. NumPy's rule for an empty one: the
    product of its non-zero dimensions, in bytes, must still fit in MAX_BYTES."""
    for d in shape:
        require_index(op, f"a dimension of {what}", d)
    empty = 0 in shape
    n = math.prod(d for d in shape if d)
    nbytes = n * np.dtype(dtype).itemsize
    if empty and nbytes > MAX_BYTES:
        raise OverflowError(
            f"{op}: {what} would be {tuple(shape)} {np.dtype(dtype)}: empty, but its non-zero "
            f"dimensions make {nbytes} bytes, more than NumPy allows an array (2**63 - 1)"
        )
    if not empty and (n > MAX_ELEMENTS or nbytes > MAX_BYTES):
        raise OverflowError(
            f"{op}: {what} would be {tuple(shape)} {np.dtype(dtype)}, {n} elements ({nbytes} "
            "bytes): more than an array can hold (2**59 elements, 2**63 - 1 bytes)"
        )
