"""Cross-checks against PyTorch's CPU kernels, and OpenMP coexistence with PyTorch.

Skipped when PyTorch is not installed (it is never a dependency of cnnfast).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import cnnfast as cf

torch = pytest.importorskip("torch")
F = torch.nn.functional


def t(a: np.ndarray, grad: bool = False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


CONV = [  # (x, w, stride, padding (torch form), dilation, groups)
    ((2, 3, 11, 9), (4, 3, 3, 3), 1, 1, 1, 1),
    ((2, 4, 10, 10), (6, 2, 3, 2), 2, (1, 2), (2, 1), 2),
    ((1, 6, 7, 7), (6, 1, 5, 5), 1, 2, 1, 6),
    ((3, 3, 9, 9), (5, 3, 3, 3), 1, "same", 1, 1),  # stride 1: torch's 'same' is TF's too
    ((1, 3, 27, 27), (8, 3, 11, 11), 4, 0, 1, 1),
]


@pytest.mark.parametrize("case", CONV)
def test_conv2d_matches_torch(case, rng):
    xs, ws, stride, padding, dilation, groups = case
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    tx, tw, tb = t(x, True), t(w, True), t(b, True)
    ty = F.conv2d(tx, tw, tb, **kw)
    dy = rng.standard_normal(tuple(ty.shape))
    ty.backward(t(dy))
    np.testing.assert_allclose(
        cf.ops.conv2d(x, w, b, **kw), ty.detach().numpy(), rtol=1e-10, atol=1e-10
    )
    dx, dw, db = cf.ops.conv2d_backward(x, w, dy, **kw)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10, atol=1e-10)


POOL = [  # (x, kernel, stride, padding, ceil_mode)
    ((2, 3, 8, 8), 2, 2, 0, False),
    ((2, 3, 9, 9), 3, 2, 1, True),
    ((1, 2, 10, 7), (3, 2), (2, 1), (1, 1), True),
    ((1, 2, 11, 11), 3, 2, 1, False),
    ((1, 1, 6, 6), 4, 3, 2, True),
    # ceil_mode windows that overhang the padded input
    ((1, 2, 1, 1), 2, 2, 0, True),
    ((2, 3, 3, 5), 4, 3, 1, True),
    ((1, 1, 2, 3), 3, 2, 1, True),
    ((1, 1, 1, 3), (2, 2), (2, 2), 0, True),
    # more than 255 cells
    ((1, 2, 32, 32), 16, 16, 0, False),
]


@pytest.mark.parametrize("cip", [True, False])
@pytest.mark.parametrize("case", POOL)
def test_pooling_matches_torch(case, cip, rng):
    xs, k, s, p, ceil = case
    x = rng.standard_normal(xs)
    for name, ours, back, theirs in (
        ("max", cf.ops.max_pool2d, cf.ops.max_pool2d_backward, F.max_pool2d),
        (
            "avg",
            lambda *a, **kw: cf.ops.avg_pool2d(*a, **kw, count_include_pad=cip),
            lambda *a, **kw: cf.ops.avg_pool2d_backward(*a, **kw, count_include_pad=cip),
            lambda *a, **kw: F.avg_pool2d(*a, **kw, count_include_pad=cip),
        ),
    ):
        tx = t(x, True)
        ty = theirs(tx, k, s, p, ceil_mode=ceil)
        dy = rng.standard_normal(tuple(ty.shape))
        ty.backward(t(dy))
        np.testing.assert_allclose(
            ours(x, k, s, p, ceil), ty.detach().numpy(), rtol=1e-12, err_msg=name
        )
        np.testing.assert_allclose(
            back(x, dy, k, s, p, ceil), tx.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=name
        )
    _, idx = cf.ops.max_pool2d(x, k, s, p, ceil, return_indices=True)
    _, tidx = F.max_pool2d(t(x), k, s, p, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(idx, tidx.numpy())


def test_lrn_batch_norm_softmax_cross_entropy_match_torch(rng):
    x = rng.standard_normal((2, 7, 5, 5)) * 3
    tx = t(x, True)
    ty = F.local_response_norm(tx, 5, alpha=1e-2, beta=0.75, k=2.0)
    dy = rng.standard_normal(x.shape)
    ty.backward(t(dy))
    np.testing.assert_allclose(
        cf.ops.local_response_norm(x, 5, 1e-2, 0.75, 2.0), ty.detach().numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        cf.ops.local_response_norm_backward(x, dy, 5, 1e-2, 0.75, 2.0),
        tx.grad.numpy(),
        rtol=1e-10,
        atol=1e-12,
    )

    g, b = rng.standard_normal(7), rng.standard_normal(7)
    tx, tg, tb = t(x, True), t(g, True), t(b, True)
    ty = F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    ty.backward(t(dy))
    y, mean, invstd = cf.ops.batch_norm_train(x, g, b)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx, dg, db = cf.ops.batch_norm_backward(x, dy, mean, invstd, g)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dg, tg.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10)

    rm, rv = np.zeros(7), np.ones(7)
    trm, trv = torch.zeros(7, dtype=torch.float64), torch.ones(7, dtype=torch.float64)
    cf.ops.batch_norm(x, rm, rv, training=True, momentum=0.1)
    F.batch_norm(t(x), trm, trv, training=True, momentum=0.1)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-10)

    logits, labels = rng.standard_normal((6, 10)) * 4, rng.integers(0, 10, 6)
    tl = t(logits, True)
    loss = F.cross_entropy(tl, torch.tensor(labels))
    loss.backward()
    np.testing.assert_allclose(cf.ops.cross_entropy(logits, labels), loss.item(), rtol=1e-12)
    np.testing.assert_allclose(
        cf.ops.cross_entropy_backward(logits, labels), tl.grad.numpy(), rtol=1e-10, atol=1e-14
    )
    np.testing.assert_allclose(
        cf.ops.log_softmax(logits), F.log_softmax(t(logits), 1).numpy(), rtol=1e-12
    )


COEXIST = """
import numpy as np
{first}
{second}
torch.set_num_threads(2); cnnfast.set_num_threads(2)
x = np.random.default_rng(0).standard_normal((16, 8, 32, 32)).astype(np.float32)
w = np.random.default_rng(1).standard_normal((16, 8, 3, 3)).astype(np.float32)
for _ in range(3):
    ours = cnnfast.ops.conv2d(x, w, padding=1)
    theirs = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    a = x.reshape(128, -1)
    ta = torch.from_numpy(a)
    assert np.allclose(cnnfast.ops.matmul(a, a, trans_b=True), (ta @ ta.T).numpy(),
                       rtol=1e-3, atol=1e-2)
print("ok")
"""


@pytest.mark.parametrize("order", ["cnnfast-first", "torch-first"])
def test_cnnfast_and_torch_share_a_process(order):
    """Two OpenMP runtimes (ours and the one in the torch wheel) must not abort the process."""
    imports = ["import cnnfast", "import torch"]
    if order == "torch-first":
        imports.reverse()
    proc = subprocess.run(
        [sys.executable, "-c", COEXIST.format(first=imports[0], second=imports[1])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]
