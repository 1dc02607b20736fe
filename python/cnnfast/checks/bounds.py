"""Error bounds derived from the arithmetic, not from trial and error.

For a sum of `terms` products the classic bound is |computed - exact| <= terms * u * A,
with u the unit roundoff of the dtype and A the same sum over absolute values; A is
obtained by running the reference on |inputs|. Both the kernel and the float64
reference carry such an error, hence (u_kernel + u_float64). Ops that do not reduce
(activations, normalisation computed in double and rounded once) get a few units of
roundoff relative to the magnitude of their terms. Winograd's transforms mix a whole
input patch into each output; their bounds are below.
"""

from __future__ import annotations

from typing import Any

import numpy as np

UNIT_ROUNDOFF = {np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}
U64 = 2.0**-53


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
