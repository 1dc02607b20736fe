"""The lecture scripts in examples/ (imports changed; slips marked) run on a slice of
the real data: they finish, their models have the lecture's parameter counts, and
the loss falls. (The full runs and their accuracy: benchmarks/RESULTS.md.)

The CIFAR-10 scripts' loss checks run on a stand-in with CIFAR-10's shapes and dtypes
whose classes differ in colour (so a few steps have something to learn); where
../shared/datasets is beside the repo, one script also runs through its own
cifar10.load_data() on the real CIFAR-10 (JPEG) images, and "Train your Own Data" on
their cat and dog folders. Scripts that train for 20-100 epochs run for 2-3 here (the
one line that sets the epochs is replaced, and the test checks it was there)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.keras import datasets

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, replace: dict[str, str] | None = None) -> dict[str, Any]:
    """Run examples/NAME as a script, with each `replace` key (which must occur exactly
    once) replaced by its value."""
    path = EXAMPLES / name
    source = path.read_text()
    for old, new in (replace or {}).items():
        assert source.count(old) == 1, f"{name}: expected one {old!r}"
        source = source.replace(old, new)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


@pytest.fixture
def plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebooks' figures drawn off screen (matplotlib's Agg backend), closed after."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    yield
    plt.close("all")


@pytest.fixture
def cifar10_standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """keras.datasets.cifar10.load_data() returns a stand-in: 5,640 training images (the
    scripts keep the first 5,000 for validation) and 200 test images, uint8
    (N, 32, 32, 3), labels (N, 1); each class has its own colour, under noise. The
    scripts' checkpoint files go to a temporary directory."""
    rng = np.random.default_rng(0)
    colours = rng.uniform(40, 215, (10, 3))

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n)
        x = colours[y][:, None, None, :] + rng.normal(0, 40, (n, 32, 32, 3))
        return np.clip(np.rint(x), 0, 255).astype(np.uint8), y[:, None].astype(np.uint8)

    data = (split(5640), split(200))
    monkeypatch.setattr(datasets.cifar10, "load_data", lambda path=None: data)
    monkeypatch.chdir(tmp_path)


def slice_mnist(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """keras.datasets.mnist.load_data() returns its first n / n // 4 images (the
    caller asks for the `mnist` fixture, which skips where MNIST is missing)."""
    (x, y), (xt, yt) = datasets.mnist.load_data()
    m = n // 4
    monkeypatch.setattr(
        datasets.mnist, "load_data", lambda path=None: ((x[:n], y[:n]), (xt[:m], yt[:m]))
    )


@pytest.fixture
def mnist_slice(monkeypatch: pytest.MonkeyPatch, mnist: Any) -> None:
    slice_mnist(monkeypatch, 512)


def epoch_losses(out: str) -> list[float]:
    return [float(v) for v in re.findall(r" - loss: ([0-9.]+)", out)]


def test_lecture002_mnist_cnn(mnist_slice, capsys):
    cf.manual_seed(0)
    ns = run_example("lecture002_mnist_cnn.py")
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 225_034
    losses = epoch_losses(out)
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]
    assert "Test accuracy:" in out and ns["score"][1] > 0.7


def test_lecture000_mnist_1conv(mnist_slice, capsys):
    cf.manual_seed(0)
    ns = run_example("lecture000_mnist_1conv.py")
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 693_962  # 320 + 5408 * 128 + 128 + 1290
    losses = epoch_losses(out)
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]


def test_lecture004_mnist_cnn(mnist_slice, capsys):
    cf.manual_seed(0)
    ns = run_example("lecture004_mnist_cnn.py")
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 1_199_882  # Keras's mnist_cnn
    losses = epoch_losses(out)
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]
    assert "Test accuracy:" in out


@pytest.mark.filterwarnings("ignore:Precision is ill-defined")  # classes a slice never predicts
def test_lecture003_mnist_notebook(monkeypatch, mnist, plots, capsys):
    pytest.importorskip("seaborn")
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    slice_mnist(monkeypatch, 2048)  # 4 steps of 512 an epoch
    cf.manual_seed(0)
    ns = run_example("lecture003_mnist_notebook.py")
    out = capsys.readouterr().out
    # 320 + 18,496 + 73,856 + 295,168 + 1,180,160 + 1,179,904 + 32,896 + 1,290
    assert ns["model"].count_params() == 2_782_090
    assert len(ns["history"].history["acc"]) == 3 == len(ns["history"].history["val_acc"])
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert ns["history"].history["val_acc"][-1] > 0.15  # from chance (0.1), slowly: Adadelta
    assert " - acc: " in out and " - val_acc: " in out  # the notebook's metric name
    assert "Number of misclassified examples:" in out and "precision" in out


def test_lecture004_cifar10_mlp(cifar10_standin, plots, capsys):
    cf.manual_seed(0)
    ns = run_example("lecture004_cifar10_mlp.py", {"epochs=20": "epochs=3"})
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 3_590_642
    assert "Total params: 3,590,642" in out
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < 0.5 * losses[0]
    assert "val_accuracy improved from inf" not in out  # it monitors val_loss
    assert "val_loss improved from inf to" in out and "saving model to MLP.weights.best.hdf5" in out
    assert Path("MLP.weights.best.hdf5").exists() and "Test accuracy:" in out


