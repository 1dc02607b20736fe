"""Bias, activations, softmax family, cross-entropy, dropout, batch norm and LRN."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient, num_threads

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (3, 7), (2, 3, 5, 5), (4, 16, 13, 13), (2, 5, 3), (64, 128), (2, 300, 20, 20)]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_activations_match_reference(shape, dtype, rng):
    assert_all_ok(checks.check_activations(rng, dtype, shape))


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
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_dropout_matches_reference(p, dtype, rng):
    for shape in [(1,), (3, 5), (4, 3, 7, 7), (128, 128)]:
        assert_all_ok(checks.check_dropout(rng, dtype, shape, p, int(rng.integers(0, 2**63))))


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (16, 5), (4, 3, 5, 5), (8, 32, 7, 7), (3, 2, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_reference(shape, affine, dtype, rng):
    assert_all_ok(checks.check_batch_norm(rng, dtype, shape, affine))


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


# --- finite differences in float64 ----------------------------------------------------------


@pytest.mark.kernels
def test_elementwise_gradients_match_finite_differences(rng):
    x = rng.standard_normal((2, 3, 4))
    dy = rng.standard_normal(x.shape)
    b = rng.standard_normal(3)
    assert_gradient(
        "bias_add b", lambda v: cf.ops.bias_add(x, v), b, dy, cf.ops.bias_add_backward(dy)
    )
    assert_gradient("relu", cf.ops.relu, x, dy, cf.ops.relu_backward(x, dy))
    assert_gradient("tanh", cf.ops.tanh, x, dy, cf.ops.tanh_backward(cf.ops.tanh(x), dy))
    assert_gradient(
        "sigmoid", cf.ops.sigmoid, x, dy, cf.ops.sigmoid_backward(cf.ops.sigmoid(x), dy)
    )
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
def test_dropout_gradient_matches_finite_differences(rng):
    x = rng.standard_normal((3, 8))
    dy = rng.standard_normal(x.shape)
    assert_gradient(
        "dropout", lambda v: cf.ops.dropout(v, 0.4, 7), x, dy, cf.ops.dropout_backward(dy, 0.4, 7)
    )


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


# --- semantics ------------------------------------------------------------------------------


@pytest.mark.kernels
def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]], np.float32)
    y = cf.ops.softmax(x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
    loss = cf.ops.cross_entropy(x, np.array([2, 0]))
    assert np.isfinite(loss) and loss < 1


@pytest.mark.kernels
def test_nan_propagates_through_elementwise_ops():
    x = np.array([[np.nan, 1.0, -1.0]])
    assert np.isnan(cf.ops.relu(x)[0, 0]) and np.isnan(cf.ops.tanh(x)[0, 0])
    assert np.isnan(cf.ops.sigmoid(x)[0, 0])
    assert np.isnan(cf.ops.softmax(x)).all()
    assert np.isnan(cf.ops.cross_entropy(x, np.array([1])))
    assert np.isnan(cf.ops.dropout(x, 0.999999, 1)[0, 0])  # 0 * NaN stays NaN


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


@pytest.mark.kernels
def test_float32_tanh_is_within_2_ulp_everywhere_and_the_same_on_every_isa(isa):
    """csrc/fast_math.h's tanh: a dense sweep through both branches and their seam
    (|x| = 0.625), the clamp (|x| = 10) and the specials."""
    x = np.concatenate(
        [
            np.linspace(-12, 12, 1_000_001, dtype=np.float32),
            np.float32([0.625, -0.625, np.nextafter(np.float32(0.625), 0), 9.1, 10, 1e-30]),
        ]
    )
    y = cf.ops.tanh(x)
    ref = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert (np.abs(y - ref) / ulp).max() <= 2
    specials = cf.ops.tanh(np.float32([np.nan, np.inf, -np.inf, -0.0, 88.0]))
    assert np.isnan(specials[0])
    np.testing.assert_array_equal(specials[1:], [1.0, -1.0, -0.0, 1.0])
    assert np.signbit(specials[3])
    before = cf._C.get_isa()
    try:
        cf._C.set_isa("generic")
        np.testing.assert_array_equal(cf.ops.tanh(x), y)
    finally:
        cf._C.set_isa(before)
