"""Batch normalisation (training statistics, inference, backward) against the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .bounds import U64, rounding_bound, sum_bound, unit
from .compare import Result, compare
from .device import On, accumulation_unit
from .inputs import normal


def check_batch_norm(
    rng: np.random.Generator,
    dtype: Any,
    shape: tuple[int, ...],
    affine: bool = True,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    acc = accumulation_unit(device, dtype) + U64
    case = f"{np.dtype(dtype)} {shape} affine={affine}"
    x = (2 * rng.standard_normal(shape) + 0.5).astype(dtype)
    C = shape[1]
    g = normal(rng, C, dtype) if affine else None
    b = normal(rng, C, dtype) if affine else None
    x64 = x.astype(np.float64)
    g64 = None if g is None else g.astype(np.float64)
    b64 = None if b is None else b.astype(np.float64)
    cs = (1, -1) + (1,) * (len(shape) - 2)
    y, mean, invstd = run(ops.batch_norm_train, x, g, b)
    ry, rmean, rinvstd = reference.batch_norm_train(x64, g64, b64)
    m = x.size // C
    xhat = np.abs((x64 - rmean.reshape(cs)) * rinvstd.reshape(cs))
    ag = 1.0 if g is None else np.abs(g64).reshape(cs)
    ab = 0.0 if b is None else np.abs(b64).reshape(cs)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    mean_abs = np.abs(x64).mean(axis=axes)
    # The statistics are sums over m elements (in double in the CPU kernel, in the dtype
    # in the CUDA one: acc; in the reference's float64): their error, (m + 2) * acc
    # relative to the magnitudes, reaches y through
    # x - mean and through invstd; then y is rounded once to the dtype.
    stat_mag = (xhat + (mean_abs * rinvstd).reshape(cs)) * ag
    out = [
        compare(
            "batch_norm_train",
            case,
            y,
            ry,
            rounding_bound(8, dtype, xhat * ag + ab) + 2 * (m + 2) * acc * stat_mag,
        ),
        compare(
            "batch_norm_train mean", case, mean, rmean, rounding_bound(2 + 2 * m, dtype, mean_abs)
        ),
        compare(
            "batch_norm_train invstd",
            case,
            invstd,
            rinvstd,
            rounding_bound(8, dtype, rinvstd) + 2 * (m + 2) * acc * rinvstd,
        ),
    ]
    rvar = (1 / rinvstd.astype(np.float64) ** 2 - 1e-5).astype(dtype)
    out.append(
        compare(
            "batch_norm_inference",
            case,
            run(ops.batch_norm_inference, x, mean, rvar, g, b),
            reference.batch_norm_inference(
                x64, mean.astype(np.float64), rvar.astype(np.float64), g64, b64
            ),
            # the kernel folds to x*scale + (b - mean*scale): terms of size |x|, |mean|
            rounding_bound(
                8, dtype, (np.abs(x64) + np.abs(rmean).reshape(cs)) * rinvstd.reshape(cs) * ag + ab
            ),
        )
    )
    dy = normal(rng, shape, dtype)
    dy64 = dy.astype(np.float64)
    # The kernel gets the statistics as its forward returned them, rounded to the dtype;
    # the reference gets its own float64 ones. The rounding puts a relative error of
    # eps = u * (|mean| * invstd + 2) into xhat = (x - mean) * invstd, which reaches the
    # gradients through their (at most quadratic) dependence on xhat.
    dx, dg, db = run(ops.batch_norm_backward, x, dy, mean, invstd, g)
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
