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


def test_layers_not_yet_on_cuda_say_so(cuda_device, rng):
    x = cf.tensor(rng.standard_normal((2, 3, 4, 4)).astype(np.float32), device=cuda_device)
    with pytest.raises(NotImplementedError, match="batch_norm: not yet supported on cuda"):
        nn.BatchNorm2d(3).to(cuda_device)(x)
    with pytest.raises(NotImplementedError, match="concat: not yet supported on cuda"):
        concat([x, x])
