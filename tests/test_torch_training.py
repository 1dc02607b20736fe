"""Training equivalence: the seven lecture nets written in torch.nn (cnnfast.bench.nets'
twins of the zoo), trained k steps with Adam from the same weights, with and without
cnnfast.torch.accelerate, agree.

The bound, in float64. Each cnnfast kernel and PyTorch's differ from the exact result
by at most (n + 2)(u + u) times the sum of their terms' magnitudes (checks/bounds.py;
n <= 4608 terms here, u = 2^-53): about 2e-12 of those magnitudes per layer. Adam's
step lr * m/(sqrt(v) + eps) does not depend on the gradient's scale, so a gradient
that is right to a relative e moves the step by at most ~2e * lr; a gradient that is
itself a cancellation, c times smaller than its terms, is right only to c * 2e-12.
Allowing c up to 1e5 over a dozen layers, every parameter after k steps agrees within
k * lr * 1e-6, and the loss within 1e-9 of itself. The bound is six orders below what
the steps move (>= lr / 2 for some parameters of every net), so a wrong gradient
anywhere fails it. Dropout is PyTorch's in both runs (accelerate(dropout=False)), with
the same seed, so the masks are the same; cnnfast's own dropout is tested after.
Skipped without PyTorch.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import cnnfast as cf

torch = pytest.importorskip("torch")
ct = pytest.importorskip("cnnfast.torch")
from cnnfast.bench.accelerate import LECTURE_NETS  # noqa: E402  (needs torch)
from cnnfast.bench.nets import to_torch  # noqa: E402

NETS = LECTURE_NETS
STEPS, LR, BATCH = 3, 1e-3, 16


def _twin(name: str, dtype: torch.dtype) -> torch.nn.Module:
    spec = cf.models.spec(name)
    return to_torch(cf.models.get(name, seed=0), spec.input_shape).to(dtype)


def _train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    torch.manual_seed(1)  # (the same dropout masks in both runs)
    losses = []
    for step in range(STEPS):
        model.train()
        opt.zero_grad()
        part = slice(step % 2 * (BATCH // 2), step % 2 * (BATCH // 2) + BATCH)
        loss = torch.nn.functional.cross_entropy(model(x[part]), y[part])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", NETS)
def test_accelerated_training_matches_pytorch(name):
    spec = cf.models.spec(name)
    plain = _twin(name, torch.float64)
    start = copy.deepcopy(plain.state_dict())
    fast = ct.accelerate(copy.deepcopy(plain), dropout=False)
    assert ct.report(fast).replaced, "accelerate replaced nothing"
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.random((BATCH + BATCH // 2, *spec.input_shape)))
    y = torch.from_numpy(rng.integers(0, spec.classes, len(x)))
    ct.reset_fallbacks()
    fast_losses = _train(fast, x, y)
    assert ct.fallbacks() == {}
    plain_losses = _train(plain, x, y)
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-9)
    bound = STEPS * LR * 1e-6
    moved = 0.0
    for (n, p), (_, q) in zip(fast.named_parameters(), plain.named_parameters()):
        diff = (p - q).abs().max().item()
        assert diff <= bound, f"{name} {n}: parameters differ by {diff:.3g} > {bound:.3g}"
        moved = max(moved, (q - start[n]).abs().max().item())
    assert moved >= LR / 2, "the steps did not move the parameters: the test proves nothing"


def test_cnnfasts_dropout_trains_deterministically_under_torch_manual_seed():
    spec = cf.models.spec("keras-mnist-2conv")
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.random((BATCH + BATCH // 2, *spec.input_shape), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, len(x)))
    runs = []
    for _ in range(2):
        model = ct.accelerate(_twin("keras-mnist-2conv", torch.float32))
        assert any(type(m) is ct.modules.Dropout for m in model)
        losses = _train(model, x, y)
        runs.append((losses, [p.detach().clone() for p in model.parameters()]))
    assert np.isfinite(runs[0][0]).all()
    assert runs[0][0] == runs[1][0]
    for p, q in zip(runs[0][1], runs[1][1]):
        assert torch.equal(p, q)


def test_the_pytorch_mnist_example_trains_both_ways(mnist):
    """examples/pytorch_mnist_accelerate.py on the real MNIST, one epoch of 8,192
    images: plain PyTorch and accelerate each learn (the full run's 12 epochs are in
    the README)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "pytorch_mnist_accelerate.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--epochs", "1", "--limit", "8192"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    finals = [line for line in proc.stdout.splitlines() if "after 1 epochs" in line]
    assert [line.split(":")[0] for line in finals] == ["torch", "accelerate"], proc.stdout
    for line in finals:
        acc = float(line.split("test accuracy ")[1].split("%")[0])
        assert acc > 80, line  # (chance: 10%)
