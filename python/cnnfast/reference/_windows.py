"""Sliding-window views, the one trick the reference convolution and pooling share."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad_hw(x: np.ndarray, pad: tuple[int, int, int, int], value: float = 0.0) -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right) with `value`."""
    t, b, l, r = pad
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def windows(
    xp: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """Read-only view (N, C, P, Q, R, S) of a padded (N, C, Hp, Wp) array:
    element [n, c, p, q, r, s] is xp[n, c, p*sh + r*dh, q*sw + s*dw]."""
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    shape = (N, C, *out_hw, *kernel)
    strides = (sN, sC, sH * stride[0], sW * stride[1], sH * dilation[0], sW * dilation[1])
    return as_strided(xp, shape, strides, writeable=False)


def window_slice(offset: int, stride: int, count: int) -> slice:
    """Rows offset, offset+stride, ... (count of them): where kernel tap `offset` lands."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)
