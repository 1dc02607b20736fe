"""Max pooling with one-byte argmax codes, alone and fused with a preceding ReLU: the
kernels (incl. the AVX2 2x2 path and its masked row tails) against the reference, the
fused autograd path against the unfused one, and bad codes."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks, nn
from helpers import assert_all_ok

# Widths 2..40 give rows of 1..20 outputs: full groups of 8 and every masked tail.
WIDTHS = list(range(2, 41, 3))


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("W", WIDTHS)
def test_2x2_rows_of_every_width_match_reference(W, dtype, isa, rng):
    H = 2 + W % 5  # odd and even heights
    assert_all_ok(checks.check_max_pool2d(rng, dtype, (2, 3, H, W), 2))


def _tricky(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Integers (ties everywhere), zeros of both signs, NaN and +-inf."""
    x = rng.integers(-2, 3, shape).astype(dtype)
    flat = x.reshape(-1)
    for value in (np.nan, np.inf, -np.inf, -0.0):
        flat[rng.integers(0, flat.size, max(1, flat.size // 50))] = value
    return x


@pytest.mark.kernels
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape,kernel,stride,padding",
    [
        ((2, 4, 26, 26), 2, None, 0),
        ((3, 2, 11, 37), 2, None, 0),
        ((1, 3, 13, 13), 3, 2, 1),
        ((2, 2, 7, 7), 2, 2, "same"),
    ],
)
def test_ties_nan_inf_and_signed_zeros(shape, kernel, stride, padding, relu, dtype, isa, rng):
    x = _tricky(rng, shape, dtype)
    kw = dict(kernel_size=kernel, stride=stride, padding=padding)
    y, code = cf.ops.max_pool2d_argmax(x, **kw, relu=relu)
    ry, rcode = cf.reference.max_pool2d_argmax(x, **kw, relu=relu)
    np.testing.assert_array_equal(y, ry)  # NaN == NaN here
    np.testing.assert_array_equal(code, rcode)
    dy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(
        cf.ops.max_pool2d_backward_argmax(code, dy, x.shape, **kw),
        cf.reference.max_pool2d_backward_argmax(rcode, dy, x.shape, **kw),
    )


@pytest.mark.kernels
def test_codes_agree_with_the_plain_kernel_and_its_indices(rng):
    x = rng.standard_normal((2, 3, 27, 27)).astype(np.float32)
    y, code = cf.ops.max_pool2d_argmax(x, 3, 2, 1)
    y0, idx = cf.ops.max_pool2d(x, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(y, y0)
    oh = np.arange(y.shape[2]).reshape(-1, 1)
    ow = np.arange(y.shape[3]).reshape(1, -1)
    h, w = oh * 2 - 1 + code // 3, ow * 2 - 1 + code % 3
    np.testing.assert_array_equal(h * 27 + w, idx)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(
        cf.ops.max_pool2d_backward_argmax(code, dy, x.shape, 3, 2, 1),
        cf.ops.max_pool2d_backward(x, dy, 3, 2, 1),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.kernels
def test_relu_fusion_blocks_exactly_the_non_positive_maxima():
    x = np.array([[[[-1.0, -2.0], [-3.0, -4.0]]]], np.float32)  # max -1: no gradient
    x = np.concatenate([x, -x], axis=3)  # second window: max 4
    y, code = cf.ops.max_pool2d_argmax(x, 2, relu=True)
    np.testing.assert_array_equal(y[0, 0, 0], [0.0, 4.0])
    np.testing.assert_array_equal(code[0, 0, 0], [255, 3])
    y, code = cf.ops.max_pool2d_argmax(np.zeros((1, 1, 2, 2), np.float32), 2, relu=True)
    assert y.item() == 0 and code.item() == 255  # relu'(0) = 0, as in relu_backward


@pytest.mark.kernels
def test_corrupt_codes_cannot_write_out_of_bounds():
    dy = np.ones((1, 1, 2, 2), np.float32)
    bad = np.full((1, 1, 2, 2), 8, np.uint8)  # 3x3 window has cells 0..8; 8 is fine ...
    bad[0, 0, 1, 1] = 9  # ... 9 is not
    with pytest.raises(ValueError, match="names no cell"):
        cf.ops.max_pool2d_backward_argmax(bad, dy, (1, 1, 4, 4), 3, 2, 1)
    corner = np.zeros((1, 1, 2, 2), np.uint8)  # cell 0 of window (0, 0) is padding
    with pytest.raises(ValueError, match="names no cell"):
        cf.ops.max_pool2d_backward_argmax(corner, dy, (1, 1, 4, 4), 3, 2, 1)
    # The 2x2 path reads codes only by comparison: an unknown one passes no gradient.
    odd = np.array([[[[7, 1]]]], np.uint8)
    dx = cf.ops.max_pool2d_backward_argmax(odd, np.ones((1, 1, 1, 2), np.float32), (1, 1, 2, 4), 2)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0, 1], [0, 0, 0, 0]])


def test_bad_arguments_are_named():
    x = np.zeros((1, 1, 20, 20), np.float32)
    with pytest.raises(ValueError, match="256 cells"):
        cf.ops.max_pool2d_argmax(x, 16)
    with pytest.raises(TypeError, match="argmax must be uint8"):
        cf.ops.max_pool2d_backward_argmax(
            np.zeros((1, 1, 10, 10)), np.zeros((1, 1, 10, 10)), x.shape, 2
        )
    with pytest.raises(ValueError, match="argmax"):
        cf.ops.max_pool2d_backward_argmax(
            np.zeros((1, 1, 9, 10), np.uint8), np.zeros((1, 1, 10, 10)), x.shape, 2
        )
    with pytest.raises(ValueError, match="x_shape"):
        cf.ops.max_pool2d_backward_argmax(
            np.zeros((1, 1), np.uint8), np.zeros((1, 1)), (1, 20, 20), 2
        )


def _two_ways(rng: np.random.Generator, dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Output and gradients of conv -> ReLU -> MaxPool2d -> dense, fused (Sequential)
    and unfused (the same layers called one by one)."""
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 5 * 5, 3)
    ).astype(dtype)
    x = cf.tensor(rng.standard_normal((3, 2, 12, 12)).astype(dtype))
    results = []
    for fused in (True, False):
        for p in model.parameters():
            p.grad = None
        if fused:
            out = model(x)
        else:
            out = x
            for layer in model:
                out = layer(out)
        out.sum().backward()
        results.append([out.data] + [p.grad for p in model.parameters()])
    return results[0], results[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequential_fuses_relu_and_max_pool_exactly(dtype, rng):
    fused, unfused = _two_ways(rng, dtype)
    for a, b in zip(fused, unfused):
        np.testing.assert_array_equal(a, b)


def test_fused_gradient_matches_finite_differences(rng):
    x = rng.standard_normal((2, 2, 6, 6))
    g = rng.standard_normal((2, 2, 3, 3))
    t = cf.tensor(x, requires_grad=True)
    (nn.functional.relu_max_pool2d(t, 2) * cf.tensor(g)).sum().backward()
    eps, num = 1e-6, np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        f = [(cf.reference.max_pool2d(np.maximum(x + s * d, 0), 2) * g).sum() for s in (1, -1)]
        num[i] = (f[0] - f[1]) / (2 * eps)
    np.testing.assert_allclose(t.grad, num, rtol=1e-6, atol=1e-8)
