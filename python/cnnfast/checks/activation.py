"""Bias, ReLU, tanh and sigmoid, forward and backward, against the reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops, reference
from .bounds import rounding_bound, sum_bound
from .compare import Result, compare
from .device import On
from .inputs import f64, normal


def check_activations(
    rng: np.random.Generator,
    dtype: Any,
    shape: tuple[int, ...],
    device: str = "cpu",
) -> list[Result]:
    run = On(device)
    case = f"{np.dtype(dtype)} {shape}"
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    dy = normal(rng, shape, dtype)
    x64, dy64 = f64(x, dy)
    out = []
    b = normal(rng, shape[1], dtype)
    out.append(
        compare(
            "bias_add",
            case,
            run(ops.bias_add, x, b),
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
            run(ops.bias_add_backward, dy),
            reference.bias_add_backward(dy64),
            sum_bound(terms, dtype, reference.bias_add_backward(np.abs(dy64))),
        )
    )
    out.append(compare("relu", case, run(ops.relu, x), reference.relu(x64), 0.0))
    out.append(
        compare(
            "relu_backward",
            case,
            run(ops.relu_backward, x, dy),
            reference.relu_backward(x64, dy64),
            0.0,
        )
    )
    # tanh/sigmoid: libm is within a few ulps; the backward takes y as given.
    ry = reference.tanh(x64)
    out.append(compare("tanh", case, run(ops.tanh, x), ry, rounding_bound(4, dtype, ry)))
    y = run(ops.tanh, x)
    y64 = y.astype(np.float64)
    out.append(
        compare(
            "tanh_backward",
            case,
            run(ops.tanh_backward, y, dy),
            reference.tanh_backward(y64, dy64),
            rounding_bound(4, dtype, np.abs(dy64) * (1 + y64 * y64)),
        )
    )
    # sigmoid(x) = 1/(1+exp(-x)): exp's argument carries |x| ulps of relative error.
    rs = reference.sigmoid(x64)
    out.append(
        compare(
            "sigmoid",
            case,
            run(ops.sigmoid, x),
            rs,
            rounding_bound(4, dtype, rs * (1 + np.abs(x64))),
        )
    )
    s = run(ops.sigmoid, x)
    s64 = s.astype(np.float64)
    out.append(
        compare(
            "sigmoid_backward",
            case,
            run(ops.sigmoid_backward, s, dy),
            reference.sigmoid_backward(s64, dy64),
            rounding_bound(4, dtype, np.abs(dy64) * s64 * (1 + s64)),
        )
    )
    return out
