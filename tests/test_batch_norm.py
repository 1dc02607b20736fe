"""Batch normalization (ops/batch_norm.py) against the reference, in float64 gradient checks,
and the running statistics as PyTorch keeps them. (The eval-mode backward, on both
devices: tests/test_backend.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient

DTYPES = [np.float32, np.float64]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (16, 5), (4, 3, 5, 5), (8, 32, 7, 7), (3, 2, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_reference(shape, affine, dtype, rng):
    assert_all_ok(checks.check_batch_norm(rng, dtype, shape, affine))


@pytest.mark.kernels
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 3, 3)])
def test_batch_norm_gradients_match_finite_differences(shape, rng):
    x = rng.standard_normal(shape)
    g, b = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    dy = rng.standard_normal(shape)
    _, mean, invstd = cf.ops.batch_norm_train(x, g, b)
    dx, dg, db = cf.ops.batch_norm_backward(x, dy, mean, invstd, g)
    assert_gradient("dx", lambda v: cf.ops.batch_norm_train(v, g, b)[0], x, dy, dx)
    assert_gradient("dweight", lambda v: cf.ops.batch_norm_train(x, v, b)[0], g, dy, dg)
    assert_gradient("dbias", lambda v: cf.ops.batch_norm_train(x, g, v)[0], b, dy, db)


@pytest.mark.kernels
def test_batch_norm_updates_running_stats_like_pytorch(rng):
    x = rng.standard_normal((16, 3, 4, 4)) * 2 + 1
    rm, rv = np.zeros(3), np.ones(3)
    y = cf.ops.batch_norm(x, rm, rv, training=True, momentum=0.1)
    np.testing.assert_allclose(rm, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-10)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-10)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    rrm, rrv = np.zeros(3), np.ones(3)
    cf.reference.batch_norm(x, rrm, rrv, training=True, momentum=0.1)
    np.testing.assert_allclose(rm, rrm, rtol=1e-12)
    np.testing.assert_allclose(rv, rrv, rtol=1e-10)
    y_eval = cf.ops.batch_norm(x, rm, rv, training=False)
    np.testing.assert_allclose(
        y_eval, (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
    )


@pytest.mark.kernels
def test_batch_norm_empty_batch_leaves_running_stats():
    rm, rv = np.zeros(3), np.ones(3)
    y = cf.ops.batch_norm(np.zeros((0, 3, 2, 2)), rm, rv, training=True)
    assert y.shape == (0, 3, 2, 2)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)
    _, mean, invstd = cf.ops.batch_norm_train(np.zeros((0, 3)))
    assert np.isnan(mean).all() and np.isnan(invstd).all()


class CountingArray(np.ndarray):
    """An ndarray that counts its copy() calls."""

    copies = 0

    def copy(self, *args, **kwargs):  # type: ignore[override]
        CountingArray.copies += 1
        return np.asarray(self).copy(*args, **kwargs)


def test_eval_batch_norm_keeps_the_statistics_only_for_a_backward(rng):
    """Inference (no_grad, or nothing requiring a gradient) saves nothing for a
    backward; with a graph, the statistics as the forward used them are kept, so a
    later in-place update cannot change the gradient."""
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    mean = rng.standard_normal(3).astype(np.float32).view(CountingArray)
    var = rng.uniform(0.5, 2, 3).astype(np.float32).view(CountingArray)
    F = cf.nn.functional
    CountingArray.copies = 0
    with cf.no_grad():
        y = F.batch_norm(cf.tensor(x, requires_grad=True), mean, var, training=False)
    F.batch_norm(cf.tensor(x), mean, var, training=False)
    assert CountingArray.copies == 0 and not y.requires_grad
    xt = cf.tensor(x, requires_grad=True)
    y = F.batch_norm(xt, mean, var, training=False)
    assert CountingArray.copies == 2
    expected = cf.ops.batch_norm_inference_backward(x, np.ones_like(x), mean, var)[0]
    mean += 1.0  # (as a training step would, in place)
    y.sum().backward()
    np.testing.assert_array_equal(xt.grad, expected)
