"""conv2d layers rewritten for Winograd (csrc/conv2d/conv2d_winograd_expand.cpp: strides as
phase channels, larger kernels as 3x3 blocks over shifted inputs, groups one by one),
forced on with F(2x2, 3x3) and F(4x4, 3x3): forward and stride-1 backward-input
against the reference, with bounds derived for the problem actually computed, and
the automatic choice."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, conv_algorithm

# (x shape, w shape, stride, padding, groups): AlexNet's 11x11 stride 4 (smaller),
# 5x5 (four 3x3 blocks), 2x2 and 4x4, 7x1, grouped 3x3, odd strides with padding,
# a padding larger than the kernel's reach (the backward problem crops).
CASES = [
    ((2, 3, 35, 35), (6, 3, 11, 11), 4, 0, 1),
    ((2, 5, 11, 9), (7, 5, 5, 5), 1, 2, 1),
    ((1, 4, 8, 8), (4, 4, 2, 2), 1, "same", 1),
    ((2, 3, 9, 10), (5, 3, 4, 4), 1, 0, 1),
    ((2, 2, 12, 6), (3, 2, 7, 1), 1, (3, 3, 0, 0), 1),
    ((2, 8, 7, 7), (6, 4, 3, 3), 1, 1, 2),
    ((1, 6, 13, 13), (6, 2, 5, 5), 1, 2, 3),
    ((2, 3, 10, 11), (4, 3, 3, 3), 2, 1, 1),
    ((1, 2, 9, 9), (3, 2, 5, 3), (3, 2), (1, 2, 0, 1), 1),
    ((1, 3, 6, 6), (2, 3, 2, 2), 1, 3, 1),
]


def _case_id(c) -> str:
    return f"{c[0]}-{c[1]}-s{c[2]}-p{c[3]}-g{c[4]}"


@pytest.mark.kernels
@pytest.mark.parametrize("variant", ["expand", "expand4"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_expanded_winograd_matches_reference(case, dtype, variant, isa, rng):
    x_shape, w_shape, stride, padding, groups = case
    kw = dict(stride=stride, padding=padding, groups=groups)
    with conv_algorithm(variant):
        algo = cf.ops.conv2d_algorithm
        assert algo(x_shape, w_shape, **kw) == variant
        if stride == 1:
            assert algo(x_shape, w_shape, **kw, pass_="backward_input") == variant
        assert_all_ok(checks.check_conv2d(rng, dtype, x_shape, w_shape, stride, padding, 1, groups))


@pytest.mark.kernels
def test_auto_expands_only_where_it_pays():
    with conv_algorithm("auto"):
        algo = cf.ops.conv2d_algorithm
        assert algo((8, 3, 227, 227), (96, 3, 11, 11), stride=4) == "expand4"  # AlexNet conv1
        assert algo((8, 96, 27, 27), (256, 48, 5, 5), padding=2, groups=2) == "expand4"
        assert algo((8, 384, 13, 13), (384, 192, 3, 3), padding=1, groups=2) == "expand"
        assert algo((16, 48, 19, 19), (192, 48, 5, 5), padding=2) == "expand4"  # alphago conv1
        # Its backward-input has 48 output channels: expanding does not pay.
        back = dict(padding=2, pass_="backward_input")
        assert algo((16, 48, 19, 19), (192, 48, 5, 5), **back) == "im2col"
        assert algo((128, 6, 14, 14), (16, 6, 5, 5)) == "direct"  # few output channels
        assert algo((128, 3, 32, 32), (16, 3, 2, 2), padding="same") == "im2col"  # a first layer
        assert algo((16, 192, 19, 19), (1, 192, 1, 1)) == "im2col"
        assert algo((8, 3, 227, 227), (96, 3, 11, 11), stride=4, pass_="backward_input") == "im2col"
