"""The training loop and the command line: a small net learns MNIST, runs are
reproducible and resumable, and `cnnfast train` writes everything it promises."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.cli import main
from cnnfast.training import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau


def test_a_small_net_learns_mnist_quickly(mnist):
    (x, y), (xt, yt) = mnist
    cf.set_num_threads(cf.get_num_threads())
    model = cf.models.get("keras-mnist-2conv", seed=0)
    opt = cf.optim.Adam(model.parameters())
    start = time.perf_counter()
    history = cf.training.fit(
        model,
        opt,
        x[:4000],
        y[:4000],
        batch_size=64,
        epochs=2,
        validation_data=(xt[:1000], yt[:1000]),
        seed=0,
        verbose=0,
    )
    assert time.perf_counter() - start < 60
    loss = history.history["loss"]
    assert loss[1] < loss[0] < 2.3  # falls from chance level (ln 10 = 2.30)
    _, acc = cf.training.evaluate(model, xt[:1000], yt[:1000])
    assert acc > 0.85  # chance is 0.10
    probs = cf.training.predict(model, xt[:5])
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def synthetic(n=64, seed=0):
    """Two easy classes: bright top half versus bright bottom half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.random((n, 1, 8, 8)).astype(np.float32) * 0.2
    for i in range(n):
        x[i, 0, :4] += y[i]
        x[i, 0, 4:] += 1 - y[i]
    return x, y


def tiny_net():
    from cnnfast import nn

    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.2),
        nn.Flatten(),
        nn.Linear(36, 2),
    )


def test_same_seed_same_history():
    x, y = synthetic()
    runs = []
    for _ in range(2):
        cf.manual_seed(1)
        model = tiny_net()
        h = cf.training.fit(
            model,
            cf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            x,
            y,
            batch_size=16,
            epochs=3,
            seed=4,
            verbose=0,
        )
        runs.append((h.history["loss"], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][k], runs[1][1][k])


def test_callbacks(tmp_path):
    x, y = synthetic()
    cf.manual_seed(0)
    model = tiny_net()
    opt = cf.optim.Adam(model.parameters(), lr=0.01)
    stop = EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # never improves enough
    ckpt = ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy")
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    h = cf.training.fit(
        model,
        opt,
        x,
        y,
        batch_size=16,
        epochs=10,
        validation_data=(x, y),
        callbacks=[stop, ckpt, plateau],
        verbose=0,
    )
    assert len(h) == 2 and stop.stopped_epoch == 1
    assert (tmp_path / "best.npz").exists()
    # logs record the rate each epoch ran with; the plateau halves it after epoch 2
    assert h.history["lr"] == [0.01, 0.01] and opt.lr == 0.005


def test_validation_split_holds_out_the_last_samples():
    x, y = synthetic(50)
    cf.manual_seed(0)
    model = tiny_net()
    h = cf.training.fit(
        model,
        cf.optim.Adam(model.parameters()),
        x,
        y,
        batch_size=8,
        epochs=1,
        validation_split=0.2,
        verbose=0,
    )
    assert "val_accuracy" in h.history


def test_cli_train_writes_every_result_and_resumes_exactly(tmp_path, mnist, capsys):
    args = [
        "train",
        "keras-mnist-1conv",
        "--epochs",
        "2",
        "--limit-train",
        "600",
        "--limit-test",
        "200",
        "--batch-size",
        "50",
        "--seed",
        "3",
        "--verbose",
        "0",
    ]
    straight = tmp_path / "straight"
    assert main([*args, "--out", str(straight)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and str(straight) in out
    for name in [
        "config.json",
        "checkpoint.npz",
        "final.npz",
        "best.npz",
        "history.json",
        "history.csv",
        "metrics.json",
        "classification_report.txt",
        "classification_report.json",
        "accuracy.png",
        "loss.png",
        "confusion_matrix.png",
        "misclassified.png",
    ]:
        assert (straight / name).exists(), name
    metrics = json.loads((straight / "metrics.json").read_text())
    for key in ("test_accuracy", "test_loss", "epochs", "train_seconds"):
        assert key in metrics
    assert metrics["epochs"] == 2
    report = (straight / "classification_report.txt").read_text()
    assert "precision" in report and "recall" in report and "f1-score" in report
    assert (straight / "history.csv").read_text().count("\n") == 3

    # An interrupted run: one epoch, then --resume for the second.
    resumed = tmp_path / "resumed"
    one = [a if a != "2" else "1" for a in args]
    assert main([*one, "--out", str(resumed)]) == 0
    assert main([*args, "--out", str(resumed), "--resume"]) == 0
    a = json.loads((straight / "history.json").read_text())
    b = json.loads((resumed / "history.json").read_text())
    assert a["history"]["loss"] == b["history"]["loss"]
    assert a["history"]["val_accuracy"] == b["history"]["val_accuracy"]
    wa, wb = (
        cf.training.load_npz(straight / "final.npz"),
        cf.training.load_npz(resumed / "final.npz"),
    )
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])

    # evaluate and ensemble read the runs back.
    capsys.readouterr()
    assert main(["evaluate", str(straight)]) == 0
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["ensemble", str(straight), str(resumed)]) == 0
    assert "ensemble of 2: test accuracy" in capsys.readouterr().out


def test_cli_models_lists_the_zoo(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in cf.models.list():
        assert name in out
    assert "93,322" in out


def test_cli_train_rejects_a_mismatched_data_set(tmp_path, mnist, capsys):
    args = ["train", "udacity-cifar10", "--dataset", "mnist", "--epochs", "1"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 1  # one line, no traceback
    assert re.search(r"error: udacity-cifar10 takes inputs \(3, 32, 32\)", capsys.readouterr().err)
    from cnnfast.training.run import config_for, load_dataset

    with pytest.raises(ValueError, match=r"takes inputs \(3, 32, 32\)"):  # (a DataError)
        load_dataset(config_for("udacity-cifar10", dataset="mnist"))


def test_cli_trains_on_cifar10_files_with_augmentation(tmp_path, capsys):
    rng = np.random.default_rng(0)
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        y = rng.integers(0, 10, 8).astype(np.uint8)
        x = rng.integers(0, 256, (8, 3 * 32 * 32), dtype=np.uint8)
        np.concatenate([y[:, None], x], axis=1).tofile(d / name)
    out = tmp_path / "run"
    args = "train udacity-cifar10 --epochs 1 --batch-size 16 --augment --optimizer rmsprop"
    assert (
        main([*args.split(), "--data-dir", str(tmp_path), "--out", str(out), "--verbose", "0"]) == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "cifar10" and 0 <= metrics["test_accuracy"] <= 1
