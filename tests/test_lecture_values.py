"""Exact values the lectures compute by hand (DESIGN.md, "Known values")."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast._args import output_size

IMAGE = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.float32).reshape(1, 1, 3, 3)
ONES_2X2 = np.ones((1, 1, 2, 2), np.float32)


@pytest.mark.kernels
@pytest.mark.parametrize("impl", [cf.ops, cf.reference], ids=["ops", "reference"])
def test_valid_and_same_convolution_of_the_3x3_image(impl):
    np.testing.assert_array_equal(
        impl.conv2d(IMAGE, ONES_2X2, padding="valid")[0, 0], [[12, 16], [24, 28]]
    )
    np.testing.assert_array_equal(
        impl.conv2d(IMAGE, ONES_2X2, padding="same")[0, 0], [[12, 16, 9], [24, 28, 15], [15, 17, 9]]
    )


@pytest.mark.kernels
@pytest.mark.parametrize("impl", [cf.ops, cf.reference], ids=["ops", "reference"])
def test_three_filters_scale_the_map(impl):
    w = np.stack([np.ones((1, 2, 2)), 10 * np.ones((1, 2, 2)), -np.ones((1, 2, 2))]).astype(
        np.float32
    )
    y = impl.conv2d(IMAGE, w, padding="same")[0]
    base = np.array([[12, 16, 9], [24, 28, 15], [15, 17, 9]])
    np.testing.assert_array_equal(y, np.stack([base, 10 * base, -base]))


@pytest.mark.kernels
@pytest.mark.parametrize("impl", [cf.ops, cf.reference], ids=["ops", "reference"])
def test_max_pool_2x2_stride_1(impl):
    x = np.array([[4, 3], [2, 1]], np.float32).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(impl.max_pool2d(x, 2, 1, padding="valid")[0, 0], [[4]])
    np.testing.assert_array_equal(impl.max_pool2d(x, 2, 1, padding="same")[0, 0], [[4, 3], [2, 1]])


@pytest.mark.kernels
@pytest.mark.parametrize("impl", [cf.ops, cf.reference], ids=["ops", "reference"])
def test_8x7_image_3x3_ones_stride_2(impl):
    r, c = np.meshgrid(np.arange(8), np.arange(7), indexing="ij")
    x = (10 * r + c + 1).astype(np.float64).reshape(1, 1, 8, 7)  # rows 1..7, 11..17, ...
    y = impl.conv2d(x, np.ones((1, 1, 3, 3)), stride=2)[0, 0]
    assert y.shape == (3, 3)
    np.testing.assert_array_equal(y[:2, :2], [[108, 126], [288, 306]])


def test_output_sizes():
    assert output_size(227, 11, 4, 1, 0, 0) == 55
    assert output_size(7, 3, 2, 1, 1, 1) == 4
    assert output_size(25, 5, 2, 1, 0, 0) == 11
    assert output_size(11, 3, 2, 1, 1, 1) == 6
    assert cf.ops.conv2d(
        np.zeros((1, 3, 227, 227), np.float32), np.zeros((96, 3, 11, 11), np.float32), stride=4
    ).shape == (1, 96, 55, 55)
    assert cf.ops.max_pool2d(np.zeros((1, 1, 11, 11)), 3, 2, 1).shape == (1, 1, 6, 6)
