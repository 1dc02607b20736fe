"""conv2d's three passes against the reference, each within its algorithm's bound."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .._args import conv_args
from .bounds import (
    U64,
    sum_bound,
    unit,
    winograd_bound,
    winograd_expanded_bound,
    winograd_weight_bound,
)
from .compare import Result, compare
from .device import On
from .inputs import abs64, f64, normal


def _algorithms(
    device: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...], kw: dict[str, Any]
) -> tuple[str, ...]:
    """What each pass (forward, backward-input, backward-weight) runs: the CPU's
    choice, whose Winograd family has bounds of its own; the CUDA kernels sum every
    output's products directly (an implicit GEMM), as im2col does."""
    if device != "cpu":
        return ("im2col",) * 3
    passes = ("forward", "backward_input", "backward_weight")
    return tuple(ops.conv2d_algorithm(x_shape, w_shape, **kw, pass_=p) for p in passes)


def conv2d_bounds(
    dtype: Any,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    dy: np.ndarray,
    kw: dict[str, Any],
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounds on |kernel - exact| of conv2d's y, dx, dw and db in `dtype` for these
    inputs, for the algorithms each pass runs on `device` ("direct": a plain sum of
    products, as another library's kernel computes it)."""
    x_shape, w_shape = tuple(x.shape), tuple(w.shape)
    groups = kw["groups"]
    K, Cg, R, S = w_shape
    ax, aw = abs64(x, w)
    ab = None if b is None else np.abs(b.astype(np.float64))
    direct = sum_bound(Cg * R * S + 1, dtype, reference.conv2d(ax, aw, ab, **kw))
    tile = {"winograd": 2, "winograd4": 4, "expand": 2, "expand4": 4}  # F(m x m, 3x3)
    if device == "direct":
        algo_y = algo_dx = algo_dw = "im2col"
    else:
        algo_y, algo_dx, algo_dw = _algorithms(device, x_shape, w_shape, kw)
    m_y, m_dx = tile.get(algo_y), tile.get(algo_dx)
    a = conv_args("check", x, w, **kw)
    pad, stride_hw = a.padding, a.stride
    y_hw = a.out_hw
    bias_err = 0 if ab is None else 2 * (unit(dtype) + U64) * ab.reshape(1, -1, 1, 1)
    if algo_y in ("expand", "expand4"):
        direct = winograd_expanded_bound(dtype, ax, aw, stride_hw, pad, groups, y_hw, m_y)
        direct = direct + bias_err
    elif m_y is not None:
        direct = winograd_bound(dtype, ax, aw, pad, y_hw, m_y) + bias_err
    mdx, mdw, mdb = reference.conv2d_backward(ax, aw, np.abs(dy.astype(np.float64)), **kw)
    Kg, N, (P, Q) = K // groups, x_shape[0], y_hw
    dx_bound = sum_bound(Kg * R * S, dtype, mdx)
    if m_dx is not None:  # dy correlated with the flipped, transposed filters (padding reach - pad)
        t, bottom, l, r = pad
        ady = np.abs(dy.astype(np.float64))
        # Per group: w (K, Cg, R, S) -> (C, Kg, R, S), each filter rotated by 180 degrees.
        flipped = np.concatenate(
            [
                aw[g * Kg : (g + 1) * Kg].transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
                for g in range(groups)
            ]
        )
        back_pad = (R - 1 - t, R - 1 - bottom, S - 1 - l, S - 1 - r)
        x_hw = tuple(x_shape[2:])
        if algo_dx in ("expand", "expand4"):
            dx_bound = winograd_expanded_bound(
                dtype, ady, flipped, (1, 1), back_pad, groups, x_hw, m_dx
            )
        else:
            dx_bound = winograd_bound(dtype, ady, flipped, back_pad, x_hw, m_dx)
    dw_bound = sum_bound(N * P * Q, dtype, mdw)
    if algo_dw == "winograd":
        ady = np.abs(dy.astype(np.float64))
        dw_bound = winograd_weight_bound(dtype, ax, ady, pad, w_shape)
    return direct, dx_bound, dw_bound, sum_bound(N * P * Q, dtype, mdb)


def check_conv2d(
    rng: np.random.Generator,
    dtype: Any,
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias: bool = True,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    case = (
        f"{dtype.__name__ if isinstance(dtype, type) else dtype} x{x_shape} w{w_shape} "
        f"stride={stride} pad={padding} dil={dilation} g={groups}"
    )
    x, w = normal(rng, x_shape, dtype), normal(rng, w_shape, dtype)
    b = normal(rng, w_shape[0], dtype) if bias else None
    y = run(ops.conv2d, x, w, b, **kw)
    x64, w64 = f64(x, w)
    b64 = None if b is None else b.astype(np.float64)
    dy = normal(rng, y.shape, dtype)
    y_bound, dx_bound, dw_bound, db_bound = conv2d_bounds(dtype, x, w, b, dy, kw, run.device)
    out = [compare("conv2d", case, y, reference.conv2d(x64, w64, b64, **kw), y_bound)]
    dx, dw, db = run(ops.conv2d_backward, x, w, dy, **kw)
    rdx, rdw, rdb = reference.conv2d_backward(x64, w64, dy.astype(np.float64), **kw)
    out.append(compare("conv2d_backward_input", case, dx, rdx, dx_bound))
    out.append(compare("conv2d_backward_weight", case, dw, rdw, dw_bound))
    out.append(compare("conv2d_backward_bias", case, db, rdb, db_bound))
    return out
