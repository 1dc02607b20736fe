"""Local response normalization (ops/lrn.py) against the reference and in float64 gradient
checks."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient

DTYPES = [np.float32, np.float64]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape,size",
    [
        ((1, 1, 3, 3), 5),
        ((2, 7, 4, 5), 5),
        ((2, 8, 6, 6), 4),
        ((1, 96, 9, 9), 5),
        ((1, 3, 17, 17), 1),
        ((2, 5, 3, 3), 11),
    ],
)
def test_lrn_matches_reference(shape, size, dtype, rng):
    assert_all_ok(checks.check_lrn(rng, dtype, shape, size))
    assert_all_ok(checks.check_lrn(rng, dtype, shape, size, alpha=1e-2, beta=0.5, k=2.0))


@pytest.mark.kernels
@pytest.mark.parametrize("size", [1, 2, 5])
def test_lrn_gradient_matches_finite_differences(size, rng):
    x = 3 * rng.standard_normal((1, 6, 2, 3))
    dy = rng.standard_normal(x.shape)
    kw = dict(size=size, alpha=0.5, beta=0.75, k=2.0)  # large alpha: the cross terms matter
    assert_gradient(
        "lrn",
        lambda v: cf.ops.local_response_norm(v, **kw),
        x,
        dy,
        cf.ops.local_response_norm_backward(x, dy, **kw),
    )
