"""Max, average and global pooling against the reference, finite differences, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient

# (x shape, kernel, stride, padding, ceil_mode)
CASES = [
    ((2, 3, 26, 26), 2, None, 0, False),  # the lectures' 2x2 max pool
    ((2, 3, 27, 27), 2, None, 0, False),  # odd input: last row dropped
    ((2, 3, 27, 27), 2, None, 0, True),  # ... or kept with ceil_mode
    ((1, 4, 55, 55), 3, 2, 0, False),  # AlexNet's overlapping 3x3 stride 2
    ((1, 2, 11, 11), 3, 2, 1, False),  # 11x11 -> 6x6 (DESIGN.md)
    ((1, 2, 11, 11), 3, 2, 1, True),
    ((2, 3, 7, 7), 2, 2, "same", False),  # TF SAME, 7 -> 4
    ((2, 3, 5, 5), 2, 1, "same", False),  # SAME stride 1: extra row at the bottom
    ((2, 3, 5, 5), 3, 1, "same", False),
    ((1, 1, 9, 8), (3, 2), (2, 3), (1, 0, 1, 1), True),  # asymmetric everything
    ((1, 2, 6, 9), (2, 4), (1, 3), (1, 2), False),
    ((3, 5, 8, 8), 1, 1, 0, False),  # 1x1 pooling is the identity
    ((1, 1, 4, 4), 4, None, 0, False),  # kernel as large as the input
    ((2, 3, 10, 10), 2, 3, 0, True),  # stride > kernel
    ((1, 16, 13, 13), 5, 3, 2, True),
    # ceil_mode windows that overhang the padded input, as PyTorch allows (its output
    # size decides): kernel 2 stride 2 on a width of 1 gives one output.
    ((1, 2, 1, 1), 2, 2, 0, True),
    ((2, 3, 3, 5), 4, 3, 1, True),
    ((1, 1, 2, 3), 3, 2, 1, True),
    ((1, 1, 1, 3), (2, 2), (2, 2), 0, True),
    ((2, 2, 5, 1), (3, 2), (2, 3), (1, 0), True),
    # windows of more than 255 cells (no byte argmax codes)
    ((1, 2, 32, 32), 16, None, 0, False),
    ((1, 1, 17, 20), (16, 17), (1, 3), (8, 0), True),
]
IDS = [f"{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-ceil{c[4]}" for c in CASES]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_pool2d_matches_reference(case, dtype, rng):
    assert_all_ok(checks.check_max_pool2d(rng, dtype, *case))


@pytest.mark.kernels
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_avg_pool2d_matches_reference(case, dtype, count_include_pad, rng):
    assert_all_ok(checks.check_avg_pool2d(rng, dtype, *case, count_include_pad=count_include_pad))


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (4, 64, 8, 8), (1, 2, 1, 13)])
def test_global_avg_pool2d_matches_reference(shape, dtype, rng):
    assert_all_ok(checks.check_global_avg_pool2d(rng, dtype, shape))


GRAD_CASES = [
    ((1, 2, 6, 6), 2, None, 0, False),
    ((1, 2, 7, 7), 3, 2, 1, True),
    ((2, 1, 5, 6), (2, 3), (1, 2), "same", False),
]


@pytest.mark.kernels
@pytest.mark.parametrize("case", GRAD_CASES)
def test_pool_gradients_match_finite_differences(case, rng):
    shape, k, s, p, ceil = case
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
    x = rng.standard_normal(shape)
    dy = rng.standard_normal(cf.ops.max_pool2d(x, **kw).shape)
    assert_gradient(
        "max", lambda v: cf.ops.max_pool2d(v, **kw), x, dy, cf.ops.max_pool2d_backward(x, dy, **kw)
    )
    for cip in (True, False):
        assert_gradient(
            f"avg cip={cip}",
            lambda v, c=cip: cf.ops.avg_pool2d(v, **kw, count_include_pad=c),
            x,
            dy,
            cf.ops.avg_pool2d_backward(x, dy, **kw, count_include_pad=cip),
        )
    gdy = rng.standard_normal((*shape[:2], 1, 1))
    assert_gradient(
        "global", cf.ops.global_avg_pool2d, x, gdy, cf.ops.global_avg_pool2d_backward(x, gdy)
    )


@pytest.mark.kernels
def test_max_pool_padding_never_wins():
    x = -np.ones((1, 1, 3, 3)) * np.arange(1, 10).reshape(1, 1, 3, 3)
    y = cf.ops.max_pool2d(x, 3, 1, 1)
    assert (y < 0).all()  # padding would have given 0
    np.testing.assert_array_equal(y, cf.reference.max_pool2d(x, 3, 1, 1))


@pytest.mark.kernels
@pytest.mark.parametrize("stride", [1, 2, 2**32])
def test_padding_never_wins_against_minus_infinity(stride):
    # (found by fuzzing) the reference's argmax picked a padded cell when the input's
    # cells were -inf (equal to the padding), sending the gradient to another plane
    x = np.full((1, 2, 3, 3), -np.inf)
    x[0, 1] = [[-np.inf, 1.0, -np.inf], [2.0, -np.inf, 3.0], [-np.inf, -np.inf, -np.inf]]
    kw = dict(kernel_size=2, stride=stride, padding=1, ceil_mode=True)
    y = cf.ops.max_pool2d(x, **kw)
    dy = np.arange(1.0, y.size + 1).reshape(y.shape)
    dx = cf.ops.max_pool2d_backward(x, dy, **kw)
    np.testing.assert_array_equal(cf.reference.max_pool2d(x, **kw), y)
    np.testing.assert_array_equal(cf.reference.max_pool2d_backward(x, dy, **kw), dx)
    np.testing.assert_array_equal(dx.sum(axis=(2, 3)), dy.sum(axis=(2, 3)))  # none lost
    _, idx = cf.ops.max_pool2d(x, **kw, return_indices=True)
    np.testing.assert_array_equal(cf.reference.max_pool2d(x, **kw, return_indices=True)[1], idx)
    assert idx.min() >= 0


@pytest.mark.kernels
def test_max_pool_ties_go_to_the_first_maximum():
    x = np.ones((1, 1, 2, 2), np.float32)
    y, idx = cf.ops.max_pool2d(x, 2, return_indices=True)
    assert idx.item() == 0
    dx = cf.ops.max_pool2d_backward(x, np.ones_like(y), 2)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])


@pytest.mark.kernels
def test_max_pool_propagates_nan():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    y, idx = cf.ops.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 4
    assert np.isfinite(y[0, 0, 0, 1]) and np.isfinite(y[0, 0, 1]).all()
    assert np.isnan(cf.ops.avg_pool2d(x, 2)[0, 0, 0, 0])
    _, ridx = cf.reference.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(idx, ridx)


@pytest.mark.kernels
@pytest.mark.parametrize("op", ["max", "avg"])
def test_pool_inf_propagates(op):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 3, 3] = np.inf
    fn = cf.ops.max_pool2d if op == "max" else cf.ops.avg_pool2d
    y = fn(x, 2)
    assert np.isinf(y[0, 0, 1, 1]) and np.isfinite(y).sum() == 3


@pytest.mark.kernels
def test_pool_empty_batch_and_non_contiguous(rng):
    assert cf.ops.max_pool2d(np.zeros((0, 3, 6, 6), np.float32), 2).shape == (0, 3, 3, 3)
    assert cf.ops.avg_pool2d(np.zeros((0, 3, 6, 6)), 3, 1, 1).shape == (0, 3, 6, 6)
    assert cf.ops.max_pool2d_backward(np.zeros((0, 3, 6, 6)), np.zeros((0, 3, 3, 3)), 2).shape == (
        0,
        3,
        6,
        6,
    )
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for view in (np.asfortranarray(x), np.repeat(x, 2, axis=3)[:, :, :, ::2]):
        np.testing.assert_array_equal(cf.ops.max_pool2d(view, 2), cf.ops.max_pool2d(x, 2))
        np.testing.assert_array_equal(
            cf.ops.avg_pool2d(view, 3, 2, 1), cf.ops.avg_pool2d(x, 3, 2, 1)
        )


@pytest.mark.kernels
def test_avg_pool_count_include_pad_divisors():
    x = np.ones((1, 1, 3, 3))
    with_pad = cf.ops.avg_pool2d(x, 3, 1, 1, count_include_pad=True)
    without = cf.ops.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    np.testing.assert_allclose(
        with_pad[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9], [4 / 9, 6 / 9, 4 / 9]]
    )
    np.testing.assert_array_equal(without, np.ones_like(without))


@pytest.mark.kernels
def test_ceil_mode_overhang_follows_pytorchs_rule():
    """PyTorch accepts any window whose output size is >= 1 (the kernel may be larger
    than the padded input with ceil_mode); without ceil_mode the same is refused."""
    x = np.arange(1, 4, dtype=np.float64).reshape(1, 1, 1, 3)
    y = cf.ops.max_pool2d(x, 2, 2, ceil_mode=True)
    np.testing.assert_array_equal(y, [[[[2.0, 3.0]]]])
    a = cf.ops.avg_pool2d(x, 2, 2, ceil_mode=True)  # divisor: the window clipped to the input
    np.testing.assert_array_equal(a, [[[[1.5, 3.0]]]])
    with pytest.raises(ValueError, match="larger than the padded input"):
        cf.ops.max_pool2d(x, 2, 2, ceil_mode=False)
    with pytest.raises(ValueError, match="larger than the padded input"):
        cf.ops.max_pool2d(np.ones((1, 1, 1, 1)), 2, 2)


@pytest.mark.parametrize("fused", [False, True])
def test_large_windows_through_every_front(fused, rng):
    """An int kernel of 16 means 16x16 = 256 cells, one more than byte argmax codes
    hold: F.max_pool2d, nn.MaxPool2d and the fused ReLU + MaxPool2d keep x instead
    (they used to send it to the byte path and fail)."""
    x = rng.standard_normal((2, 3, 32, 35))
    t = cf.tensor(x, requires_grad=True)
    if fused:
        model = cf.nn.Sequential(cf.nn.ReLU(), cf.nn.MaxPool2d(16))
        y = model(t)
        expected = cf.reference.max_pool2d(np.maximum(x, 0), 16)
    else:
        y = cf.nn.functional.max_pool2d(t, 16)
        expected = cf.reference.max_pool2d(x, 16)
    np.testing.assert_array_equal(y.numpy(), expected)
    dy = rng.standard_normal(expected.shape)
    (y * cf.tensor(dy)).sum().backward()
    inner = np.maximum(x, 0) if fused else x
    want = cf.reference.max_pool2d_backward(inner, dy, 16)
    if fused:
        want = want * (x > 0)
    np.testing.assert_array_equal(t.grad, want)
    assert cf.ops.fits_argmax_window(15) and not cf.ops.fits_argmax_window(16)
    assert cf.ops.fits_argmax_window((1, 255)) and not cf.ops.fits_argmax_window((2, 128))
