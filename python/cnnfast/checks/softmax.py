"""softmax, log_softmax and cross-entropy, forward and backward, against the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from ..reference.softmax import loss_scale
from .bounds import U64, rounding_bound
from .compare import Result, compare
from .device import On, accumulation_unit
from .inputs import f64, normal


def check_softmax(
    rng: np.random.Generator,
    dtype: Any,
    shape: tuple[int, ...],
    axis: int = -1,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    acc = accumulation_unit(device, dtype) + U64
    case = f"{np.dtype(dtype)} {shape} axis={axis}"
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    dy = normal(rng, shape, dtype)
    x64, dy64 = f64(x, dy)
    # exp(x - max) has relative error ~ u * |x - max|; the row sum adds the worst of them,
    # and the sum of its n positive terms n * acc more (the device's accumulation).
    spread = np.ptp(x64, axis=axis, keepdims=True)
    n = shape[axis]
    ry = reference.softmax(x64, axis)
    out = [
        compare(
            "softmax",
            case,
            run(ops.softmax, x, axis),
            ry,
            rounding_bound(2 * spread + 8, dtype, ry) + n * acc * ry,
        )
    ]
    rl = reference.log_softmax(x64, axis)
    out.append(
        compare(
            "log_softmax",
            case,
            run(ops.log_softmax, x, axis),
            rl,
            rounding_bound(4, dtype, np.abs(x64) + 2 * np.abs(x64 - rl)) + n * acc,
        )
    )
    y = run(ops.softmax, x, axis)
    y64 = y.astype(np.float64)
    dot = (np.abs(dy64) * y64).sum(axis=axis, keepdims=True)
    out.append(
        compare(
            "softmax_backward",
            case,
            run(ops.softmax_backward, y, dy, axis),
            reference.softmax_backward(y64, dy64, axis),
            rounding_bound(4 + shape[axis], dtype, y64 * (np.abs(dy64) + dot)),
        )
    )
    ly = run(ops.log_softmax, x, axis)
    ly64 = ly.astype(np.float64)
    total = np.abs(dy64).sum(axis=axis, keepdims=True)
    out.append(
        compare(
            "log_softmax_backward",
            case,
            run(ops.log_softmax_backward, ly, dy, axis),
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
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    acc = accumulation_unit(device, dtype) + U64
    case = f"{np.dtype(dtype)} ({n}, {c}) soft={soft} reduction={reduction}"
    logits = (3 * rng.standard_normal((n, c))).astype(dtype)
    if soft:
        t = rng.random((n, c)).astype(dtype)
        t[rng.random((n, c)) < 0.3] = 0  # some exact zeros, as one-hot-like targets have
        t /= np.maximum(t.sum(axis=1, keepdims=True), 1)
    else:
        t = rng.integers(0, c, n)
    dloss = normal(rng, n, dtype) if reduction == "none" else 0.75
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
            run(ops.cross_entropy, logits, t, reduction),
            reference.cross_entropy(l64, t_ref, reduction),
            rounding_bound(8, dtype, mag) + (n * acc * np.abs(mag)),
        )
    ]
    rdx = reference.cross_entropy_backward(l64, t_ref, reduction, dloss)
    spread = np.ptp(l64, axis=1, keepdims=True)
    p = reference.softmax(l64, axis=1)
    scale = np.abs(loss_scale(dloss, reduction, n, np.float64))
    tsum = np.abs(t_ref).sum(axis=1, keepdims=True) if soft else 1.0
    out.append(
        compare(
            "cross_entropy_backward",
            case,
            run(ops.cross_entropy_backward, logits, t, reduction, dloss),
            rdx,
            rounding_bound(2 * spread + 12, dtype, (p * tsum + tw) * scale),
        )
    )
    return out


def check_binary_cross_entropy(
    rng: np.random.Generator,
    dtype: Any,
    n: int,
    soft: bool = False,
    reduction: str = "mean",
    device: str = "cpu",
) -> list[Result]:
    """ops.binary_cross_entropy (the cross-entropy kernel over the logits (0, z)) against
    the reference's direct formula max(z, 0) - t z + log1p(exp(-|z|))."""
    run = On(device)
    acc = accumulation_unit(device, dtype) + U64
    case = f"{np.dtype(dtype)} ({n}, 1) soft={soft} reduction={reduction}"
    z = (4 * rng.standard_normal((n, 1))).astype(dtype)
    t = rng.random(n).astype(dtype) if soft else rng.integers(0, 2, n)
    if device != "cpu" and soft:
        soft, t = False, rng.integers(0, 2, n)  # (a device target is 0/1 labels)
    dloss = normal(rng, n, dtype) if reduction == "none" else 0.75
    z64 = z.astype(np.float64)
    t64 = t.astype(np.float64)
    # As the cross-entropy over two logits (0, z): its logsumexp |lse| <= |z| + log 2, and
    # the target's weights 1 - t and t (each <= 1) on |0| and |z|.
    lse = np.abs(z64[:, 0]) + np.log(2)
    per = np.abs(z64[:, 0]) + 2 * lse
    mag = per if reduction == "none" else (per.mean() if reduction == "mean" else per.sum())
    out = [
        compare(
            "binary_cross_entropy",
            case,
            run(ops.binary_cross_entropy, z, t, reduction),
            reference.binary_cross_entropy(z64, t64, reduction),
            rounding_bound(8, dtype, mag) + (n * acc * np.abs(mag)),
        )
    ]
    scale = np.abs(loss_scale(dloss, reduction, n, np.float64))
    spread = np.abs(z64)
    out.append(
        compare(
            "binary_cross_entropy_backward",
            case,
            run(ops.binary_cross_entropy_backward, z, t, reduction, dloss),
            reference.binary_cross_entropy_backward(z64, t64, reduction, dloss),
            rounding_bound(2 * spread + 12, dtype, 2 * scale),
        )
    )
    return out