@pytest.mark.parametrize(
    "script, epochs, weights",
    [
        ("lecture004_cifar10_cnn.py", "epochs=100", "model.weights.best.hdf5"),
        ("lecture004_cifar10_augmentation.py", "epochs = 100", "aug_model.weights.best.hdf5"),
    ],
)
def test_lecture004_cifar10_cnns(cifar10_standin, plots, capsys, script, epochs, weights):
    cf.manual_seed(0)
    ns = run_example(script, {epochs: epochs.replace("100", "3")})
    out = capsys.readouterr().out
    assert ns["model"].count_params() == 528_054 and "Total params: 528,054" in out
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < 0.5 * losses[0]
    assert Path(weights).exists() and "Test accuracy:" in out


def test_lecture000_residual_inception_keras(cifar10_standin, capsys):
    # The zoo's resnet-blocks and inception-block, the Keras way: the same parameters
    # (batch norm's running statistics are Keras's non-trainable ones), and they learn.
    from cnnfast import models

    cf.manual_seed(0)
    ns = run_example("lecture000_residual_inception_keras.py", {"EPOCHS = 10": "EPOCHS = 2"})
    out = capsys.readouterr().out
    for name, build in (("resnet-blocks", "resnet_blocks"), ("inception-block", "inception_block")):
        want = models.get(name).num_parameters(trainable_only=False)
        assert ns[build]().count_params() == want
        assert f"Total params: {want:,}" in out
    assert "Connected to" in out and " (Add) " in out and " (Concatenate) " in out
    losses = epoch_losses(out)
    assert len(losses) == 4 and losses[1] < losses[0] and losses[3] < losses[2]
    for name, (loss, accuracy) in ns["scores"].items():
        assert np.isfinite(loss) and accuracy > 0.3, (name, loss, accuracy)


CIFAR_JPEG = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
needs_cifar_jpeg = pytest.mark.skipif(
    not CIFAR_JPEG.exists(), reason="../shared/datasets is not beside the repo"
)


@pytest.mark.filterwarnings("ignore:Precision is ill-defined")  # classes a slice never predicts
def test_lecture003_cifar10_notebook(cifar10_standin, monkeypatch, plots, capsys):
    pytest.importorskip("seaborn")
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    (x, y), (xt, yt) = datasets.cifar10.load_data()  # (the stand-in)
    small = ((x[:1024], y[:1024]), (xt, yt))  # 2 steps of 512 an epoch
    monkeypatch.setattr(datasets.cifar10, "load_data", lambda path=None: small)
    cf.manual_seed(0)
    ns = run_example("lecture003_cifar10_notebook.py")
    out = capsys.readouterr().out
    assert ns["model"].count_params() == cf.models.get("horzyk-cifar10").num_parameters()
    assert ns["model"].count_params() == 1_769_674
    assert len(ns["history"].history["val_acc"]) == 3 and " - val_acc: " in out
    assert "Number of misclassified examples:" in out and "precision" in out


@needs_cifar_jpeg
@pytest.mark.parametrize(
    "script, epochs",
    [
        ("lecture004_cifar10_cnn.py", "epochs=100"),
        ("lecture004_cifar10_augmentation.py", "epochs = 100"),
    ],
)
def test_lecture004_cifar10_cnns_on_the_real_jpegs(
    monkeypatch, tmp_path, plots, capsys, script, epochs
):
    """The scripts' own cifar10.load_data() finds the JPEG folders ($CNNFAST_DATASETS);
    kept to 10,000 + 1,000 images and 2 epochs, the validation accuracy they print beats
    chance clearly."""
    monkeypatch.setenv("CNNFAST_DATASETS", str(CIFAR_JPEG.parent))
    real = datasets.cifar10.load_data

    def sliced(path: Any = None) -> Any:
        (x, y), (xt, yt) = real(path)
        assert x.shape == (50000, 32, 32, 3) and xt.shape == (10000, 32, 32, 3)
        return (x[:10000], y[:10000]), (xt[:1000], yt[:1000])

    monkeypatch.setattr(datasets.cifar10, "load_data", sliced)
    monkeypatch.chdir(tmp_path)
    cf.manual_seed(0)
    ns = run_example(script, {epochs: epochs.replace("100", "2")})
    out = capsys.readouterr().out
    assert "5000 train samples" in out and "Test accuracy:" in out
    val = [float(v) for v in re.findall(r"val_acc(?:uracy)?: ([0-9.]+)", out)]
    assert len(val) == 2 and val[-1] > 0.3, val
    assert ns["model"].count_params() == 528_054


@needs_cifar_jpeg
def test_lecture004_train_your_own_data(monkeypatch, tmp_path, capsys):
    """The lecture's flow_from_directory cell on CIFAR-10 (JPEG)'s cats and dogs, as
    printed but for imports and paths (fewer samples and epochs here)."""
    monkeypatch.setenv("CNNFAST_DATASETS", str(CIFAR_JPEG.parent))
    monkeypatch.chdir(tmp_path)
    cf.manual_seed(0)
    with pytest.warns(DeprecationWarning, match="Keras 1 arguments"):
        ns = run_example(
            "lecture004_train_your_own_data.py",
            {
                "samples_per_epoch = 8000,": "samples_per_epoch = 1000,",
                "nb_epoch = 25,  #": "nb_epoch = 3,  #",
            },
        )
    out = capsys.readouterr().out
    assert "Found 8000 images belonging to 2 classes." in out
    assert "Found 2000 images belonging to 2 classes." in out
    assert ns["training_set"].class_indices == {"cats": 0, "dogs": 1}
    assert len(re.findall(r"10/10 \[", out)) == 3  # 1000 samples = 10 batches of 100
    assert ns["accuracy"] > 0.53  # 2,000 test images: chance is 0.5 +- 0.011
