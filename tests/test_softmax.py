"""Softmax, log-softmax and cross-entropy (ops/softmax.py) against the reference, in float64
gradient checks, and their stability and NaN propagation."""

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
    "shape,axis",
    [
        ((1, 1), -1),
        ((7, 10), -1),
        ((128, 361), 1),
        ((3, 4, 5), 1),
        ((3, 4, 5), 0),
        ((5,), 0),
        ((2, 1000), -1),
    ],
)
def test_softmax_matches_reference(shape, axis, dtype, rng):
    assert_all_ok(checks.check_softmax(rng, dtype, shape, axis))


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n,c", [(1, 1), (1, 10), (128, 10), (7, 361)])
def test_cross_entropy_matches_reference(n, c, reduction, soft, dtype, rng):
    assert_all_ok(checks.check_cross_entropy(rng, dtype, n, c, soft, reduction))


@pytest.mark.kernels
def test_softmax_gradients_match_finite_differences(rng):
    x = rng.standard_normal((2, 3, 4))
    dy = rng.standard_normal(x.shape)
    for axis in (-1, 1):
        assert_gradient(
            "softmax",
            lambda v, a=axis: cf.ops.softmax(v, a),
            x,
            dy,
            cf.ops.softmax_backward(cf.ops.softmax(x, axis), dy, axis),
        )
        assert_gradient(
            "log_softmax",
            lambda v, a=axis: cf.ops.log_softmax(v, a),
            x,
            dy,
            cf.ops.log_softmax_backward(cf.ops.log_softmax(x, axis), dy, axis),
        )


@pytest.mark.kernels
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradient_matches_finite_differences(reduction, rng):
    logits = 2 * rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    probs = rng.random((5, 4))
    probs /= probs.sum(axis=1, keepdims=True)
    dloss = rng.standard_normal(5) if reduction == "none" else np.array(1.3)
    for target in (labels, probs):
        assert_gradient(
            f"ce {target.dtype}",
            lambda v, t=target: np.asarray(cf.ops.cross_entropy(v, t, reduction)),
            logits,
            dloss,
            cf.ops.cross_entropy_backward(logits, target, reduction, dloss),
        )


@pytest.mark.kernels
def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]], np.float32)
    y = cf.ops.softmax(x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
    loss = cf.ops.cross_entropy(x, np.array([2, 0]))
    assert np.isfinite(loss) and loss < 1


@pytest.mark.kernels
def test_nan_propagates_through_softmax_and_cross_entropy():
    x = np.array([[np.nan, 1.0, -1.0]])
    assert np.isnan(cf.ops.softmax(x)).all()
    assert np.isnan(cf.ops.cross_entropy(x, np.array([1])))
