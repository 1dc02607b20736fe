"""cnnfast.torch.accelerate on torch.nn models: the same module objects, Parameters,
state_dict, optimizer and hooks; what it replaces, fuses and leaves alone; restore;
threads (cnnfast's kernels on PyTorch's OpenMP threads, and back after fork()).
Skipped without PyTorch."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

import cnnfast as cf
from helpers import conv_algorithm

torch = pytest.importorskip("torch")
ct = pytest.importorskip("cnnfast.torch")
nn = torch.nn


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Conv2d(4, 6, 3, padding_mode="reflect", padding=1),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.LocalResponseNorm(3),
        nn.Flatten(),
        nn.Linear(24, 5),
    )


def test_the_same_objects_train_on_cnnfast():
    model = _net()
    params = list(model.parameters())
    keys = list(model.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)  # made before accelerate
    plain = copy.deepcopy(model)
    assert ct.accelerate(model) is model
    assert [type(m).__module__ for m in model][:8:2] == ["cnnfast.torch.modules"] * 4
    assert list(model.parameters()) == params and all(
        a is b for a, b in zip(model.parameters(), params)
    )
    assert list(model.state_dict()) == keys
    x = torch.randn(6, 1, 8, 8)
    model.eval(), plain.eval()
    torch.testing.assert_close(model(x), plain(x), rtol=1e-5, atol=1e-6)
    model.train()
    before = [p.detach().clone() for p in params]
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 3, 4, 0])).backward()
    opt.step()
    assert all(not torch.equal(p, q) for p, q in zip(model.parameters(), before))
    # the state_dict loads into plain torch.nn, and back
    plain.load_state_dict(model.state_dict())
    model.eval(), plain.eval()
    torch.testing.assert_close(model(x), plain(x), rtol=1e-5, atol=1e-6)
    # a deep copy is accelerated too; restore() gives back torch.nn's classes
    assert type(copy.deepcopy(model)[0]) is ct.modules.Conv2d
    ct.restore(model)
    assert [type(m) for m in model] == [type(m) for m in plain]


def test_hooks_keep_firing_and_stop_the_fusion_they_would_miss():
    model = _net()
    seen: dict[str, torch.Tensor] = {}
    model[0].register_forward_hook(lambda m, i, o: seen.__setitem__("conv", o))
    ct.accelerate(model)
    x = torch.randn(2, 1, 8, 8)
    model(x)
    assert "conv" in seen  # registered before accelerate, still fires
    model[1].register_forward_hook(lambda m, i, o: seen.__setitem__("relu", o.clone()))
    model(x)
    # with a hook on the ReLU, the ReLU runs on its own and its hook sees its output
    torch.testing.assert_close(seen["relu"], torch.relu(seen["conv"]))


def test_the_report_says_what_runs_where():
    class MyConv(nn.Conv2d):
        pass

    model = nn.Sequential(
        nn.Conv2d(1, 2, 3),
        MyConv(2, 2, 3),
        nn.MaxPool2d(2, return_indices=False),
        nn.MaxPool2d(2, dilation=2),
        nn.AvgPool2d(2, divisor_override=3),
        nn.Conv2d(2, 2, 1).half(),
        nn.LazyConv2d(3, 1),
        nn.Dropout(0.5, inplace=True),
    )
    r = ct.report(model)
    replaced = dict(r.replaced)
    left = {name: why for name, _, why in r.left}
    assert replaced["0"] == "Conv2d" and replaced["2"] == "MaxPool2d"
    assert "subclass of Conv2d" in left["1"]
    assert "dilation" in left["3"] and "divisor_override" in left["4"]
    assert "torch.float16" in left["5"] and "lazy" in left["6"] and "inplace" in left["7"]
    assert type(model[0]) is nn.Conv2d  # report changes nothing
    text = str(ct.accelerate(model, verbose=False) and ct.report(model))
    assert "replaced  0: Conv2d" in text and "left      1: MyConv" in text


def test_a_model_it_cannot_help_is_left_unchanged():
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU())
    cf.set_num_threads(1)
    try:
        ct.accelerate(model)
        assert [type(m) for m in model] == [nn.Linear, nn.GELU]
        assert cf.get_num_threads() == 1  # nothing replaced: nothing changed
    finally:
        cf.set_num_threads(2)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        ct.accelerate(lambda x: x)
    with pytest.raises(ValueError, match="threads"):
        ct.accelerate(_net(), threads=0)


def test_dropout_false_keeps_torchs_dropout(capsys):
    model = ct.accelerate(_net(), dropout=False, verbose=True)
    assert type(model[3]) is nn.Dropout
    assert "left      3: Dropout, accelerate(dropout=False)" in capsys.readouterr().out


def test_threads_follow_torch_and_share_its_openmp_runtime():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        ct.accelerate(_net())
        assert cf.get_num_threads() == 1
        ct.accelerate(_net(), threads=2)
        assert cf.get_num_threads() == 2
        runtime = ct.torch_openmp_runtime()
        if runtime is None:
            pytest.skip("this PyTorch build runs no OpenMP runtime to share")
        assert cf.shared_openmp_runtime() == runtime
        ct.share_threads(False)
        assert cf.shared_openmp_runtime() is None
    finally:
        torch.set_num_threads(before)
        ct.share_threads(True)


@pytest.mark.parametrize("algorithm", ["auto", "taps"])  # (taps: a team job, with barriers)
def test_kernels_on_torchs_threads_give_the_pools_bits(algorithm):
    if ct.torch_openmp_runtime() is None:
        pytest.skip("this PyTorch build runs no OpenMP runtime to share")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16, 20, 20)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal((400, 48)).astype(np.float32)
    results = []
    try:
        with conv_algorithm(algorithm):
            for share in (False, True, False):
                assert (ct.share_threads(share) is not None) == share
                y = cf.ops.conv2d(x, w, padding=1)
                dx, dw, _ = cf.ops.conv2d_backward(x, w, np.ones_like(y), padding=1)
                results.append((y, dx, dw, cf.ops.matmul(x.reshape(64, -1), b)))
    finally:
        ct.share_threads(True)
    for pool, shared, pool_again in zip(*results):
        np.testing.assert_array_equal(shared, pool)
        np.testing.assert_array_equal(pool_again, pool)


FORK = """
import os, sys, numpy as np, torch, cnnfast as cf, cnnfast.torch as ct
ct.accelerate(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)))
shared = cf.shared_openmp_runtime()
x = np.ones((8, 4, 16, 16), np.float32); w = np.ones((8, 4, 3, 3), np.float32)
cf.ops.conv2d(x, w)
pid = os.fork()
if pid == 0:  # the child: PyTorch's OpenMP threads are not here; cnnfast's pool is
    ok = cf.shared_openmp_runtime() is None and float(cf.ops.conv2d(x, w).max()) == 36.0
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print("shared" if shared else "unshared", os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_goes_back_to_cnnfasts_pool():
    proc = subprocess.run([sys.executable, "-c", FORK], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "0", proc.stdout


def _pads_net() -> nn.Module:
    torch.manual_seed(0)
    inf = float("-inf")
    return nn.Sequential(
        nn.ConstantPad2d((0, 1, 0, 1), 0.0), nn.Conv2d(2, 3, 2),  # TF 'same', even kernel
        nn.ReLU(), nn.ConstantPad2d((0, 1, 0, 1), inf), nn.MaxPool2d(2),  # TF 'same' pool
        nn.ConstantPad2d((1, 0, 1, 0), inf), nn.MaxPool2d(2, 1),
        nn.ConstantPad2d((0, 1, 0, 1), inf), nn.MaxPool2d(2, ceil_mode=True),  # (not fused)
        nn.ConstantPad2d(1, 0.5), nn.Conv2d(3, 2, 3),  # a pad of 0.5 (not fused)
    )  # fmt: skip


def test_pads_fold_into_the_convolution_and_the_pooling_after_them():
    model = _pads_net().double()
    plain = copy.deepcopy(model)
    ct.accelerate(model)
    fused = dict((what, names) for names, what in ct.report(model).fused)
    assert fused == {
        "conv2d with the pad": "0 + 1",
        "relu_max_pool2d with the pad": "2 + 3 + 4",
        "max_pool2d with the pad": "5 + 6",
    }
    x = torch.randn(3, 2, 9, 9, dtype=torch.float64)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    ct.reset_fallbacks()
    y1, y2 = model(x1), plain(x2)
    assert ct.fallbacks() == {}
    torch.testing.assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    dy = torch.randn_like(y1)
    y1.backward(dy), y2.backward(dy)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-12, atol=1e-12)
    for p, q in zip(model.parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-12)
    # a hook on the pad: it runs on its own, and sees its output
    seen = []
    model[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    torch.testing.assert_close(model(x), plain(x), rtol=1e-12, atol=1e-12)
    assert seen == [(3, 2, 10, 10)]
