"""The whole device path: tensors on device='cuda', autograd, model.to('cuda'), the
optimizers' device kernels and the caching allocator, on a tiny net and batch. Run on
the GPU where there is one, else through the host emulator (see conftest.cuda_device);
every result is compared with the same computation on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
import cnnfast.nn as nn
import cnnfast.nn.functional as F
from cnnfast import optim
from cnnfast.cuda import DeviceArray
from cnnfast.tensor import concat


def tiny_net(seed: int = 0) -> nn.Module:
    cf.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(6, 5),
    )


def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((3, 1, 6, 6)).astype(np.float32), rng.integers(0, 5, 3)


def train(
    model: nn.Module, opt_name: str, device: str, steps: int, rng: np.random.Generator
) -> list[float]:
    model.to(device)
    hyper = {"sgd": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)}.get(opt_name, {})
    opt = optim.get(opt_name, model.parameters(), **hyper)
    losses = []
    for _ in range(steps):
        x, y = batch(rng)
        loss = F.cross_entropy(model(cf.tensor(x, device=device)), cf.tensor(y, device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "rmsprop", "adadelta"])
def test_training_steps_on_cuda_match_the_cpu(cuda_device, opt_name):
    on_cpu, on_dev = tiny_net(), tiny_net()
    cpu_losses = train(on_cpu, opt_name, "cpu", 3, np.random.default_rng(1))
    dev_losses = train(on_dev, opt_name, cuda_device, 3, np.random.default_rng(1))
    assert all(p.device == "cuda" and type(p.data) is DeviceArray for p in on_dev.parameters())
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-5)
    on_dev.to("cpu")
    for (name, a), (_, b) in zip(on_cpu.named_parameters(), on_dev.named_parameters()):
        np.testing.assert_allclose(b.data, a.data, rtol=1e-4, atol=1e-6, err_msg=name)


def test_a_tiny_net_learns_on_cuda(cuda_device):
    model = tiny_net(3).to(cuda_device)
    opt = optim.Adam(model.parameters(), lr=0.05)
    rng = np.random.default_rng(4)
    x, y = batch(rng)
    xd, yd = cf.tensor(x, device=cuda_device), cf.tensor(y, device=cuda_device)
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(model(xd), yd)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


class CountingBackend:
    """The backend module with its host <-> device copies counted."""

    def __init__(self, inner: object) -> None:
        self.inner, self.copies = inner, 0

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.inner, name)
        if name in ("copy_to_host", "copy_from_host"):
            self.copies += 1
        return attr


def test_a_training_step_makes_no_host_round_trip(cuda_device, monkeypatch):
    """Once the batch is on the device, forward, backward and the optimizer step copy
    nothing between host and device (the loss stays on the device until asked for)."""
    from cnnfast.cuda import backends

    for name in ("sgd", "adam"):
        model = tiny_net().to(cuda_device)
        opt = optim.get(name, model.parameters(), lr=0.01)
        x, y = batch(np.random.default_rng(0))
        xd, yd = cf.tensor(x, device=cuda_device), cf.tensor(y, device=cuda_device)
        counting = CountingBackend(backends.backend())
        monkeypatch.setattr(backends, "_chosen", counting)
        for _ in range(2):
            loss = F.cross_entropy(model(xd), yd)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert counting.copies == 0, name
        loss.item()
        assert counting.copies == 1  # reading the loss is the one copy, when asked
        monkeypatch.setattr(backends, "_chosen", counting.inner)


def test_the_allocator_reuses_blocks_across_steps(cuda_device):
    model = tiny_net().to(cuda_device)
    opt = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    train(model, "sgd", cuda_device, 1, rng)  # warm the cache
    before = cf.cuda.memory_stats()
    x, y = batch(rng)
    loss = F.cross_entropy(
        model(cf.tensor(x, device=cuda_device)), cf.tensor(y, device=cuda_device)
    )
    opt.zero_grad()
    loss.backward()
    opt.step()
    after = cf.cuda.memory_stats()
    assert after["runtime_allocations"] == before["runtime_allocations"], (
        "a warm step must not reach cudaMalloc"
    )
    assert after["reuses"] > before["reuses"]


def test_tensor_to_and_back_keeps_values_and_gradients(cuda_device, rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t = cf.tensor(x, requires_grad=True)
    d = t.to(cuda_device)
    assert d.device == "cuda" and t.device == "cpu"
    assert d.to("cuda") is d
    ((d * 3.0).sum()).backward()
    np.testing.assert_array_equal(t.grad, np.full_like(x, 3.0))
    np.testing.assert_array_equal(d.to("cpu").numpy(), x)
    with pytest.raises(TypeError, match="to\\('cpu'\\)"):
        d.numpy()
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        t.to("tpu")


def test_state_dict_round_trip_through_the_device(cuda_device):
    model = tiny_net().to(cuda_device)
    state = model.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    other = tiny_net(seed=9).to(cuda_device)
    other.load_state_dict(state)
    for (_, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data.numpy(), b.data.numpy())


def test_batch_norm_and_concat_train_on_cuda_as_on_the_cpu(cuda_device, rng):
    """Two branches concatenated (inception's join), then batch norm in training mode
    (running statistics updated on the device): loss, every gradient and the running
    statistics match the CPU's."""

    class Branches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(2, 3, 1)
            self.b = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(5)

        def forward(self, x: cf.Tensor) -> cf.Tensor:
            return self.bn(concat([self.a(x), self.b(x)], axis=1))

    x = rng.standard_normal((3, 2, 4, 4)).astype(np.float32)
    labels = rng.integers(0, 80, 3)
    runs = []
    for device in ("cpu", cuda_device):
        cf.manual_seed(5)
        model = Branches().to(device)
        xt = cf.tensor(x, device=device, requires_grad=True)
        loss = F.cross_entropy(model(xt).flatten(), cf.tensor(labels, device=device))
        loss.backward()
        grads = [np.asarray(t.grad) for t in (xt, *model.parameters())]
        model.to("cpu")
        runs.append((loss.item(), grads, model.bn.running_mean, model.bn.running_var))
    (loss_cpu, g_cpu, *stats_cpu), (loss_dev, g_dev, *stats_dev) = runs
    assert loss_dev == pytest.approx(loss_cpu, rel=1e-5)
    for a, b in zip(g_cpu, g_dev):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    for a, b in zip(stats_cpu, stats_dev):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_a_full_sum_backward_stays_on_the_device(cuda_device, rng):
    x = cf.tensor(
        rng.standard_normal((2, 5)).astype(np.float32), device=cuda_device, requires_grad=True
    )
    (x.sum() * 2.0).backward()
    assert type(x.grad) is DeviceArray
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 5), 2.0, np.float32))


