"""Non-finite values through every convolution algorithm (issue 13, class 7).

The exact sum decides: an output is NaN where its window holds a NaN (or +Inf and
-Inf meet), +-Inf where an infinity dominates, finite elsewhere. Winograd's
transforms mix a whole tile, so it used to spread a NaN to outputs outside its
receptive field and turn +Inf into NaN; every algorithm must now give the
reference's pattern exactly, and the finite outputs its values."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _C, ops
from cnnfast import reference as ref
from helpers import conv_algorithm

pytestmark = [
    pytest.mark.kernels,
    # (the reference's 0 * Inf in the padding is meant: it is the exact sum's NaN)
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]

# (x shape, w shape, stride, padding, groups): layers each algorithm takes.
LAYERS = {
    "3x3": ((2, 16, 12, 12), (16, 16, 3, 3), 1, 1, 1),  # winograd, winograd4, direct, taps
    "5x5": ((2, 8, 11, 11), (32, 8, 5, 5), 1, 2, 1),  # expand (four 3x3 blocks)
    "strided": ((2, 8, 13, 13), (32, 8, 3, 3), 2, 1, 1),  # expand (phases)
    "grouped": ((2, 16, 9, 9), (16, 8, 3, 3), 1, 1, 2),  # expand (a problem per group)
}
ALGORITHMS = ["auto", "winograd", "winograd4", "expand", "expand4", "im2col", "direct", "taps"]
SPECIALS = {"nan": np.nan, "+inf": np.inf, "-inf": -np.inf}


def pattern(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.isnan(a), np.isposinf(a), np.isneginf(a)


def assert_same_nonfinite(got: np.ndarray, want: np.ndarray, what: str) -> None:
    for name, g, w in zip(("NaN", "+Inf", "-Inf"), pattern(got), pattern(want)):
        if not np.array_equal(g, w):
            where = np.argwhere(g != w)[:5].tolist()
            raise AssertionError(f"{what}: {name} differs from the exact sum at {where}")
    finite = np.isfinite(want)
    scale = max(1.0, float(np.abs(want[finite]).max(initial=0.0)))
    np.testing.assert_allclose(got[finite], want[finite], atol=1e-4 * scale, err_msg=what)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("special", list(SPECIALS))
def test_nonfinite_input_gives_the_exact_pattern(algorithm, layer, special, rng):
    xs, ws, stride, padding, groups = LAYERS[layer]
    kw = dict(stride=stride, padding=padding, groups=groups)
    x = rng.random(xs).astype(np.float32)
    w = rng.random(ws).astype(np.float32) + 0.1  # positive: +Inf stays +Inf in the exact sum
    x[0, 1, 4, 5] = SPECIALS[special]
    x[1, 0, 0, 0] = SPECIALS[special]  # at a corner: border tiles too
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    with conv_algorithm(algorithm):
        y = ops.conv2d(x, w, **kw)
        assert_same_nonfinite(y, ref.conv2d(x64, w64, **kw), f"{algorithm} {layer} forward")
        dy = rng.random(y.shape).astype(np.float32)
        dy[0, 2, 1, 1] = SPECIALS[special]
        dx, dw, _ = ops.conv2d_backward(x, w, dy, **kw, need_bias_grad=False)
        rdx, rdw, _ = ref.conv2d_backward(x64, w64, dy.astype(np.float64), **kw)
        assert_same_nonfinite(dx, rdx, f"{algorithm} {layer} backward-input")
        assert_same_nonfinite(dw, rdw, f"{algorithm} {layer} backward-weight")


def test_the_scans_are_what_keeps_winograd_exact(rng):
    """With the scans off (a switch for `cnnfast bench nonfinite` only) Winograd spreads
    a NaN across its tile, as it did before; on again, the pattern is exact."""
    x = rng.random((2, 16, 12, 12)).astype(np.float32)
    w = rng.random((16, 16, 3, 3)).astype(np.float32)
    x[0, 1, 4, 5] = np.nan
    want = ref.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
    assert _C.nonfinite_scans()
    with conv_algorithm("winograd4"):
        _C.set_nonfinite_scans(False)
        try:
            spread = ops.conv2d(x, w, padding=1)
        finally:
            _C.set_nonfinite_scans(True)
        exact = ops.conv2d(x, w, padding=1)
    assert np.isnan(spread).sum() > np.isnan(want).sum()
    assert_same_nonfinite(exact, want, "winograd4 with the scans on")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("layer", list(LAYERS))
def test_nonfinite_filter_gives_the_exact_pattern(algorithm, layer, rng):
    xs, ws, stride, padding, groups = LAYERS[layer]
    kw = dict(stride=stride, padding=padding, groups=groups)
    x = rng.random(xs).astype(np.float32)
    w = rng.random(ws).astype(np.float32)
    w[3, 2, 1, 0] = np.inf
    w[5, 0, 2, 2] = np.nan
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    with conv_algorithm(algorithm):
        y = ops.conv2d(x, w, **kw)
        assert_same_nonfinite(y, ref.conv2d(x64, w64, **kw), f"{algorithm} {layer} forward")
        dy = rng.random(y.shape).astype(np.float32)
        dx = ops.conv2d_backward(x, w, dy, **kw, need_weight_grad=False, need_bias_grad=False)[0]
        rdx = ref.conv2d_backward(x64, w64, dy.astype(np.float64), **kw)[0]
        assert_same_nonfinite(dx, rdx, f"{algorithm} {layer} backward-input")


def test_winograd_result_is_unchanged_when_everything_is_finite(rng):
    """The fallback runs only where Winograd's result holds a non-finite value: with
    finite data the result is Winograd's own (not silently an im2col one)."""
    x = rng.random((4, 32, 14, 14)).astype(np.float32)
    w = rng.random((32, 32, 3, 3)).astype(np.float32)
    with conv_algorithm("winograd4"):
        y4 = ops.conv2d(x, w, padding=1)
    with conv_algorithm("im2col"):
        yi = ops.conv2d(x, w, padding=1)
    assert not np.array_equal(y4, yi)  # different roundings: the Winograd result was kept
    np.testing.assert_allclose(y4, yi, rtol=1e-4, atol=1e-4)


def test_training_step_with_a_nan_input_is_nan_only_where_it_reaches(rng):
    """Through the autograd layer: one image with a NaN gives NaN logits for that
    image only (Winograd's conv2 used to spread it no further than its tile, but the
    tile reached other outputs of the same image, and the pattern must be exact)."""
    model = cf.models.get("keras-mnist-2conv", seed=0)
    model.eval()
    x = rng.random((4, 1, 28, 28)).astype(np.float32)
    x[2, 0, 14, 14] = np.nan
    with cf.no_grad():
        logits = model(cf.tensor(x)).numpy()
    assert np.isnan(logits[2]).all() and np.isfinite(logits[[0, 1, 3]]).all()
