"""Kernel-vs-reference comparisons: the machinery behind `cnnfast check` and the tests.

Each `check_*` function draws seeded random inputs for one op family and one set
of hyper-parameters, runs `cnnfast.ops` (in the requested dtype) and
`cnnfast.reference` (in float64 on the same values), and returns one `Result`
per output (forward and every gradient).

Error bounds come from the arithmetic, not from trial and error. For a sum of
`terms` products the classic bound is |computed - exact| <= terms * u * A, with
u the unit roundoff of the dtype and A the same sum over absolute values; A is
obtained by running the reference on |inputs|. Both the kernel and the float64
reference carry such an error, hence (u_kernel + u_float64). Ops that do not
reduce (activations, normalisation computed in double and rounded once) get a
few units of roundoff relative to the magnitude of their terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ops, reference
from ._args import conv_args

UNIT_ROUNDOFF = {np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}
U64 = 2.0**-53


@dataclass(frozen=True)
class Result:
    """One kernel output compared with its reference."""

    op: str
    case: str
    max_abs: float
    max_rel: float
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        status = "ok" if self.ok else "FAIL"
        return (
            f"{self.op} [{self.case}] {status}: max abs {self.max_abs:.3g}, "
            f"max rel {self.max_rel:.3g} {self.detail}".rstrip()
        )


def unit(dtype: Any) -> float:
    return UNIT_ROUNDOFF[np.dtype(dtype)]


def sum_bound(terms: int, dtype: Any, magnitude: np.ndarray) -> np.ndarray:
    """Bound for a dot product / sum of `terms` terms whose absolute sum is `magnitude`."""
    tiny = np.finfo(dtype).tiny * (terms + 1)
    return (terms + 2) * (unit(dtype) + U64) * np.abs(magnitude) + tiny


def _winograd_patch_sums(
    ax: np.ndarray, pad: tuple[int, int, int, int], out_hw: tuple[int, int], m: int = 2
) -> np.ndarray:
    """(N, C, tiles_h, tiles_w): the sum of |x| over each m x m output tile's
    (m+2) x (m+2) input patch (zero outside the image), the magnitude the Winograd
    bounds build on."""
    t, _, l, _ = pad
    th, tw = -(-out_hw[0] // m), -(-out_hw[1] // m)
    H, W = ax.shape[2:]
    xp = np.pad(ax, ((0, 0), (0, 0), (t, m * th + 2 - H - t), (l, m * tw + 2 - W - l)))
    a = m + 2
    return sum(xp[:, :, i : i + m * th : m, j : j + m * tw : m] for i in range(a) for j in range(a))


# F(m x m, 3x3): (largest |B^T| entry)^2, (largest row sum of |A^T|)^2, and the
# rounding steps of the transforms, for the bound below.
_WINOGRAD_CONSTANTS = {2: (1, 9, 12), 4: (25, 361, 30)}


def winograd_bound(
    dtype: Any,
    ax: np.ndarray,
    aw: np.ndarray,
    pad: tuple[int, int, int, int],
    out_hw: tuple[int, int],
    m: int = 2,
) -> np.ndarray:
    """Error bound for conv2d by Winograd F(m x m, 3x3), m = 2 or 4, of |x| = ax
    (N,C,H,W) with |w| = aw (K,C,3,3), output (N,K,*out_hw). Its intermediates are not
    partial sums of the output's own terms: an output's error scales with its whole
    (m+2)^2 input patch. G's entries are at most 1, so |U| <= the sum of |w|; |V| <= b
    times the patch sum of |x| (b = the largest |B^T| entry squared: 1 for m = 2, 25
    for m = 4); |M| <= sum_c |U||V|; an output adds M's with coefficients summing to
    at most a (9 for m = 2, 19^2 for m = 4). So error <= (C + steps)(u + u64) * a * b *
    sum_c patch(|x|) * sum(|w|). (The direct bound, sum_bound, is too tight here:
    exact cancellations in the transforms leave rounding from cells outside the
    output's own window.)"""
    b, a, steps = _WINOGRAD_CONSTANTS[m]
    P, Q = out_hw
    patch = _winograd_patch_sums(ax, pad, (P, Q), m)
    tiles = np.einsum("ncyx,kc->nkyx", patch, aw.sum(axis=(2, 3)))
    per_output = np.repeat(np.repeat(tiles, m, axis=2), m, axis=3)[:, :, :P, :Q]
    C = ax.shape[1]
    return (C + steps) * (unit(dtype) + U64) * a * b * per_output + np.finfo(dtype).tiny * (C + 1)


def _ceil_div(a: int, b: int) -> int:
    return -(a // -b)


def _expanded(
    ax: np.ndarray,
    aw: np.ndarray,
    stride: tuple[int, int],
    pad: tuple[int, int, int, int],
    out_hw: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """One group's x and w as the valid 3x3 stride-1 problem conv2d_winograd_expand.cpp
    computes: channel ((c*sh + i)*sw + j)*A*B + a*B + b of x_exp (N, C', P+2, Q+2) is
    x padded and read at rows (u + 3a)*sh + i, columns (v + 3b)*sw + j; w_exp
    (K, C', 3, 3) the matching taps, zero past R x S."""
    (sh, sw), (t, _, l, _), (P, Q) = stride, pad, out_hw
    N, C, H, W = ax.shape
    K, _, R, S = aw.shape
    A, B = _ceil_div(_ceil_div(R, sh), 3), _ceil_div(_ceil_div(S, sw), 3)
    rows, cols = (P + 2 + 3 * A) * sh, (Q + 2 + 3 * B) * sw  # every row and column read
    xp = np.zeros((N, C, rows, cols))  # x placed at (t, l); a negative padding crops
    r0, c0, sr, sc = max(t, 0), max(l, 0), max(-t, 0), max(-l, 0)
    h, w = min(H - sr, rows - r0), min(W - sc, cols - c0)
    if h > 0 and w > 0:
        xp[:, :, r0 : r0 + h, c0 : c0 + w] = ax[:, :, sr : sr + h, sc : sc + w]
    xe = np.empty((N, C, sh, sw, A, B, P + 2, Q + 2))
    wp = np.zeros((K, C, 3 * A * sh, 3 * B * sw))
    wp[:, :, :R, :S] = aw
    we = np.empty((K, C, sh, sw, A, B, 3, 3))
    for i in range(sh):
        for j in range(sw):
            for a in range(A):
                for b in range(B):
                    r0, c0 = 3 * a * sh + i, 3 * b * sw + j
                    rows_x = slice(r0, r0 + (P + 2) * sh, sh)
                    cols_x = slice(c0, c0 + (Q + 2) * sw, sw)
                    xe[:, :, i, j, a, b] = xp[:, :, rows_x, cols_x]
                    we[:, :, i, j, a, b] = wp[:, :, r0 : r0 + 3 * sh : sh, c0 : c0 + 3 * sw : sw]
    return xe.reshape(N, -1, P + 2, Q + 2), we.reshape(K, -1, 3, 3)


def winograd_expanded_bound(
    dtype: Any,
    ax: np.ndarray,
    aw: np.ndarray,
    stride: tuple[int, int],
    pad: tuple[int, int, int, int],
    groups: int,
    out_hw: tuple[int, int],
    m: int,
) -> np.ndarray:
    """winograd_bound of the problem conv2d_winograd_expand.cpp actually computes,
    group by group (the expanded input and filters hold the same magnitudes, moved)."""
    Cg, Kg = ax.shape[1] // groups, aw.shape[0] // groups
    parts = []
    for g in range(groups):
        x_g, w_g = ax[:, g * Cg : (g + 1) * Cg], aw[g * Kg : (g + 1) * Kg]
        xe, we = _expanded(x_g, w_g, stride, pad, out_hw)
        parts.append(winograd_bound(dtype, xe, we, (0, 0, 0, 0), out_hw, m))
    return np.concatenate(parts, axis=1)


def winograd_weight_bound(
    dtype: Any, ax: np.ndarray, ady: np.ndarray, pad: tuple[int, int, int, int], w_shape: Any
) -> np.ndarray:
    """Error bound for conv2d's weight gradient by Winograd F(2x2, 3x3): dU sums, over
    every tile, Z = A dy A^T (entries <= the 2x2 block sum of |dy|) times
    V = B^T d B (<= the 4x4 patch sum of |x|), then dw = G^T dU G (coefficients
    summing to <= 4 in magnitude). So error <= (terms + 24)(u + u64) * 4 * the sum over
    tiles of block(|dy|) * patch(|x|), for every (k, c) and all nine taps."""
    P, Q = ady.shape[2:]
    th, tw = -(-P // 2), -(-Q // 2)
    patch = _winograd_patch_sums(ax, pad, (P, Q))
    dyp = np.pad(ady, ((0, 0), (0, 0), (0, 2 * th - P), (0, 2 * tw - Q)))
    block = sum(dyp[:, :, i::2, j::2] for i in range(2) for j in range(2))
    per_kc = np.einsum("nkyx,ncyx->kc", block, patch)
    terms = ax.shape[0] * th * tw
    bound = (terms + 24) * (unit(dtype) + U64) * 4 * per_kc
    return np.broadcast_to(bound[:, :, None, None], tuple(w_shape)) + np.finfo(dtype).tiny * terms


def rounding_bound(ulps: float, dtype: Any, magnitude: np.ndarray) -> np.ndarray:
    """Bound for a result computed (nearly) exactly and rounded a few times."""
    return ulps * (unit(dtype) + U64) * np.abs(magnitude) + np.finfo(dtype).tiny


def compare(op: str, case: str, actual: Any, expected: Any, bound: Any) -> Result:
    """|actual - expected| <= bound everywhere; NaN and Inf must sit in the same places."""
    a = np.asarray(actual)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return Result(op, case, np.inf, np.inf, False, f"shape {a.shape} != expected {e.shape}")
    a64 = a.astype(np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), e.shape)
    if a.size == 0:
        return Result(op, case, 0.0, 0.0, True)
    nonfinite = ~np.isfinite(e)
    mismatch = nonfinite & ~((a64 == e) | (np.isnan(a64) & np.isnan(e)))
    if mismatch.any():
        i = np.unravel_index(np.argmax(mismatch), e.shape)
        return Result(
            op,
            case,
            np.inf,
            np.inf,
            False,
            f"at {i} of {e.shape}: got {a64[i]!r}, expected {e[i]!r}",
        )
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(nonfinite, 0.0, np.abs(a64 - e))
        err = np.where(np.isnan(err), np.inf, err)  # a NaN where a number was expected
        rel = err / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    excess = err - bound
    ok = not (excess > 0).any()
    detail = ""
    if not ok:
        i = np.unravel_index(np.argmax(excess), e.shape)
        detail = (
            f"at {i} of {e.shape}: got {a64[i]!r}, expected {e[i]!r}, "
            f"error {err[i]:.3g} > bound {bound[i]:.3g}"
        )
    return Result(op, case, float(err.max()), float(np.where(nonfinite, 0, rel).max()), ok, detail)


def _f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [a.astype(np.float64) for a in arrays]


def _abs64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.abs(a.astype(np.float64)) for a in arrays]


def _normal(rng: np.random.Generator, shape: Any, dtype: Any) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


# --- convolution ---------------------------------------------------------------


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
) -> list[Result]:
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    case = (
        f"{dtype.__name__ if isinstance(dtype, type) else dtype} x{x_shape} w{w_shape} "
        f"stride={stride} pad={padding} dil={dilation} g={groups}"
    )
    x, w = _normal(rng, x_shape, dtype), _normal(rng, w_shape, dtype)
    b = _normal(rng, w_shape[0], dtype) if bias else None
    K, Cg, R, S = w_shape
    y = ops.conv2d(x, w, b, **kw)
    x64, w64 = _f64(x, w)
    b64 = None if b is None else b.astype(np.float64)
    ax, aw = _abs64(x, w)
    ab = None if b is None else np.abs(b64)
    direct = sum_bound(Cg * R * S + 1, dtype, reference.conv2d(ax, aw, ab, **kw))
    tile = {"winograd": 2, "winograd4": 4, "expand": 2, "expand4": 4}  # F(m x m, 3x3)
    algo_y = ops.conv2d_algorithm(x_shape, w_shape, **kw)
    algo_dx = ops.conv2d_algorithm(x_shape, w_shape, **kw, pass_="backward_input")
    m_y, m_dx = tile.get(algo_y), tile.get(algo_dx)
    a = conv_args("check", x, w, **kw)
    pad, stride_hw = a.padding, a.stride
    bias_err = 0 if ab is None else 2 * (unit(dtype) + U64) * ab.reshape(1, -1, 1, 1)
    if algo_y in ("expand", "expand4"):
        y_hw = tuple(y.shape[2:])
        direct = winograd_expanded_bound(dtype, ax, aw, stride_hw, pad, groups, y_hw, m_y)
        direct = direct + bias_err
    elif m_y is not None:
        direct = winograd_bound(dtype, ax, aw, pad, y.shape[2:], m_y) + bias_err
    out = [compare("conv2d", case, y, reference.conv2d(x64, w64, b64, **kw), direct)]
    dy = _normal(rng, y.shape, dtype)
    dx, dw, db = ops.conv2d_backward(x, w, dy, **kw)
    rdx, rdw, rdb = reference.conv2d_backward(x64, w64, dy.astype(np.float64), **kw)
    mdx, mdw, mdb = reference.conv2d_backward(ax, aw, np.abs(dy.astype(np.float64)), **kw)
    Kg, (N, _, P, Q) = K // groups, y.shape
    dx_bound = sum_bound(Kg * R * S, dtype, mdx)
    if m_dx is not None:  # dy correlated with the flipped, transposed filters (padding reach - pad)
        t, b, l, r = pad
        ady = np.abs(dy.astype(np.float64))
        # Per group: w (K, Cg, R, S) -> (C, Kg, R, S), each filter rotated by 180 degrees.
        flipped = np.concatenate(
            [
                aw[g * Kg : (g + 1) * Kg].transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
                for g in range(groups)
            ]
        )
        back_pad = (R - 1 - t, R - 1 - b, S - 1 - l, S - 1 - r)
        x_hw = tuple(x.shape[2:])
        if algo_dx in ("expand", "expand4"):
            dx_bound = winograd_expanded_bound(
                dtype, ady, flipped, (1, 1), back_pad, groups, x_hw, m_dx
            )
        else:
            dx_bound = winograd_bound(dtype, ady, flipped, back_pad, x_hw, m_dx)
    out.append(compare("conv2d_backward_input", case, dx, rdx, dx_bound))
    dw_bound = sum_bound(N * P * Q, dtype, mdw)
    if ops.conv2d_algorithm(x_shape, w_shape, **kw, pass_="backward_weight") == "winograd":
        ady = np.abs(dy.astype(np.float64))
        dw_bound = winograd_weight_bound(dtype, ax, ady, pad, w_shape)
    out.append(compare("conv2d_backward_weight", case, dw, rdw, dw_bound))
    out.append(compare("conv2d_backward_bias", case, db, rdb, sum_bound(N * P * Q, dtype, mdb)))
    return out


# --- pooling -------------------------------------------------------------------


def check_max_pool2d(
    rng: np.random.Generator,
    dtype: Any,
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
) -> list[Result]:
    kw = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode)
    case = f"{np.dtype(dtype)} x{x_shape} k={kernel_size} s={stride} p={padding} ceil={ceil_mode}"
    x = _normal(rng, x_shape, dtype)
    y, idx = ops.max_pool2d(x, return_indices=True, **kw)
    ry, ridx = reference.max_pool2d(x, return_indices=True, **kw)
    out = [
        compare("max_pool2d", case, y, ry, 0.0),
        compare("max_pool2d indices", case, idx, ridx, 0.0),
    ]
    dy = _normal(rng, y.shape, dtype)
    # Several windows may share an argmax: their dy add up (in either order).
    rdx = reference.max_pool2d_backward(x.astype(np.float64), dy.astype(np.float64), **kw)
    mdx = reference.max_pool2d_backward(x.astype(np.float64), np.abs(dy.astype(np.float64)), **kw)
    k = np.prod(np.broadcast_to(kernel_size, 2))
    out.append(
        compare(
            "max_pool2d_backward",
            case,
            ops.max_pool2d_backward(x, dy, **kw),
            rdx,
            sum_bound(int(k), dtype, mdx),
        )
    )
    if k <= ops.MAX_ARGMAX_WINDOW:
        out += _check_max_pool2d_argmax(x, dy, case, kw)
    return out


