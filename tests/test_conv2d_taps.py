"""conv2d as one GEMM per kernel tap and output row (csrc/conv2d/conv2d_taps.cpp), forced on
for every stride-1 shape here: all three passes against the reference with the usual
error bounds, on one and two threads, repeated runs bit for bit (threads split each
tap's rows, and different taps' output blocks overlap), and the automatic choice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from conv_cases import STRIDE_1_CASES, case_id
from helpers import assert_all_ok, conv_algorithm, num_threads


@pytest.fixture
def taps() -> Iterator[None]:
    with conv_algorithm("taps"):
        yield


@pytest.mark.kernels
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", STRIDE_1_CASES, ids=[case_id(c) for c in STRIDE_1_CASES])
def test_taps_match_reference(case, dtype, threads, isa, taps, rng):
    x_shape, w_shape, padding, dilation, groups = case
    kw = dict(padding=padding, dilation=dilation, groups=groups)
    for pass_ in ("forward", "backward_input", "backward_weight"):
        assert cf.ops.conv2d_algorithm(x_shape, w_shape, **kw, pass_=pass_) == "taps"
    with num_threads(threads):
        assert_all_ok(checks.check_conv2d(rng, dtype, x_shape, w_shape, 1, **kw))


@pytest.mark.kernels
def test_taps_repeat_bit_for_bit_on_two_threads(taps, rng):
    """Overlapping output blocks of different taps: a missing barrier between taps
    shows up as a run that differs from the others."""
    x = rng.standard_normal((1, 64, 5, 5)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((1, 64, 5, 5)).astype(np.float32)

    def passes() -> list[np.ndarray]:
        return [cf.ops.conv2d(x, w, padding=1), *cf.ops.conv2d_backward(x, w, dy, padding=1)[:2]]

    with num_threads(2):
        first = passes()
        for _ in range(50):
            for a, b in zip(first, passes()):
                np.testing.assert_array_equal(a, b)


@pytest.mark.kernels
def test_forcing_taps_leaves_strided_layers_to_im2col(taps):
    algo = cf.ops.conv2d_algorithm
    for pass_ in ("forward", "backward_input", "backward_weight"):
        assert algo((2, 3, 11, 11), (4, 3, 3, 3), stride=2, pass_=pass_) == "im2col"


@pytest.mark.kernels
def test_auto_uses_taps_on_small_maps_with_many_channels():
    with conv_algorithm("auto"):
        algo = cf.ops.conv2d_algorithm
        same = dict(padding="same")
        for pass_ in ("forward", "backward_input", "backward_weight"):  # horzyk-mnist's last convs
            assert algo((128, 256, 3, 3), (512, 256, 3, 3), **same, pass_=pass_) == "taps"
            assert algo((128, 128, 3, 3), (256, 128, 3, 3), **same, pass_=pass_) == "taps"
        # A valid 3x3 on a 5x5 map: its backward-input reads a 3x3 dy.
        assert algo((128, 64, 5, 5), (64, 64, 3, 3), pass_="backward_input") == "taps"
        assert algo((128, 64, 5, 5), (64, 64, 3, 3)) == "winograd"
        # 7x7 with 256 channels: direct's weight-gradient chunks would outgrow L2.
        assert algo((128, 256, 7, 7), (256, 256, 3, 3), **same, pass_="backward_weight") == "taps"
        assert algo((128, 256, 7, 7), (256, 256, 3, 3), **same) == "winograd4"
        assert algo((128, 64, 6, 6), (128, 64, 3, 3), **same) == "winograd"
        assert algo((128, 32, 3, 3), (64, 32, 3, 3), **same) == "winograd"  # too few channels


@pytest.mark.kernels
def test_auto_at_one_image_skips_what_a_batch_amortises():
    """Winograd's filter transforms and the taps' weight layouts are made on every
    call: at one image (inference) direct or im2col + GEMM run instead, the batch of
    128 keeps them (conv2d_algorithm.cpp has the measurements)."""
    with conv_algorithm("auto"):
        algo = cf.ops.conv2d_algorithm
        same = dict(padding="same")
        # keras-mnist-2conv's second convolution, tf-deep-cnn's third
        assert algo((1, 32, 13, 13), (64, 32, 3, 3)) == "direct"
        assert algo((128, 32, 13, 13), (64, 32, 3, 3)) == "winograd4"
        assert algo((1, 64, 7, 7), (128, 64, 3, 3), **same) == "direct"
        assert algo((128, 64, 7, 7), (128, 64, 3, 3), **same) == "winograd4"
        # horzyk-mnist's last two and horzyk-cifar10's 256-channel layers: im2col's GEMM
        assert algo((1, 256, 3, 3), (512, 256, 3, 3), **same) == "im2col"
        assert algo((1, 128, 3, 3), (256, 128, 3, 3), **same) == "im2col"
        assert algo((1, 256, 7, 7), (256, 256, 3, 3), **same) == "im2col"
        # enough tiles in one large image: Winograd still
        assert algo((1, 64, 30, 30), (64, 64, 3, 3)) == "winograd"
