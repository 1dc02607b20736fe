"""Max, average and global-average pooling against the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .bounds import rounding_bound, sum_bound
from .compare import Result, compare
from .device import On
from .inputs import normal


def check_max_pool2d(
    rng: np.random.Generator,
    dtype: Any,
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    kw = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode)
    case = f"{np.dtype(dtype)} x{x_shape} k={kernel_size} s={stride} p={padding} ceil={ceil_mode}"
    x = normal(rng, x_shape, dtype)
    ry, ridx = reference.max_pool2d(x, return_indices=True, **kw)
    if run.device == "cpu":
        y, idx = run(ops.max_pool2d, x, return_indices=True, **kw)
        out = [
            compare("max_pool2d", case, y, ry, 0.0),
            compare("max_pool2d indices", case, idx, ridx, 0.0),
        ]
    else:  # (int64 indices are the CPU's; the device keeps byte codes, checked below)
        y = run(ops.max_pool2d, x, **kw)
        out = [compare("max_pool2d", case, y, ry, 0.0)]
    dy = normal(rng, y.shape, dtype)
    # Several windows may share an argmax: their dy add up (in either order).
    rdx = reference.max_pool2d_backward(x.astype(np.float64), dy.astype(np.float64), **kw)
    mdx = reference.max_pool2d_backward(x.astype(np.float64), np.abs(dy.astype(np.float64)), **kw)
    k = np.prod(np.broadcast_to(kernel_size, 2))
    out.append(
        compare(
            "max_pool2d_backward",
            case,
            run(ops.max_pool2d_backward, x, dy, **kw),
            rdx,
            sum_bound(int(k), dtype, mdx),
        )
    )
    if k <= ops.MAX_ARGMAX_WINDOW:
        out += _check_max_pool2d_argmax(run, x, dy, case, kw)
    return out


def _check_max_pool2d_argmax(
    run: On, x: np.ndarray, dy: np.ndarray, case: str, kw: dict[str, Any]
) -> list[Result]:
    """The byte-argmax form, plain and fused with ReLU: the same values and codes as
    the reference, and a backward from those codes equal to the reference's."""
    out = []
    for relu in (False, True):
        name = "relu_max_pool2d" if relu else "max_pool2d_argmax"
        y, code = run(ops.max_pool2d_argmax, x, **kw, relu=relu)
        ry, rcode = reference.max_pool2d_argmax(x, **kw, relu=relu)
        dx = run(ops.max_pool2d_backward_argmax, code, dy, x.shape, **kw)
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
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
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
    x = normal(rng, x_shape, dtype)
    k = int(np.prod(np.broadcast_to(kernel_size, 2)))
    x64, ax = x.astype(np.float64), np.abs(x.astype(np.float64))
    y = run(ops.avg_pool2d, x, **kw)
    out = [
        compare(
            "avg_pool2d",
            case,
            y,
            reference.avg_pool2d(x64, **kw),
            sum_bound(k + 1, dtype, reference.avg_pool2d(ax, **kw)),
        )
    ]
    dy = normal(rng, y.shape, dtype)
    dy64 = dy.astype(np.float64)
    out.append(
        compare(
            "avg_pool2d_backward",
            case,
            run(ops.avg_pool2d_backward, x, dy, **kw),
            reference.avg_pool2d_backward(x64, dy64, **kw),
            sum_bound(k + 1, dtype, reference.avg_pool2d_backward(x64, np.abs(dy64), **kw)),
        )
    )
    return out


def check_global_avg_pool2d(
    rng: np.random.Generator,
    dtype: Any,
    x_shape: tuple[int, ...],
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    case = f"{np.dtype(dtype)} x{x_shape}"
    x = normal(rng, x_shape, dtype)
    hw = x_shape[2] * x_shape[3]
    x64 = x.astype(np.float64)
    y = run(ops.global_avg_pool2d, x)
    out = [
        compare(
            "global_avg_pool2d",
            case,
            y,
            reference.global_avg_pool2d(x64),
            sum_bound(hw + 1, dtype, reference.global_avg_pool2d(np.abs(x64))),
        )
    ]
    dy = normal(rng, y.shape, dtype)
    rdx = reference.global_avg_pool2d_backward(x64, dy.astype(np.float64))
    out.append(
        compare(
            "global_avg_pool2d_backward",
            case,
            run(ops.global_avg_pool2d_backward, x, dy),
            rdx,
            rounding_bound(2, dtype, rdx),
        )
    )
    return out
