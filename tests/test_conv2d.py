"""conv2d forward and backward against the reference, finite differences, and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient, conv_algorithm, num_threads

# (x shape, w shape, stride, padding, dilation, groups): each row hits an edge.
CASES = [
    ((1, 1, 5, 5), (1, 1, 1, 1), 1, 0, 1, 1),  # smallest, pointwise path
    ((2, 1, 28, 28), (4, 1, 3, 3), 1, 0, 1, 1),  # 1-channel first layer
    ((2, 3, 13, 11), (5, 3, 5, 5), 1, 2, 1, 1),  # 3 channels, odd sizes
    ((1, 3, 35, 35), (6, 3, 11, 11), 4, 0, 1, 1),  # AlexNet's 11x11 stride 4
    ((2, 7, 9, 9), (3, 7, 2, 2), 1, "same", 1, 1),  # 2x2 SAME: odd total padding
    ((2, 5, 8, 7), (4, 5, 3, 3), 2, "same", 1, 1),  # SAME with stride 2
    ((2, 5, 8, 7), (4, 5, 3, 3), 1, "valid", 1, 1),
    ((1, 4, 7, 9), (4, 4, 3, 3), 1, (1, 2, 0, 1), 1, 1),  # 4-tuple padding
    ((2, 4, 9, 9), (6, 4, 3, 3), 1, (2, 1), 1, 1),  # pair padding
    ((2, 6, 9, 9), (6, 2, 3, 3), 1, 1, 1, 3),  # groups
    ((2, 8, 7, 7), (8, 1, 3, 3), 1, 1, 1, 8),  # depthwise
    ((2, 8, 7, 7), (16, 1, 3, 3), 2, 1, 1, 8),  # depthwise, multiplier 2
    ((1, 3, 12, 12), (2, 3, 3, 3), 1, 0, 2, 1),  # dilation
    ((1, 3, 15, 12), (2, 3, 3, 2), 1, 2, (3, 2), 1),  # anisotropic dilation
    ((2, 3, 10, 10), (4, 3, 2, 2), 3, 0, 1, 1),  # stride > kernel
    ((1, 2, 11, 11), (3, 2, 1, 1), 2, 0, 1, 1),  # 1x1 with stride
    ((3, 16, 6, 6), (32, 16, 1, 1), 1, 0, 1, 1),  # 1x1 pointwise, batch > threads
    ((1, 64, 5, 5), (70, 64, 3, 3), 1, 1, 1, 1),  # reduction 576 > GEMM KC
    ((3, 33, 6, 5), (17, 33, 3, 3), 1, "valid", 1, 1),  # odd channel counts
    ((1, 1, 8, 8), (1, 1, 8, 8), 1, 0, 1, 1),  # kernel as large as the input
    ((5, 16, 5, 5), (120, 16, 5, 5), 1, 0, 1, 1),  # lenet5's C5: the dense-layer path
    ((2, 3, 4, 4), (7, 3, 4, 4), 3, 0, 1, 1),  # dense, stride irrelevant
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 0, 2, 1),  # one output, but dilated: not dense
    ((2, 3, 7, 7), (2, 3, 7, 7), 1, 3, 1, 1),
    ((1, 2, 5, 6), (3, 2, 4, 9), 1, (0, 0, 2, 2), 1, 1),  # kernel wider than the input
    ((2, 2, 19, 19), (4, 2, 5, 5), 1, 2, 1, 1),  # AlphaGo's first layer shape
    ((5, 3, 6, 6), (4, 3, 3, 3), (2, 1), (0, 1), 1, 1),  # anisotropic stride
]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-s{c[2]}-p{c[3]}" for c in CASES])
def test_conv2d_matches_reference(case, dtype, isa, rng):
    x_shape, w_shape, stride, padding, dilation, groups = case
    for bias in (True, False):
        assert_all_ok(
            checks.check_conv2d(
                rng, dtype, x_shape, w_shape, stride, padding, dilation, groups, bias
            )
        )


GRAD_CASES = [
    ((1, 2, 5, 5), (3, 2, 3, 3), 1, 0, 1, 1),
    ((2, 2, 5, 6), (2, 2, 3, 2), 2, "same", 1, 1),
    ((1, 4, 6, 6), (4, 2, 3, 3), 1, (1, 0, 2, 1), 1, 2),
    ((1, 2, 7, 7), (2, 2, 3, 3), 2, 1, 2, 1),
    ((1, 3, 5, 5), (3, 1, 2, 2), 1, "same", 1, 3),
    ((3, 2, 3, 3), (4, 2, 3, 3), 1, 0, 1, 1),  # dense-layer path
]


@pytest.mark.kernels
@pytest.mark.parametrize("case", GRAD_CASES)
def test_conv2d_gradients_match_finite_differences(case, rng):
    x_shape, w_shape, stride, padding, dilation, groups = case
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    x, w, b = (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )
    dy = rng.standard_normal(cf.ops.conv2d(x, w, b, **kw).shape)
    dx, dw, db = cf.ops.conv2d_backward(x, w, dy, **kw)
    assert_gradient("dx", lambda v: cf.ops.conv2d(v, w, b, **kw), x, dy, dx)
    assert_gradient("dw", lambda v: cf.ops.conv2d(x, v, b, **kw), w, dy, dw)
    assert_gradient("db", lambda v: cf.ops.conv2d(x, w, v, **kw), b, dy, db)


@pytest.mark.kernels
def test_conv2d_backward_skips_unrequested_gradients(rng):
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    dy = rng.standard_normal((2, 4, 4, 4))
    full = cf.ops.conv2d_backward(x, w, dy)
    only_w = cf.ops.conv2d_backward(x, w, dy, need_input_grad=False, need_bias_grad=False)
    assert only_w[0] is None and only_w[2] is None
    np.testing.assert_array_equal(only_w[1], full[1])


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_empty_batch_gives_empty_results(dtype):
    x, w = np.zeros((0, 3, 8, 8), dtype), np.ones((4, 3, 3, 3), dtype)
    y = cf.ops.conv2d(x, w, np.ones(4, dtype), padding="same")
    assert y.shape == (0, 4, 8, 8) and y.dtype == dtype
    dx, dw, db = cf.ops.conv2d_backward(x, w, y, padding="same")
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
    np.testing.assert_array_equal(db, np.zeros(4, dtype))


@pytest.mark.kernels
def test_conv2d_zero_channels_gives_the_bias():
    x, w, b = np.zeros((2, 0, 5, 5)), np.zeros((3, 0, 3, 3)), np.array([1.0, 2.0, 3.0])
    y = cf.ops.conv2d(x, w, b)
    np.testing.assert_array_equal(y, np.broadcast_to(b.reshape(1, 3, 1, 1), (2, 3, 3, 3)))


# (x shape, w shape, padding, groups): an empty dimension each (found by fuzzing: a
# null workspace offset in im2col, a division by zero in the direct weight gradient).
EMPTY_CASES = {
    "no channels": ((3, 0, 5, 5), (2, 0, 1, 1), 1, 1),
    "no filters": ((1, 3, 6, 6), (0, 3, 2, 1), 4, 1),
    "no images": ((0, 2, 5, 5), (3, 2, 3, 3), 1, 1),
    "empty plane, padded": ((1, 2, 0, 0), (3, 2, 2, 1), 4, 1),
    "no channels or plane": ((1, 0, 0, 0), (0, 0, 2, 1), 4, 1),
    "no channels, groups": ((2, 0, 4, 4), (4, 0, 3, 3), 1, 2),
}


@pytest.mark.kernels
@pytest.mark.parametrize("algorithm", ["auto", "im2col", "direct", "taps", "winograd", "expand"])
@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_conv2d_with_an_empty_dimension_matches_the_reference(case, algorithm, rng):
    xs, ws, padding, groups = EMPTY_CASES[case]
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0])
    kw = dict(padding=padding, groups=groups)
    with conv_algorithm(algorithm):
        y = cf.ops.conv2d(x, w, b, **kw)
        np.testing.assert_array_equal(y, cf.reference.conv2d(x, w, b, **kw))
        dy = rng.standard_normal(y.shape)
        got = cf.ops.conv2d_backward(x, w, dy, **kw)
    for g, r in zip(got, cf.reference.conv2d_backward(x, w, dy, **kw)):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


@pytest.mark.kernels
def test_conv2d_non_contiguous_and_fortran_inputs_match_contiguous(rng):
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    expected = cf.ops.conv2d(x, w, padding=1)
    strided = np.zeros((2, 3, 20, 24), np.float32)
    strided[:, :, ::2, ::2] = x
    np.testing.assert_array_equal(cf.ops.conv2d(strided[:, :, ::2, ::2], w, padding=1), expected)
    np.testing.assert_array_equal(
        cf.ops.conv2d(np.asfortranarray(x), np.asfortranarray(w), padding=1), expected
    )
    dy = rng.standard_normal(expected.shape).astype(np.float32)
    for a, b in zip(
        cf.ops.conv2d_backward(np.asfortranarray(x), w, np.asfortranarray(dy), padding=1),
        cf.ops.conv2d_backward(x, w, dy, padding=1),
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.kernels
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_conv2d_propagates_nan_and_inf(bad, rng):
    x = rng.standard_normal((1, 2, 6, 6))
    w = np.abs(rng.standard_normal((3, 2, 3, 3))) + 0.1
    x[0, 1, 2, 3] = bad
    y = cf.ops.conv2d(x, w)
    r = cf.reference.conv2d(x, w)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(r))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(r))
    assert (~np.isfinite(y)).sum() == 3 * 3 * 3  # every output whose window holds it
    _, dw, _ = cf.ops.conv2d_backward(x, w, np.ones_like(y))
    assert np.isnan(dw).any() or np.isinf(dw).any()


@pytest.mark.kernels
def test_conv2d_is_deterministic_for_a_thread_count(rng):
    x = rng.standard_normal((8, 6, 12, 12)).astype(np.float32)
    w = rng.standard_normal((5, 6, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((8, 5, 10, 10)).astype(np.float32)
    first = cf.ops.conv2d_backward(x, w, dy)
    for _ in range(3):
        for a, b in zip(cf.ops.conv2d_backward(x, w, dy), first):
            np.testing.assert_array_equal(a, b)


@pytest.mark.kernels
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_conv2d_agrees_across_thread_counts(threads, rng):
    x = rng.standard_normal((5, 4, 9, 9))
    w = rng.standard_normal((6, 4, 3, 3))
    with num_threads(threads):
        y = cf.ops.conv2d(x, w, padding=1)
        grads = cf.ops.conv2d_backward(x, w, np.ones_like(y), padding=1)
    np.testing.assert_allclose(y, cf.reference.conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)
    for g, r in zip(grads, cf.reference.conv2d_backward(x, w, np.ones_like(y), padding=1)):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-11)


@pytest.mark.kernels
def test_conv2d_scratch_allocation_failure_is_a_memory_error():
    """The unrolled patches here would need ~1 TB per thread: the allocation fails inside
    the threaded region and must come back as MemoryError, not abort the interpreter."""
    x = np.zeros((2, 10000, 1, 1), np.float32)
    w = np.zeros((1, 10000, 1, 1), np.float32)
    with pytest.raises(MemoryError):
        cf.ops.conv2d(x, w, padding=2500)
