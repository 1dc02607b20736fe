"""Inverted dropout (ops/dropout.py) against the reference, its gradient, and the counter-based
mask: statistics, determinism across thread counts, NaN."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient, num_threads

DTYPES = [np.float32, np.float64]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_dropout_matches_reference(p, dtype, isa, rng):
    # (3, 33337): several threads' chunks, none a multiple of the AVX2 path's 8 lanes
    for shape in [(1,), (3, 5), (4, 3, 7, 7), (128, 128), (3, 33337)]:
        assert_all_ok(checks.check_dropout(rng, dtype, shape, p, int(rng.integers(0, 2**63))))


@pytest.mark.kernels
def test_dropout_gradient_matches_finite_differences(rng):
    x = rng.standard_normal((3, 8))
    dy = rng.standard_normal(x.shape)
    assert_gradient(
        "dropout", lambda v: cf.ops.dropout(v, 0.4, 7), x, dy, cf.ops.dropout_backward(dy, 0.4, 7)
    )


@pytest.mark.kernels
def test_dropout_mask_statistics_and_determinism():
    m = cf.ops.dropout_mask((1000, 1000), 0.3, seed=123)
    kept = (m > 0).mean()
    assert abs(kept - 0.7) < 0.002  # 1e6 Bernoulli draws: std 0.00046
    np.testing.assert_allclose(m[m > 0], 1 / 0.7, rtol=1e-7)
    np.testing.assert_array_equal(m, cf.ops.dropout_mask((1000, 1000), 0.3, seed=123))
    other = cf.ops.dropout_mask((1000, 1000), 0.3, seed=124)
    assert ((m > 0) != (other > 0)).mean() > 0.3  # a different seed, a different mask
    with num_threads(1):
        np.testing.assert_array_equal(m, cf.ops.dropout_mask((1000, 1000), 0.3, seed=123))
    x = np.ones((4, 4))
    np.testing.assert_array_equal(cf.ops.dropout(x, 0.5, 1, training=False), x)


@pytest.mark.kernels
def test_nan_propagates_through_dropout():
    x = np.array([[np.nan, 1.0, -1.0]])
    assert np.isnan(cf.ops.dropout(x, 0.999999, 1)[0, 0])  # 0 * NaN stays NaN
