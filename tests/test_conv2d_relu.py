"""conv2d with ReLU fused into its store (ops.conv2d relu=True, nn.Sequential's Conv2d
then ReLU): exactly ReLU of the unfused result, for every algorithm, gradients included."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import nn
from cnnfast.nn import functional as F
from helpers import assert_gradient, conv_algorithm
from test_conv2d import CASES

ALGORITHMS = ["auto", "im2col", "direct", "taps", "winograd", "winograd4", "expand", "expand4"]


@pytest.mark.kernels
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_relu_is_relu_of_the_same_sum(algorithm, dtype, rng):
    # The same algorithm computes the same sums either way, so ReLU in the store must
    # give ReLU of the stored result bit for bit (and that one matches the reference
    # within its derived bound: test_conv2d.py).
    mixed = 0  # results with both signs, where ReLU changes something
    for x_shape, w_shape, stride, padding, dilation, groups in CASES:
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        for b in (None, rng.standard_normal(w_shape[0]).astype(dtype)):
            with conv_algorithm(algorithm):
                fused = cf.ops.conv2d(x, w, b, **kw, relu=True)
                plain = cf.ops.conv2d(x, w, b, **kw)
            assert fused.dtype == dtype
            mixed += bool((plain < 0).any() and (plain > 0).any())
            np.testing.assert_array_equal(
                fused, cf.ops.relu(plain), err_msg=str((x_shape, w_shape, kw))
            )
    assert mixed >= len(CASES), f"ReLU changed only {mixed} of {2 * len(CASES)} results"


@pytest.mark.kernels
@pytest.mark.parametrize("algorithm", ["winograd", "winograd4", "expand", "auto"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fused_relu_keeps_the_exact_sums_non_finite_values(algorithm, bad, rng):
    # Winograd's tiles spread a non-finite input beyond its receptive field; unfused,
    # the result is scanned and recomputed, but ReLU would turn a spread -Inf into a
    # silent 0. The fused pass must give ReLU of the exact sum's results (the same
    # non-finite values; the finite ones within rounding of another order of sums).
    x = rng.standard_normal((4, 8, 12, 12))
    w = np.abs(rng.standard_normal((6, 8, 3, 3))) + 0.1  # every product keeps x's sign
    x[1, 3, 5, 6] = bad
    b = rng.standard_normal(6)
    with conv_algorithm("im2col"):
        exact = cf.ops.relu(cf.ops.conv2d(x, w, b, padding=1))
    with conv_algorithm(algorithm):
        fused = cf.ops.conv2d(x, w, b, padding=1, relu=True)
    np.testing.assert_array_equal(np.isnan(fused), np.isnan(exact))
    np.testing.assert_array_equal(np.isinf(fused), np.isinf(exact))
    np.testing.assert_allclose(fused, exact, rtol=1e-12, atol=1e-12)
    if bad == -np.inf:  # the window's outputs are ReLU(-Inf) = 0, the rest finite
        assert np.isfinite(fused).all() and (fused[1][:, 4:7, 5:8] == 0).all()


def test_relu_must_be_a_bool(rng):
    x, w = rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((1, 1, 3, 3))
    with pytest.raises(TypeError, match="conv2d: relu must be a bool"):
        cf.ops.conv2d(x, w, relu="yes")


@pytest.mark.kernels
def test_fused_relu_gradients_match_finite_differences(rng):
    x, w, b = (
        rng.standard_normal((2, 3, 7, 7)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    kw = dict(stride=1, padding=1)
    xt, wt, bt = (cf.tensor(v, requires_grad=True) for v in (x, w, b))
    y = F.conv2d(xt, wt, bt, **kw, relu=True)
    dy = rng.standard_normal(y.shape)
    (y * cf.tensor(dy)).sum().backward()
    assert_gradient("dx", lambda v: cf.ops.conv2d(v, w, b, **kw, relu=True), x, dy, xt.grad)
    assert_gradient("dw", lambda v: cf.ops.conv2d(x, v, b, **kw, relu=True), w, dy, wt.grad)
    assert_gradient("db", lambda v: cf.ops.conv2d(x, w, v, **kw, relu=True), b, dy, bt.grad)


def _outputs_and_gradients(model: nn.Module, x: np.ndarray, fused: bool) -> list[np.ndarray]:
    xt = cf.tensor(x, requires_grad=True)
    if fused:
        y = model(xt)
    else:  # the layers one by one: nothing fused
        y = xt
        for layer in model:
            y = layer(y)
    (y * y).sum().backward()
    grads = [xt.grad] + [p.grad for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    return [y.data, *grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequential_fuses_conv_then_relu_exactly(dtype, rng):
    # horzyk-cifar10's pattern: Conv2d, ReLU, Conv2d, ReLU, MaxPool2d (the second ReLU
    # goes into the pool's pass), then a last Conv2d, ReLU at the end of the list.
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 4, 3, padding="same"),
        nn.ReLU(),
    )
    for p in model.parameters():
        p.data = p.data.astype(dtype) + (0.1 if p.data.ndim == 1 else 0.0)
    x = rng.standard_normal((3, 3, 12, 12)).astype(dtype)
    for got, want in zip(
        _outputs_and_gradients(model, x, True), _outputs_and_gradients(model, x, False)
    ):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
