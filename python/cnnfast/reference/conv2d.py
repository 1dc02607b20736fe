"""Reference conv2d: einsum over sliding windows of the padded input, group by group.

Independent of the kernel's im2col + GEMM: the forward and weight gradient
contract a strided window view; the input gradient scatters each kernel tap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._geometry import conv, float_array
from ._windows import pad_hw, window_slice, windows


def conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    a = conv(x, w, stride, padding, dilation, groups)
    K, Cg, R, S = a.w.shape
    Kg = K // a.groups
    win = windows(pad_hw(a.x, a.padding), (R, S), a.stride, a.dilation, a.out_hw)
    y = np.empty((a.x.shape[0], K, *a.out_hw), dtype=a.x.dtype)
    for g in range(a.groups):
        cs, ks = slice(g * Cg, (g + 1) * Cg), slice(g * Kg, (g + 1) * Kg)
        y[:, ks] = np.einsum("ncpqrs,kcrs->nkpq", win[:, cs], a.w[ks], optimize=True)
    if b is not None:
        y += float_array(b).reshape(1, K, 1, 1)
    return y


def conv2d_backward(
    x: Any,
    w: Any,
    dy: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    need_input_grad: bool = True,
    need_weight_grad: bool = True,
    need_bias_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    a = conv(x, w, stride, padding, dilation, groups)
    dy = float_array(dy)
    H, W = a.x.shape[2:]
    K, Cg, R, S = a.w.shape
    Kg = K // a.groups
    P, Q = a.out_hw
    t, _, l, _ = a.padding
    xp = pad_hw(a.x, a.padding)
    dx = dw = db = None
    if need_input_grad:
        dxp = np.zeros_like(xp)
        for g in range(a.groups):
            cs, ks = slice(g * Cg, (g + 1) * Cg), slice(g * Kg, (g + 1) * Kg)
            for r in range(R):
                for s in range(S):
                    rows = window_slice(r * a.dilation[0], a.stride[0], P)
                    cols = window_slice(s * a.dilation[1], a.stride[1], Q)
                    tap = a.w[ks, :, r, s]
                    dxp[:, cs, rows, cols] += np.einsum("nkpq,kc->ncpq", dy[:, ks], tap)
        dx = np.ascontiguousarray(dxp[:, :, t : t + H, l : l + W])
    if need_weight_grad:
        win = windows(xp, (R, S), a.stride, a.dilation, a.out_hw)
        dw = np.empty_like(a.w)
        for g in range(a.groups):
            cs, ks = slice(g * Cg, (g + 1) * Cg), slice(g * Kg, (g + 1) * Kg)
            dw[ks] = np.einsum("ncpqrs,nkpq->kcrs", win[:, cs], dy[:, ks], optimize=True)
    if need_bias_grad:
        db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db