def test_fit_and_evaluate_run_on_the_models_device(cuda_device, rng):
    from cnnfast.training.loop import evaluate, fit

    x = rng.standard_normal((12, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 5, 12)
    cpu_model, dev_model = tiny_net(7), tiny_net(7).to(cuda_device)
    for model in (cpu_model, dev_model):
        fit(
            model,
            optim.SGD(model.parameters(), lr=0.1),
            x,
            y,
            batch_size=4,
            epochs=2,
            seed=0,
            verbose=0,
        )
    assert dev_model.device == "cuda"
    loss_cpu, acc_cpu = evaluate(cpu_model, x, y)
    loss_dev, acc_dev = evaluate(dev_model, x, y)
    assert loss_dev == pytest.approx(loss_cpu, rel=1e-4) and acc_dev == acc_cpu


def test_broadcast_sums_and_their_gradients_on_cuda(cuda_device, rng):
    """x + b with b broadcast over x's leading axes (AlphaGo's position-wise bias),
    either way round, and the full and leading-axis sums that give their gradients."""
    x = rng.standard_normal((2, 1, 3, 4)).astype(np.float32)
    b = rng.standard_normal((1, 3, 4)).astype(np.float32)
    w = rng.standard_normal((2, 1, 3, 4)).astype(np.float32)
    grads = []
    for device in ("cpu", cuda_device):
        xt = cf.tensor(x, device=device, requires_grad=True)
        bt = cf.tensor(b, device=device, requires_grad=True)
        wt = cf.tensor(w, device=device)
        y = (xt + bt) - (bt - xt) + (bt + xt)  # = 3x + b
        loss = F.cross_entropy(
            y.reshape(2, 12) + wt.reshape(2, 12), cf.tensor([1, 5], device=device)
        )
        loss.backward()
        grads.append([np.asarray(xt.grad), np.asarray(bt.grad), np.asarray(y.data)])
    for a, d in zip(*grads):
        np.testing.assert_allclose(d, a, rtol=1e-5, atol=1e-6)
    d = DeviceArray.from_numpy(x)
    np.testing.assert_allclose(d.sum(axis=0).numpy(), x.sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(
        d.sum(axis=(0, 1), keepdims=True).numpy(), x.sum(axis=(0, 1), keepdims=True), rtol=1e-6
    )
    with pytest.raises(NotImplementedError, match="all or leading axes"):
        d.sum(axis=2)
    with pytest.raises(ValueError, match="broadcast over its leading axes"):
        d + DeviceArray.from_numpy(np.ones((3, 1), np.float32))


def test_cli_trains_on_cuda_and_resumes_there(mnist, cuda_device, tmp_path, capsys):
    """`cnnfast train --device cuda`: a run resumed from its checkpoint (the optimizer's
    slots back on the device) equals a straight one. (fit on the device against the CPU:
    test_fit_and_evaluate_run_on_the_models_device.)"""
    import json

    from cnnfast.cli import main

    args = [
        "train",
        "keras-mnist-1conv",
        "--epochs",
        "2",
        "--limit-train",
        "8",
        "--limit-test",
        "8",
    ]
    args += ["--batch-size", "8", "--seed", "1", "--verbose", "0", "--device", "cuda"]

    def history(run: str) -> dict:
        return json.loads((tmp_path / run / "history.json").read_text())["history"]

    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    one = [a if a != "2" else "1" for a in args]
    assert main([*one, "--out", str(tmp_path / "resumed")]) == 0
    assert main([*args, "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert json.loads((tmp_path / "straight" / "config.json").read_text())["device"] == "cuda"
    assert history("resumed")["loss"] == history("straight")["loss"]
    assert history("resumed")["val_accuracy"] == history("straight")["val_accuracy"]
