"""Per-channel bias, ReLU, tanh and sigmoid (ops/activation.py) against the reference, in float64
gradient checks, and float32 tanh (csrc/fast_math.h) to 2 ulp on every ISA."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (3, 7), (2, 3, 5, 5), (4, 16, 13, 13), (2, 5, 3), (64, 128), (2, 300, 20, 20)]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_activations_match_reference(shape, dtype, rng):
    assert_all_ok(checks.check_activations(rng, dtype, shape))


@pytest.mark.kernels
def test_activation_gradients_match_finite_differences(rng):
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


@pytest.mark.kernels
def test_nan_propagates_through_activations():
    x = np.array([[np.nan, 1.0, -1.0]])
    assert np.isnan(cf.ops.relu(x)[0, 0]) and np.isnan(cf.ops.tanh(x)[0, 0])
    assert np.isnan(cf.ops.sigmoid(x)[0, 0])


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