def _check_max_pool2d_argmax(
    x: np.ndarray, dy: np.ndarray, case: str, kw: dict[str, Any]
) -> list[Result]:
    """The byte-argmax form, plain and fused with ReLU: the same values and codes as
    the reference, and a backward from those codes equal to the reference's."""
    out = []
    for relu in (False, True):
        name = "relu_max_pool2d" if relu else "max_pool2d_argmax"
        y, code = ops.max_pool2d_argmax(x, **kw, relu=relu)
        ry, rcode = reference.max_pool2d_argmax(x, **kw, relu=relu)
        dx = ops.max_pool2d_backward_argmax(code, dy, x.shape, **kw)
        rdx = reference.max_pool2d_backward_argmax(rcode, dy.astype(np.float64), x.shape, **kw)
        mdx = reference.max_pool2d_backward_argmax(
            rcode, np.abs(dy.astype(np.float64)), x.shape, **kw
        )
        k = int(np.prod(np.broadcast_to(kw["kernel_size"], 2)))
        out += [
            compare(name, case, y, ry, 0.0),
            compare(f"{name} codes", case, code, rcode, 0.0),
            compare(f"{name} backward", case, dx, rdx, sum_bound(k, dx.dtype, mdx)),
        ]
    return out


def check_avg_pool2d(
    rng: np.random.Generator,
    dtype: Any,
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> list[Result]:
    kw = dict(
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    case = (
        f"{np.dtype(dtype)} x{x_shape} k={kernel_size} s={stride} p={padding} "
        f"ceil={ceil_mode} cip={count_include_pad}"
    )
    x = _normal(rng, x_shape, dtype)
    k = int(np.prod(np.broadcast_to(kernel_size, 2)))
    x64, ax = x.astype(np.float64), np.abs(x.astype(np.float64))
    y = ops.avg_pool2d(x, **kw)
    out = [
        compare(
            "avg_pool2d",
            case,
            y,
            reference.avg_pool2d(x64, **kw),
            sum_bound(k + 1, dtype, reference.avg_pool2d(ax, **kw)),
        )
    ]
    dy = _normal(rng, y.shape, dtype)
    dy64 = dy.astype(np.float64)
    out.append(
        compare(
            "avg_pool2d_backward",
            case,
            ops.avg_pool2d_backward(x, dy, **kw),
            reference.avg_pool2d_backward(x64, dy64, **kw),
            sum_bound(k + 1, dtype, reference.avg_pool2d_backward(x64, np.abs(dy64), **kw)),
        )
    )
    return out


def check_global_avg_pool2d(
    rng: np.random.Generator, dtype: Any, x_shape: tuple[int, ...]
) -> list[Result]:
    case = f"{np.dtype(dtype)} x{x_shape}"
    x = _normal(rng, x_shape, dtype)
    hw = x_shape[2] * x_shape[3]
    x64 = x.astype(np.float64)
    y = ops.global_avg_pool2d(x)
    out = [
        compare(
            "global_avg_pool2d",
            case,
            y,
            reference.global_avg_pool2d(x64),
            sum_bound(hw + 1, dtype, reference.global_avg_pool2d(np.abs(x64))),
        )
    ]
    dy = _normal(rng, y.shape, dtype)
    rdx = reference.global_avg_pool2d_backward(x64, dy.astype(np.float64))
    out.append(
        compare(
            "global_avg_pool2d_backward",
            case,
            ops.global_avg_pool2d_backward(x, dy),
            rdx,
            rounding_bound(2, dtype, rdx),
        )
    )
    return out


# --- GEMM ------------------------------------------------------------------------


def check_matmul(
    rng: np.random.Generator,
    dtype: Any,
    m: int,
    n: int,
    k: int,
    trans_a: bool = False,
    trans_b: bool = False,
) -> list[Result]:
    case = f"{np.dtype(dtype)} {m}x{n}x{k} ta={trans_a} tb={trans_b}"
    a = _normal(rng, (k, m) if trans_a else (m, k), dtype)
    b = _normal(rng, (n, k) if trans_b else (k, n), dtype)
    c = ops.matmul(a, b, trans_a, trans_b)
    a64, b64 = _f64(a, b)
    aa, ab = _abs64(a, b)
    return [
        compare(
            "matmul",
            case,
            c,
            reference.matmul(a64, b64, trans_a, trans_b),
            sum_bound(k, dtype, reference.matmul(aa, ab, trans_a, trans_b)),
        )
    ]


# --- element-wise ------------------------------------------------------------------


def check_activations(rng: np.random.Generator, dtype: Any, shape: tuple[int, ...]) -> list[Result]:
    case = f"{np.dtype(dtype)} {shape}"
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    dy = _normal(rng, shape, dtype)
    x64, dy64 = _f64(x, dy)
    out = []
    b = _normal(rng, shape[1], dtype)
    out.append(
        compare(
            "bias_add",
            case,
            ops.bias_add(x, b),
            reference.bias_add(x64, b.astype(np.float64)),
            rounding_bound(
                1,
                dtype,
                np.abs(x64) + np.abs(b.astype(np.float64)).reshape((1, -1) + (1,) * (x.ndim - 2)),
            ),
        )
    )
    terms = x.size // shape[1]
    out.append(
        compare(
            "bias_add_backward",
            case,
            ops.bias_add_backward(dy),
            reference.bias_add_backward(dy64),
            sum_bound(terms, dtype, reference.bias_add_backward(np.abs(dy64))),
        )
    )
    out.append(compare("relu", case, ops.relu(x), reference.relu(x64), 0.0))
    out.append(
        compare(
            "relu_backward", case, ops.relu_backward(x, dy), reference.relu_backward(x64, dy64), 0.0
        )
    )
    # tanh/sigmoid: libm is within a few ulps; the backward takes y as given.
    ry = reference.tanh(x64)
    out.append(compare("tanh", case, ops.tanh(x), ry, rounding_bound(4, dtype, ry)))
    y = ops.tanh(x)
    y64 = y.astype(np.float64)
    out.append(
        compare(
            "tanh_backward",
            case,
            ops.tanh_backward(y, dy),
            reference.tanh_backward(y64, dy64),
            rounding_bound(4, dtype, np.abs(dy64) * (1 + y64 * y64)),
        )
    )
    # sigmoid(x) = 1/(1+exp(-x)): exp's argument carries |x| ulps of relative error.
    rs = reference.sigmoid(x64)
    out.append(
        compare(
            "sigmoid", case, ops.sigmoid(x), rs, rounding_bound(4, dtype, rs * (1 + np.abs(x64)))
        )
    )
    s = ops.sigmoid(x)
    s64 = s.astype(np.float64)
    out.append(
        compare(
            "sigmoid_backward",
            case,
            ops.sigmoid_backward(s, dy),
            reference.sigmoid_backward(s64, dy64),
            rounding_bound(4, dtype, np.abs(dy64) * s64 * (1 + s64)),
        )
    )
    return out


# --- softmax family ------------------------------------------------------------------


def check_softmax(
    rng: np.random.Generator, dtype: Any, shape: tuple[int, ...], axis: int = -1
) -> list[Result]:
    case = f"{np.dtype(dtype)} {shape} axis={axis}"
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    dy = _normal(rng, shape, dtype)
    x64, dy64 = _f64(x, dy)
    # exp(x - max) has relative error ~ u * |x - max|; the row sum adds the worst of them.
    spread = np.ptp(x64, axis=axis, keepdims=True)
    ry = reference.softmax(x64, axis)
    out = [
        compare(
            "softmax", case, ops.softmax(x, axis), ry, rounding_bound(2 * spread + 8, dtype, ry)
        )
    ]
    rl = reference.log_softmax(x64, axis)
    out.append(
        compare(
            "log_softmax",
            case,
            ops.log_softmax(x, axis),
            rl,
            rounding_bound(4, dtype, np.abs(x64) + 2 * np.abs(x64 - rl)),
        )
    )
    y = ops.softmax(x, axis)
    y64 = y.astype(np.float64)
    dot = (np.abs(dy64) * y64).sum(axis=axis, keepdims=True)
    out.append(
        compare(
            "softmax_backward",
            case,
            ops.softmax_backward(y, dy, axis),
            reference.softmax_backward(y64, dy64, axis),
            rounding_bound(4 + shape[axis], dtype, y64 * (np.abs(dy64) + dot)),
        )
    )
    ly = ops.log_softmax(x, axis)
    ly64 = ly.astype(np.float64)
    total = np.abs(dy64).sum(axis=axis, keepdims=True)
    out.append(
        compare(
            "log_softmax_backward",
            case,
            ops.log_softmax_backward(ly, dy, axis),
            reference.log_softmax_backward(ly64, dy64, axis),
            rounding_bound(
                4 + shape[axis], dtype, np.abs(dy64) + np.exp(ly64) * total * (4 + np.abs(ly64))
            ),
        )
    )
    return out


def check_cross_entropy(
    rng: np.random.Generator,
    dtype: Any,
    n: int,
    c: int,
    soft: bool = False,
    reduction: str = "mean",
) -> list[Result]:
    case = f"{np.dtype(dtype)} ({n}, {c}) soft={soft} reduction={reduction}"
    logits = (3 * rng.standard_normal((n, c))).astype(dtype)
    if soft:
        t = rng.random((n, c)).astype(dtype)
        t[rng.random((n, c)) < 0.3] = 0  # some exact zeros, as one-hot-like targets have
        t /= np.maximum(t.sum(axis=1, keepdims=True), 1)
    else:
        t = rng.integers(0, c, n)
    dloss = _normal(rng, n, dtype) if reduction == "none" else 0.75
    l64 = logits.astype(np.float64)
    t_ref = t.astype(np.float64) if soft else t
    lse = l64.max(axis=1) + np.log(np.exp(l64 - l64.max(axis=1, keepdims=True)).sum(axis=1))
    tw = np.abs(t_ref) if soft else np.eye(c)[t]
    per = (tw * (np.abs(l64) + np.abs(lse)[:, None])).sum(axis=1) + np.abs(lse)
    mag = per if reduction == "none" else (per.mean() if reduction == "mean" else per.sum())
    out = [
        compare(
            "cross_entropy",
            case,
            ops.cross_entropy(logits, t, reduction),
            reference.cross_entropy(l64, t_ref, reduction),
            rounding_bound(8, dtype, mag) + (n * U64 * np.abs(mag)),
        )
    ]
    rdx = reference.cross_entropy_backward(l64, t_ref, reduction, dloss)
    spread = np.ptp(l64, axis=1, keepdims=True)
    p = reference.softmax(l64, axis=1)
    scale = (
        np.abs(np.asarray(dloss, dtype=np.float64)).reshape(-1, 1)
        if reduction == "none"
        else abs(dloss) / (n if reduction == "mean" else 1)
    )
    tsum = np.abs(t_ref).sum(axis=1, keepdims=True) if soft else 1.0
    out.append(
        compare(
            "cross_entropy_backward",
            case,
            ops.cross_entropy_backward(logits, t, reduction, dloss),
            rdx,
            rounding_bound(2 * spread + 12, dtype, (p * tsum + tw) * scale),
        )
    )
    return out


# --- dropout, batch norm, LRN --------------------------------------------------------------


def check_dropout(
    rng: np.random.Generator, dtype: Any, shape: tuple[int, ...], p: float, seed: int
) -> list[Result]:
    case = f"{np.dtype(dtype)} {shape} p={p} seed={seed}"
    x = _normal(rng, shape, dtype)
    mask = ops.dropout_mask(shape, p, seed, dtype)
    out = [compare("dropout_mask", case, mask, reference.dropout_mask(shape, p, seed, dtype), 0.0)]
    y = ops.dropout(x, p, seed)
    out.append(compare("dropout", case, y, reference.dropout(x, p, seed), 0.0))
    out.append(compare("dropout_backward", case, ops.dropout_backward(x, p, seed), y, 0.0))
    return out


def check_batch_norm(
    rng: np.random.Generator, dtype: Any, shape: tuple[int, ...], affine: bool = True
) -> list[Result]:
    case = f"{np.dtype(dtype)} {shape} affine={affine}"
    x = (2 * rng.standard_normal(shape) + 0.5).astype(dtype)
    C = shape[1]
    g = _normal(rng, C, dtype) if affine else None
    b = _normal(rng, C, dtype) if affine else None
    x64 = x.astype(np.float64)
    g64 = None if g is None else g.astype(np.float64)
    b64 = None if b is None else b.astype(np.float64)
    cs = (1, -1) + (1,) * (len(shape) - 2)
    y, mean, invstd = ops.batch_norm_train(x, g, b)
    ry, rmean, rinvstd = reference.batch_norm_train(x64, g64, b64)
    m = x.size // C
    xhat = np.abs((x64 - rmean.reshape(cs)) * rinvstd.reshape(cs))
    ag = 1.0 if g is None else np.abs(g64).reshape(cs)
    ab = 0.0 if b is None else np.abs(b64).reshape(cs)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    mean_abs = np.abs(x64).mean(axis=axes)
    # The statistics are sums over m elements (in double in the kernel, in the reference's
    # float64): their error, (m + 2) * U64 relative to the magnitudes, reaches y through
    # x - mean and through invstd; then y is rounded once to the dtype.
    stat_mag = (xhat + (mean_abs * rinvstd).reshape(cs)) * ag
    out = [
        compare(
            "batch_norm_train",
            case,
            y,
            ry,
            rounding_bound(8, dtype, xhat * ag + ab) + 2 * (m + 2) * U64 * stat_mag,
        ),
        compare(
            "batch_norm_train mean", case, mean, rmean, rounding_bound(2 + 2 * m, dtype, mean_abs)
        ),
        compare(
            "batch_norm_train invstd",
            case,
            invstd,
            rinvstd,
            rounding_bound(8, dtype, rinvstd) + 2 * (m + 2) * U64 * rinvstd,
        ),
    ]
    rvar = (1 / rinvstd.astype(np.float64) ** 2 - 1e-5).astype(dtype)
    out.append(
        compare(
            "batch_norm_inference",
            case,
            ops.batch_norm_inference(x, mean, rvar, g, b),
            reference.batch_norm_inference(
                x64, mean.astype(np.float64), rvar.astype(np.float64), g64, b64
            ),
            # the kernel folds to x*scale + (b - mean*scale): terms of size |x|, |mean|
            rounding_bound(
                8, dtype, (np.abs(x64) + np.abs(rmean).reshape(cs)) * rinvstd.reshape(cs) * ag + ab
            ),
        )
    )
    dy = _normal(rng, shape, dtype)
    dy64 = dy.astype(np.float64)
    # The kernel gets the statistics as its forward returned them, rounded to the dtype;
    # the reference gets its own float64 ones. The rounding puts a relative error of
    # eps = u * (|mean| * invstd + 2) into xhat = (x - mean) * invstd, which reaches the
    # gradients through their (at most quadratic) dependence on xhat.
    dx, dg, db = ops.batch_norm_backward(x, dy, mean, invstd, g)
    rdx, rdg, rdb = reference.batch_norm_backward(x64, dy64, rmean, rinvstd, g64)
    mdy = np.abs(dy64)
    eps = 4 * unit(dtype) * (np.abs(rmean) * rinvstd + 2).reshape(cs)
    xh1 = xhat + 1
    mag_dx = (
        ag
        * rinvstd.reshape(cs)
        * (
            mdy
            + mdy.mean(axis=axes, keepdims=True)
            + xh1 * (mdy * xh1).mean(axis=axes, keepdims=True)
        )
    )
    out.append(
        compare(
            "batch_norm_backward input",
            case,
            dx,
            rdx,
            rounding_bound(8 + m, dtype, mag_dx) + 2 * eps * mag_dx,
        )
    )
    mag_dg = (mdy * xh1).sum(axis=axes)
    out.append(
        compare(
            "batch_norm_backward weight",
            case,
            dg,
            rdg,
            rounding_bound(4 + m, dtype, mag_dg) + eps.reshape(-1) * mag_dg,
        )
    )
    out.append(
        compare("batch_norm_backward bias", case, db, rdb, sum_bound(m, dtype, mdy.sum(axis=axes)))
    )
    return out


def check_lrn(
    rng: np.random.Generator,
    dtype: Any,
    shape: tuple[int, ...],
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
) -> list[Result]:
    case = f"{np.dtype(dtype)} {shape} size={size} alpha={alpha} beta={beta} k={k}"
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    dy = _normal(rng, shape, dtype)
    x64, dy64 = _f64(x, dy)
    ry = reference.local_response_norm(x64, size, alpha, beta, k)
    out = [
        compare(
            "local_response_norm",
            case,
            ops.local_response_norm(x, size, alpha, beta, k),
            ry,
            rounding_bound(8, dtype, ry),
        )
    ]
    rdx = reference.local_response_norm_backward(x64, dy64, size, alpha, beta, k)
    # |dx| <= |dy| s^-beta + 2*alpha*beta/size * |x| * sum_j |dy_j x_j| s_j^(-beta-1), s >= k.
    total = (np.abs(dy64 * x64)).sum(axis=1, keepdims=True) * k ** (-beta - 1)
    mag = np.abs(dy64) * k**-beta + 2 * alpha * beta / size * np.abs(x64) * total
    out.append(
        compare(
            "local_response_norm_backward",
            case,
            ops.local_response_norm_backward(x, dy, size, alpha, beta, k),
            rdx,
            rounding_bound(8 + size, dtype, mag),
        )
    )
    return out


# --- finite differences --------------------------------------------------------------------


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """d/dx of sum(f(x) * dy) by central differences, element by element (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + h
        plus = float((f(x) * dy).sum())
        flat[i] = orig - h
        minus = float((f(x) * dy).sum())
        flat[i] = orig
        g[i] = (plus - minus) / (2 * h)
    return grad


# --- random cases, for `cnnfast check` and the property tests ------------------------------


def random_padding(rng: np.random.Generator, kernel: tuple[int, int], pool: bool) -> Any:
    """One of the padding forms; for pooling, at most half the kernel."""
    cap_h, cap_w = (kernel[0] // 2, kernel[1] // 2) if pool else (3, 3)
    form = rng.integers(5)
    if form == 0:
        return "valid"
    if form == 1:
        return "same"
    if form == 2:
        return int(rng.integers(0, min(cap_h, cap_w) + 1))
    if form == 3:
        return (int(rng.integers(0, cap_h + 1)), int(rng.integers(0, cap_w + 1)))
    return tuple(int(rng.integers(0, c + 1)) for c in (cap_h, cap_h, cap_w, cap_w))


def random_conv2d_case(rng: np.random.Generator) -> dict[str, Any]:
    groups = int(rng.choice([1, 1, 2, 3]))
    depthwise = rng.random() < 0.2
    cg = 1 if depthwise else int(rng.integers(1, 5))
    kg = int(rng.integers(1, 4)) if depthwise else int(rng.integers(1, 6))
    if depthwise:
        groups = int(rng.integers(1, 6))
    R, S = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    padding = random_padding(rng, (R, S), pool=False)
    H = dilation[0] * (R - 1) + 1 + int(rng.integers(0, 7))
    W = dilation[1] * (S - 1) + 1 + int(rng.integers(0, 7))
    return dict(
        x_shape=(int(rng.integers(1, 4)), cg * groups, H, W),
        w_shape=(kg * groups, cg, R, S),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bool(rng.random() < 0.7),
    )


def random_pool2d_case(rng: np.random.Generator) -> dict[str, Any]:
    k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    stride = None if rng.random() < 0.3 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = random_padding(rng, k, pool=True)
    H, W = k[0] + int(rng.integers(0, 7)), k[1] + int(rng.integers(0, 7))
    return dict(
        x_shape=(int(rng.integers(1, 3)), int(rng.integers(1, 4)), H, W),
        kernel_size=k,
        stride=stride,
        padding=padding,
        ceil_mode=bool(rng.random() < 0.5),
    )


def random_suite(
    rng: np.random.Generator, cases: int, dtypes: tuple[Any, ...] = (np.float32, np.float64)
) -> list[Result]:
    """`cases` random instances of every op family in every dtype."""
    out: list[Result] = []
    for dtype in dtypes:
        for _ in range(cases):
            out += check_conv2d(rng, dtype, **random_conv2d_case(rng))
            out += check_max_pool2d(rng, dtype, **random_pool2d_case(rng))
            out += check_avg_pool2d(
                rng, dtype, **random_pool2d_case(rng), count_include_pad=bool(rng.random() < 0.5)
            )
            out += check_global_avg_pool2d(rng, dtype, tuple(int(v) for v in rng.integers(1, 6, 4)))
            m, n, k = (int(v) for v in rng.integers(1, 80, 3))
            out += check_matmul(
                rng, dtype, m, n, k, bool(rng.random() < 0.5), bool(rng.random() < 0.5)
            )
            shape = tuple(int(v) for v in rng.integers(1, 6, int(rng.integers(2, 5))))
            out += check_activations(rng, dtype, shape)
            out += check_softmax(rng, dtype, shape, int(rng.integers(-len(shape), len(shape))))
            out += check_cross_entropy(
                rng,
                dtype,
                int(rng.integers(1, 20)),
                int(rng.integers(1, 12)),
                bool(rng.random() < 0.5),
                str(rng.choice(["mean", "sum", "none"])),
            )
            out += check_dropout(
                rng,
                dtype,
                shape,
                float(rng.choice([0.0, 0.2, 0.5, 0.9, 1.0])),
                int(rng.integers(0, 2**63)),
            )
            out += check_batch_norm(
                rng, dtype, shape if len(shape) != 3 else (*shape, 2), bool(rng.random() < 0.7)
            )
            lrn_shape = tuple(int(v) for v in rng.integers(1, 7, 4))
            out += check_lrn(rng, dtype, lrn_shape, int(rng.integers(1, 7)))
    return out
