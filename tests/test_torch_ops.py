"""cnnfast.torch's operators against cnnfast.ops and PyTorch's own kernels.

Over the kernel tests' grids (odd sizes, every torch padding form, groups, dilation,
ceil_mode): through torch (autograd, zero-copy) the results are bit for bit those of
cnnfast.ops on the same arrays, which the kernel tests check against the reference
within derived bounds; and they equal PyTorch's float32 results within the sum of the
two kernels' bounds (|ours - torch| <= |ours - exact| + |torch - exact|; PyTorch's
convolution bounded as a plain sum of products). Then float64 gradcheck and
gradgradcheck, torch.library.opcheck on every operator, the fallbacks, no_grad,
torch.jit.trace and torch.compile. Skipped without PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.checks.bounds import rounding_bound, sum_bound
from cnnfast.checks.conv2d import conv2d_bounds
from cnnfast.checks.random_suite import random_conv2d_case, random_pool2d_case
from conv_cases import STRIDE_1_CASES

torch = pytest.importorskip("torch")
F = torch.nn.functional
ct = pytest.importorskip("cnnfast.torch")


pytestmark = [
    pytest.mark.filterwarnings("error::cnnfast.torch.FallbackWarning"),
    # (PyTorch's own note on its 'same' padding, from the peer's kernel)
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel"),
]


def _torch_padding(padding: Any, stride: Any) -> Any:
    """padding in a form torch.nn.functional takes, or None where it has none."""
    if isinstance(padding, str):
        if padding == "same" and tuple(np.broadcast_to(stride, 2)) != (1, 1):
            return None
        return padding
    if isinstance(padding, tuple) and len(padding) == 4:
        t, b, l, r = padding
        return (t, l) if t == b and l == r else None
    return padding


def _conv_grid() -> list[dict[str, Any]]:
    cases = [
        dict(x_shape=x, w_shape=w, stride=1, padding=p, dilation=d, groups=g, bias=True)
        for x, w, p, d, g in STRIDE_1_CASES
    ]
    rng = np.random.default_rng(16)
    cases += [random_conv2d_case(rng) for _ in range(40)]
    cases += [  # strided and dilated lecture shapes (AlexNet's first layer, smaller)
        dict(
            x_shape=(2, 3, 27, 27),
            w_shape=(8, 3, 11, 11),
            stride=4,
            padding=0,
            dilation=1,
            groups=1,
            bias=True,
        ),
        dict(
            x_shape=(2, 4, 10, 10),
            w_shape=(6, 2, 3, 2),
            stride=2,
            padding=(1, 2),
            dilation=(2, 1),
            groups=2,
            bias=False,
        ),
    ]
    out = []
    for c in cases:
        p = _torch_padding(c["padding"], c["stride"])
        if p is not None:
            out.append({**c, "padding": p})
    return out


CONV = _conv_grid()


def _grad_run(fn, *arrays, dy):  # type: ignore[no-untyped-def]
    """fn on torch tensors of arrays (None stays None), then backward(dy): the output
    and each input's gradient, as arrays."""
    ts = [None if a is None else torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    y = fn(*ts)
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), [None if t is None else t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV, ids=lambda c: f"{c['x_shape']}-{c['w_shape']}")
def test_conv2d_through_torch(case, dtype):
    rng = np.random.default_rng(0)
    kw = dict(
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
    )
    x = rng.standard_normal(case["x_shape"]).astype(dtype)
    w = rng.standard_normal(case["w_shape"]).astype(dtype)
    b = rng.standard_normal(case["w_shape"][0]).astype(dtype) if case["bias"] else None
    y = cf.ops.conv2d(x, w, b, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    ct.reset_fallbacks()
    ours, (dx, dw, db) = _grad_run(lambda *t: ct.conv2d(*t, **kw), x, w, b, dy=dy)
    assert ct.fallbacks() == {}
    # bit for bit what cnnfast.ops computes on the same arrays
    ex, ew, eb = cf.ops.conv2d_backward(x, w, dy, **kw)
    np.testing.assert_array_equal(ours, y)
    np.testing.assert_array_equal(dx, ex)
    np.testing.assert_array_equal(dw, ew)
    if b is not None:
        np.testing.assert_array_equal(db, eb)
    # PyTorch's own kernel, within both kernels' bounds
    theirs, (tdx, tdw, tdb) = _grad_run(lambda *t: F.conv2d(*t, **kw), x, w, b, dy=dy)
    cnn = dict(kw, padding=case["padding"])
    mine = conv2d_bounds(dtype, x, w, b, dy, cnn)
    plain = conv2d_bounds(dtype, x, w, b, dy, cnn, device="direct")
    for name, a, e, i in (
        ("y", ours, theirs, 0),
        ("dx", dx, tdx, 1),
        ("dw", dw, tdw, 2),
        ("db", db, tdb, 3),
    ):
        if a is not None:
            _within(name, a, e, mine[i] + plain[i])


def _pool_grid() -> list[dict[str, Any]]:
    rng = np.random.default_rng(160)
    cases = [random_pool2d_case(rng) for _ in range(40)]
    cases += [  # the torch cross-check's cases: overhanging ceil_mode windows, big windows
        dict(x_shape=(1, 2, 1, 1), kernel_size=2, stride=2, padding=0, ceil_mode=True),
        dict(x_shape=(2, 3, 3, 5), kernel_size=4, stride=3, padding=1, ceil_mode=True),
        dict(x_shape=(1, 1, 2, 3), kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(x_shape=(2, 3, 9, 9), kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(x_shape=(1, 2, 32, 32), kernel_size=16, stride=16, padding=0, ceil_mode=False),
        dict(x_shape=(4, 8, 26, 26), kernel_size=2, stride=2, padding=0, ceil_mode=False),
    ]
    out = []
    for c in cases:
        p = c["padding"]
        p = 0 if p == "valid" else _torch_padding(p, (1, 1))
        if p is not None and p != "same":
            out.append({**c, "padding": p})
    return out


POOL = _pool_grid()


def _pool_kw(case: dict[str, Any]) -> dict[str, Any]:
    return dict(
        kernel_size=case["kernel_size"],
        stride=case["stride"],
        padding=case["padding"],
        ceil_mode=case["ceil_mode"],
    )


def _window(case: dict[str, Any]) -> int:
    return int(np.prod(np.broadcast_to(case["kernel_size"], 2)))


def _within(name: str, a: np.ndarray, e: np.ndarray, bound: Any) -> None:
    excess = np.abs(a.astype(np.float64) - e) - bound
    assert (excess <= 0).all(), f"{name}: |ours - torch| exceeds the bound by {excess.max()}"


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL, ids=lambda c: f"{c['x_shape']}-k{c['kernel_size']}")
def test_max_pool2d_through_torch(case, dtype, relu):
    rng = np.random.default_rng(1)
    kw = _pool_kw(case)
    x = rng.standard_normal(case["x_shape"]).astype(dtype)
    fn = ct.relu_max_pool2d if relu else ct.max_pool2d
    y = cf.ops.max_pool2d(np.maximum(x, 0) if relu else x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    ct.reset_fallbacks()
    ours, (dx,) = _grad_run(lambda t: fn(t, **kw), x, dy=dy)
    assert ct.fallbacks() == {}
    np.testing.assert_array_equal(ours, y)
    if _window(case) <= cf.ops.MAX_ARGMAX_WINDOW:  # the one-byte argmax path
        _, argmax = cf.ops.max_pool2d_argmax(x, **kw, relu=relu)
        expected = cf.ops.max_pool2d_backward_argmax(argmax, dy, x.shape, **kw)
    else:
        expected = cf.ops.max_pool2d_backward(np.maximum(x, 0) if relu else x, dy, **kw)
        if relu:
            expected = np.where(x > 0, expected, 0).astype(dtype)
    np.testing.assert_array_equal(dx, expected)

    def theirs_fn(t):  # type: ignore[no-untyped-def]
        return F.max_pool2d(F.relu(t) if relu else t, **kw)

    theirs, (tdx,) = _grad_run(theirs_fn, x, dy=dy)
    np.testing.assert_array_equal(ours, theirs)  # (a max rounds nothing)
    # overlapping windows add their dy at a shared argmax, in either order
    mdx = cf.reference.max_pool2d_backward(
        x.astype(np.float64), np.abs(dy.astype(np.float64)), **kw
    )
    _within("dx", dx, tdx, 2 * sum_bound(_window(case), dtype, mdx))


@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL, ids=lambda c: f"{c['x_shape']}-k{c['kernel_size']}")
def test_avg_pool2d_through_torch(case, dtype, cip):
    rng = np.random.default_rng(2)
    kw = dict(_pool_kw(case), count_include_pad=cip)
    x = rng.standard_normal(case["x_shape"]).astype(dtype)
    y = cf.ops.avg_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    ct.reset_fallbacks()
    ours, (dx,) = _grad_run(lambda t: ct.avg_pool2d(t, **kw), x, dy=dy)
    assert ct.fallbacks() == {}
    np.testing.assert_array_equal(ours, y)
    np.testing.assert_array_equal(dx, cf.ops.avg_pool2d_backward(x, dy, **kw))
    theirs, (tdx,) = _grad_run(lambda t: F.avg_pool2d(t, **kw), x, dy=dy)
    k = _window(case)
    x64, dy64 = x.astype(np.float64), np.abs(dy.astype(np.float64))
    _within(
        "y", ours, theirs, 2 * sum_bound(k + 1, dtype, cf.reference.avg_pool2d(np.abs(x64), **kw))
    )
    mdx = cf.reference.avg_pool2d_backward(x64, dy64, **kw)
    _within("dx", dx, tdx, 2 * sum_bound(k + 1, dtype, mdx))


LRN = [
    ((2, 7, 5, 5), 5, 1e-2, 0.75, 2.0),
    ((3, 96, 6, 6), 5, 1e-4, 0.75, 1.0),
    ((1, 4, 3, 4), 3, 0.5, 0.6, 1.5),
    ((2, 3, 2, 2), 6, 1e-3, 0.75, 1.0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", LRN)
def test_local_response_norm_through_torch(case, dtype):
    shape, size, alpha, beta, k = case
    rng = np.random.default_rng(3)
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    args = (size, alpha, beta, k)
    ct.reset_fallbacks()
    ours, (dx,) = _grad_run(lambda t: ct.local_response_norm(t, *args), x, dy=dy)
    assert ct.fallbacks() == {}
    np.testing.assert_array_equal(ours, cf.ops.local_response_norm(x, *args))
    np.testing.assert_array_equal(dx, cf.ops.local_response_norm_backward(x, dy, *args))
    theirs, (tdx,) = _grad_run(lambda t: F.local_response_norm(t, *args), x, dy=dy)
    # checks/lrn.py's bounds, for each of the two kernels
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    _within(
        "y",
        ours,
        theirs,
        2 * rounding_bound(8, dtype, cf.reference.local_response_norm(x64, *args)),
    )
    total = np.abs(dy64 * x64).sum(axis=1, keepdims=True) * k ** (-beta - 1)
    mag = np.abs(dy64) * k**-beta + 2 * alpha * beta / size * np.abs(x64) * total
    _within("dx", dx, tdx, 2 * rounding_bound(8 + size, dtype, mag))


def _seed_after(s: int) -> int:
    """The seed cnnfast.torch.dropout draws right after torch.manual_seed(s)."""
    torch.manual_seed(s)
    return int(torch.empty((), dtype=torch.int64).random_())


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_through_torch(p, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 3, 7, 9)).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    seed = _seed_after(5)
    torch.manual_seed(5)
    ours, (dx,) = _grad_run(lambda t: ct.dropout(t, p) * 1, x, dy=dy)
    if p == 0.0:
        np.testing.assert_array_equal(ours, x)
        return
    np.testing.assert_array_equal(ours, cf.ops.dropout(x, p, seed))
    np.testing.assert_array_equal(dx, cf.ops.dropout(dy, p, seed))  # the same mask
    kept = ours != 0
    np.testing.assert_allclose(ours[kept], x[kept] / (1 - p), rtol=2 * np.finfo(dtype).eps)
    if p == 1.0:
        assert not kept.any()
    torch.manual_seed(5)  # torch.manual_seed fixes the mask
    again = ct.dropout(torch.from_numpy(x), p)
    np.testing.assert_array_equal(again.numpy(), ours)
    t = torch.from_numpy(x)
    assert ct.dropout(t, p, training=False) is t


def test_dropout_keeps_the_fraction_it_should():
    x = torch.ones(200_000)
    torch.manual_seed(0)
    kept = (ct.dropout(x, 0.3) != 0).double().mean().item()
    # binomial: 5 standard deviations of the kept fraction
    assert abs(kept - 0.7) < 5 * (0.7 * 0.3 / x.numel()) ** 0.5


# float64 gradients by finite differences, first and second order --------------------

GRADCHECK = [
    (
        "conv2d",
        lambda x, w, b: ct.conv2d(x, w, b, 2, 1, (1, 2), 2),
        ((2, 4, 7, 8), (6, 2, 3, 3), (6,)),
    ),
    (
        "conv2d same",
        lambda x, w, b: ct.conv2d(x, w, b, padding="same"),
        ((1, 3, 6, 5), (4, 3, 2, 4), (4,)),
    ),
    ("max_pool2d", lambda x: ct.max_pool2d(x, 3, 2, 1, ceil_mode=True), ((2, 3, 8, 7),)),
    ("relu_max_pool2d", lambda x: ct.relu_max_pool2d(x, 2), ((2, 3, 6, 6),)),
    ("max_pool2d 16x16", lambda x: ct.max_pool2d(x, 16), ((1, 1, 16, 16),)),
    ("avg_pool2d", lambda x: ct.avg_pool2d(x, 3, 2, 1, True, False), ((2, 2, 7, 6),)),
    (
        "local_response_norm",
        lambda x: ct.local_response_norm(x, 3, 0.1, 0.75, 1.0),
        ((2, 5, 3, 3),),
    ),
    ("dropout", lambda x: (torch.manual_seed(0), ct.dropout(x, 0.4))[1], ((3, 4, 5),)),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck_and_gradgradcheck_in_float64(name, fn, shapes):
    gen = torch.Generator().manual_seed(6)
    inputs = [
        torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in shapes
    ]
    ct.reset_fallbacks()
    assert torch.autograd.gradcheck(fn, inputs)
    assert ct.fallbacks() == {}  # first order: cnnfast's backward kernels
    # second order: the backward recomputes through PyTorch's kernels (create_graph)
    assert torch.autograd.gradgradcheck(fn, inputs)


# the operators as PyTorch registers them ---------------------------------------------


def _opcheck_cases() -> list[tuple[str, tuple[Any, ...]]]:
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 4, 9, 8, generator=g)
    w = torch.randn(6, 2, 3, 3, generator=g)
    b = torch.randn(6, generator=g)
    y = torch.ops.cnnfast.conv2d(x, w, b, [2, 1], [1, 2, 0, 1], [1, 2], 2)
    pool = ([3, 2], [2, 2], [1, 1, 0, 0], True)
    yp, argmax = torch.ops.cnnfast.max_pool2d_argmax(x, *pool, True)
    ya = torch.ops.cnnfast.avg_pool2d(x, *pool, False)
    return [
        ("conv2d", (x, w, b, [2, 1], [1, 2, 0, 1], [1, 2], 2)),
        ("conv2d", (x, w, None, [1, 1], [0, 0, 0, 0], [1, 1], 2)),
        (
            "conv2d_backward",
            (torch.randn_like(y), x, w, [2, 1], [1, 2, 0, 1], [1, 2], 2, [True, False, True]),
        ),
        ("max_pool2d", (x, *pool)),
        ("max_pool2d_backward", (torch.randn_like(yp), x, *pool)),
        ("max_pool2d_argmax", (x, *pool, False)),
        ("max_pool2d_backward_argmax", (torch.randn_like(yp), argmax, list(x.shape), *pool)),
        ("avg_pool2d", (x, *pool, True)),
        ("avg_pool2d_backward", (torch.randn_like(ya), x, *pool, False)),
        ("dropout", (x, 0.3, 12345)),
        ("local_response_norm", (x, 3, 1e-2, 0.75, 2.0)),
        ("local_response_norm_backward", (torch.randn_like(x), x, 3, 1e-2, 0.75, 2.0)),
    ]


@pytest.mark.parametrize(
    "name,args", _opcheck_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_opcheck(name, args):
    """Schema, fake (meta) kernel, and AOT dispatch with dynamic shapes (autograd is
    not registered on the operators: autograd.py's Functions carry it)."""
    op = getattr(torch.ops.cnnfast, name)
    torch.library.opcheck(
        op, args, test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_dynamic")
    )


def test_a_direct_operator_call_has_no_silent_gradient():
    """PyTorch would backpropagate through an operator without autograd with only a
    warning, and a wrong gradient: the operators refuse where one would be asked."""
    x = torch.randn(1, 1, 4, 4, requires_grad=True)
    w = torch.randn(1, 1, 3, 3)
    args = (None, [1, 1], [0, 0, 0, 0], [1, 1], 1)
    with pytest.raises(RuntimeError, match=r"cnnfast\.torch\.conv2d"):
        torch.ops.cnnfast.conv2d(x, w, *args)
    with pytest.raises(RuntimeError, match="no autograd"):
        torch.ops.cnnfast.max_pool2d(x, [2, 2], [2, 2], [0, 0, 0, 0], False)
    with torch.no_grad():
        y = torch.ops.cnnfast.conv2d(x, w, *args)
    torch.testing.assert_close(y, F.conv2d(x, w).detach())
    torch.ops.cnnfast.conv2d(x.detach(), w, *args)  # (nothing needs a gradient)


def test_bad_arguments_to_an_operator_are_named_errors():
    x, w = torch.randn(1, 3, 4, 4), torch.randn(2, 4, 3, 3)
    with pytest.raises(ValueError, match="conv2d"):
        torch.ops.cnnfast.conv2d(x, w, None, [1, 1], [0, 0, 0, 0], [1, 1], 1)


# what falls back to PyTorch's kernel -------------------------------------------------


def _falls_back(fn, *inputs, reason: str):  # type: ignore[no-untyped-def]
    ct.reset_fallbacks()
    with pytest.warns(ct.FallbackWarning, match=reason):
        out = fn(*inputs)
    assert any(reason in k for k in ct.fallbacks()), ct.fallbacks()
    return out


def test_other_devices_dtypes_and_layouts_run_torchs_kernel():
    x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    meta = _falls_back(ct.conv2d, x.to("meta"), w.to("meta"), reason="on meta")
    assert meta.device.type == "meta" and meta.shape == (2, 4, 6, 6)
    half = _falls_back(ct.conv2d, x.bfloat16(), w.bfloat16(), reason="dtype torch.bfloat16")
    assert half.dtype == torch.bfloat16
    cl = _falls_back(ct.conv2d, x.to(memory_format=torch.channels_last), w, reason="channels_last")
    torch.testing.assert_close(cl, F.conv2d(x, w))
    unbatched = _falls_back(ct.max_pool2d, x[0], 2, reason="3-D input")
    torch.testing.assert_close(unbatched, F.max_pool2d(x[0], 2))
    with pytest.raises(RuntimeError):
        _falls_back(ct.conv2d, x, w.double(), reason="mixed dtypes")


def test_arguments_cnnfast_does_not_take_run_torchs_kernel():
    x = torch.randn(2, 3, 9, 9, requires_grad=True)
    y = _falls_back(ct.max_pool2d, x, 3, 1, 1, 2, reason="dilation")
    torch.testing.assert_close(y, F.max_pool2d(x, 3, 1, 1, 2))
    y, idx = _falls_back(
        lambda t: ct.max_pool2d(t, 2, return_indices=True), x, reason="return_indices"
    )
    torch.testing.assert_close(idx, F.max_pool2d(x, 2, return_indices=True)[1])
    y = _falls_back(lambda t: ct.avg_pool2d(t, 2, divisor_override=3), x, reason="divisor")
    torch.testing.assert_close(y, F.avg_pool2d(x, 2, divisor_override=3))
    y = _falls_back(
        lambda t: ct.dropout(t, 0.5, inplace=True), x.detach().clone(), reason="inplace"
    )
    with pytest.raises(RuntimeError, match="same"):  # (PyTorch's own error)
        _falls_back(
            lambda t: ct.conv2d(t, torch.randn(2, 3, 3, 3), stride=2, padding="same"),
            x,
            reason="padding 'same'",
        )
    with pytest.raises(RuntimeError):  # pooling padding over half the kernel: torch refuses too
        _falls_back(lambda t: ct.max_pool2d(t, 2, 2, 2), x, reason="refused")


def test_torch_forms_of_the_arguments():
    x, w = (
        torch.randn(2, 3, 9, 8, dtype=torch.float64),
        torch.randn(4, 3, 2, 3, dtype=torch.float64),
    )
    ct.reset_fallbacks()
    for kw in (
        dict(stride=(2,), padding=(1,), dilation=[1, 2]),
        dict(padding="valid"),
        dict(padding="same"),
        dict(padding="same", dilation=2),
    ):
        torch.testing.assert_close(
            ct.conv2d(x, w, **kw), F.conv2d(x, w, **kw), rtol=1e-12, atol=1e-12
        )
    for kw in (dict(stride=()), dict(stride=[1, 2], padding=(1, 0)), dict(kernel_size=(3,))):
        kw = {"kernel_size": 2, **kw}
        torch.testing.assert_close(ct.max_pool2d(x, **kw), F.max_pool2d(x, **kw))
    assert ct.fallbacks() == {}


# grad modes, tracing, compiling --------------------------------------------------------


def test_no_grad_and_inference_mode_save_nothing():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    with torch.no_grad():
        y = ct.relu_max_pool2d(ct.conv2d(x, w), 2)
    assert y.grad_fn is None and not y.requires_grad
    with torch.inference_mode():
        z = ct.local_response_norm(ct.avg_pool2d(ct.conv2d(x, w), 2), 3)
        z2 = ct.dropout(z, 0.5)
    assert z.is_inference() and z2.grad_fn is None
    torch.testing.assert_close(y, F.max_pool2d(F.relu(F.conv2d(x, w)), 2).detach())


def _small_net():  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding="same"),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3),
        torch.nn.Tanh(),
        torch.nn.AvgPool2d(2, ceil_mode=True),
        torch.nn.LocalResponseNorm(3),
        torch.nn.Flatten(),
        torch.nn.Linear(24, 5),
    )


@pytest.mark.filterwarnings("ignore:`torch.jit.trace.*is deprecated:DeprecationWarning")
def test_jit_trace_records_the_cnnfast_operators():
    """Traced under no_grad: cnnfast::* nodes, the same results at other batch sizes,
    and an error, not a wrong gradient, when the inference trace is trained."""
    model = ct.accelerate(_small_net())
    model.eval()
    x = torch.randn(3, 1, 10, 10)
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
    graph = str(traced.inlined_graph)
    assert "cnnfast::conv2d" in graph and "cnnfast::max_pool2d_argmax" in graph
    with torch.no_grad():
        torch.testing.assert_close(traced(x), model(x), rtol=0, atol=0)
        other = torch.randn(5, 1, 10, 10)
        torch.testing.assert_close(traced(other), model(other), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="no autograd"):
        traced(x)


# (dynamo instantiates autograd.Function classes itself, and warns about it)
@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")
def test_torch_compile_traces_the_operators_and_their_backward():
    """aot_eager: dynamo and AOTAutograd trace the Functions and the fake kernels into
    one graph (fullgraph: no graph break), then run the same kernels eagerly."""
    torch._dynamo.reset()
    eager = ct.accelerate(_small_net())
    compiled_model = ct.accelerate(_small_net())
    compiled = torch.compile(compiled_model, backend="aot_eager", fullgraph=True)
    x = torch.randn(4, 1, 10, 10)
    for m in (eager, compiled):
        m(x).square().sum().backward()
    for (n, p), (_, q) in zip(eager.named_parameters(), compiled_model.named_parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-6, atol=1e-7, msg=n)
    torch.testing.assert_close(compiled(x), eager(x), rtol=1e-6, atol=1e-7)


INDUCTOR = """
import copy, warnings
import torch, cnnfast.torch as ct
warnings.simplefilter("ignore")
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
    torch.nn.Linear(4 * 4 * 4, 3))
eager = ct.accelerate(model)
compiled_model = copy.deepcopy(eager)
compiled = torch.compile(compiled_model)  # inductor: the operators are extern kernels
x = torch.randn(8, 1, 10, 10)
for m in (eager, compiled):
    m(x).square().sum().backward()
for p, q in zip(eager.parameters(), compiled_model.parameters()):
    torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6)
assert ct.fallbacks() == {}, ct.fallbacks()
print("ok")
"""


def test_torch_compile_with_inductor_runs_the_operators():
    """A fresh process (the first call of each operator is traced), PyTorch's default
    backend, forward and backward."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", INDUCTOR], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
