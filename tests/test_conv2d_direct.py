"""conv2d by the direct kernel (csrc/conv2d/conv2d_direct.cpp: a GEMM on shifted windows of
the padded input plane), forced on for every stride-1 shape here: forward and
backward-input against the reference with the usual error bounds, on both thread
paths (images per thread, and tiles per thread when images are fewer than threads),
and the automatic choice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from conv_cases import STRIDE_1_CASES, case_id
from helpers import assert_all_ok, conv_algorithm, num_threads


@pytest.fixture
def direct() -> Iterator[None]:
    with conv_algorithm("direct"):
        yield


@pytest.mark.kernels
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", STRIDE_1_CASES, ids=[case_id(c) for c in STRIDE_1_CASES])
def test_direct_matches_reference(case, dtype, threads, isa, direct, rng):
    x_shape, w_shape, padding, dilation, groups = case
    algo = cf.ops.conv2d_algorithm
    kw = dict(padding=padding, dilation=dilation, groups=groups)
    assert algo(x_shape, w_shape, **kw) == "direct"
    assert algo(x_shape, w_shape, **kw, pass_="backward_input") == "direct"
    assert algo(x_shape, w_shape, **kw, pass_="backward_weight") == "direct"
    with num_threads(threads):
        assert_all_ok(checks.check_conv2d(rng, dtype, x_shape, w_shape, 1, **kw))


@pytest.mark.kernels
def test_forcing_direct_leaves_strided_layers_to_im2col(direct):
    algo = cf.ops.conv2d_algorithm
    assert algo((2, 3, 11, 11), (4, 3, 3, 3), stride=2) == "im2col"
    assert algo((2, 3, 11, 11), (4, 3, 3, 3), stride=2, pass_="backward_input") == "im2col"
    assert algo((2, 3, 11, 11), (4, 3, 3, 3), stride=2, pass_="backward_weight") == "im2col"
    rng = np.random.default_rng(0)
    assert_all_ok(checks.check_conv2d(rng, np.float32, (2, 3, 11, 11), (4, 3, 3, 3), 2, 1))


@pytest.mark.kernels
def test_direct_result_matches_im2col_closely(rng):
    """Same sums in nearly the same order: float32 results within a few ulps of the
    result's range of each other, on a zoo shape (lenet5's C3)."""
    x = rng.standard_normal((16, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    out = {}
    for a in ("direct", "im2col"):
        with conv_algorithm(a):
            out[a] = cf.ops.conv2d(x, w)
    scale = float(np.abs(out["im2col"]).max())
    assert np.abs(out["direct"] - out["im2col"]).max() <= 1e-6 * scale


@pytest.mark.kernels
def test_auto_uses_direct_where_it_pays():
    with conv_algorithm("auto"):
        algo = cf.ops.conv2d_algorithm
        assert algo((128, 1, 28, 28), (6, 1, 5, 5), padding=2) == "direct"  # lenet5 C1
        assert algo((128, 6, 14, 14), (16, 6, 5, 5)) == "direct"  # lenet5 C3
        assert algo((32, 12, 58, 78), (16, 12, 5, 5), pass_="backward_input") == "direct"
        # Its backward-input has 1 output channel: a 6-row tile would be mostly empty.
        assert algo((128, 1, 28, 28), (6, 1, 5, 5), padding=2, pass_="backward_input") == "im2col"
        # 9 (c, r, s) rows for 32 output channels: copying results out dominates.
        assert algo((128, 1, 28, 28), (32, 1, 3, 3)) == "im2col"
        # Many channels and 15% more multiplies than im2col (the plane's 4 extra columns).
        alexnet_conv2 = dict(padding=2, groups=2, pass_="backward_input")
        assert algo((8, 96, 27, 27), (256, 48, 5, 5), **alexnet_conv2) == "im2col"
        assert algo((16, 192, 19, 19), (64, 192, 1, 1)) == "im2col"  # 1x1: no unrolling anyway
        assert algo((128, 16, 5, 5), (120, 16, 5, 5)) == "im2col"  # the dense-layer path
        assert algo((128, 6, 14, 14), (16, 6, 5, 5), stride=2) == "im2col"
        assert algo((128, 6, 14, 14), (16, 6, 5, 5), pass_="backward_weight") == "direct"
        assert algo((128, 1, 28, 28), (6, 1, 5, 5), padding=2, pass_="backward_weight") == "direct"
        assert algo((128, 16, 5, 5), (120, 16, 5, 5), pass_="backward_weight") == "im2col"
        assert algo((16, 192, 19, 19), (1, 192, 1, 1), pass_="backward_weight") == "im2col"


@pytest.mark.kernels
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_direct_weight_gradient_sums_only_real_pixels(bad, direct, rng):
    """A non-finite input reaches exactly the weight-gradient entries whose taps meet
    it: the kernel never multiplies the plane's wrap-around columns (a 0 * inf there
    would put NaN where the exact sum is finite)."""
    x = rng.standard_normal((2, 3, 7, 7))
    x[0, 1, 2, 0] = bad  # the left edge: wrap-around reads would pair it with s > 0
    w = rng.standard_normal((8, 3, 3, 3))
    dy = np.abs(rng.standard_normal((2, 8, 5, 5))) + 0.1
    assert cf.ops.conv2d_algorithm(x.shape, w.shape, pass_="backward_weight") == "direct"
    _, dw, _ = cf.ops.conv2d_backward(x, w, dy, need_input_grad=False, need_bias_grad=False)
    _, ref, _ = cf.reference.conv2d_backward(x, w, dy)
    np.testing.assert_array_equal(np.isnan(dw), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(dw), np.isinf(ref))
    assert 0 < (~np.isfinite(dw)).sum() < dw.size
