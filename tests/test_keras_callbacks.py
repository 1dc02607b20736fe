"""keras.callbacks as Keras has them: History, CSVLogger, LearningRateScheduler,
TerminateOnNaN, TensorBoard (event files read back record by record, CRCs checked,
with tensorboardX's protobuf classes), and the epoch logs' BaseLogger averages."""

from __future__ import annotations

import csv
import math
import struct
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import keras
from cnnfast.keras import callbacks as C
from cnnfast.keras import layers as L


def small_model(lr: float = 1e-3) -> keras.models.Sequential:
    cf.manual_seed(0)
    model = keras.models.Sequential(
        [
            L.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        metrics=["accuracy"],
    )
    return model


def data(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1)).astype(np.float32)
    return x, (x.mean(axis=(1, 2, 3)) * 3 * 0.999).astype(int) % 3


class Batches(C.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[dict] = []
        self.epochs: list[dict] = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(dict(logs))


def test_history_is_keras_history():
    model = small_model()
    x, y = data()
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.2)
    assert isinstance(history, C.History) and model.history is history
    assert history.epoch == [0, 1, 2] and history.model is model
    assert history.params == {"epochs": 3, "steps": 3, "verbose": 0}
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(history.history)
    assert all(len(v) == 3 for v in history.history.values())
    again = model.fit(x, y, batch_size=32, epochs=5, initial_epoch=3, verbose=0)
    assert again is not history and again.epoch == [3, 4]


def test_a_history_passed_in_runs_on_across_fits_as_keras_does():
    model = small_model()
    x, y = data()
    mine = C.History()
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[mine])
    model.fit(x, y, batch_size=32, epochs=3, initial_epoch=2, verbose=0, callbacks=[mine])
    assert mine.epoch == [2] and len(mine.history["loss"]) == 3  # epoch starts again
    assert "accuracy" in mine.history and "seconds" not in mine.history  # Keras's names


def test_epoch_logs_are_sample_weighted_means_of_the_batches():
    # 100 samples in batches of 32: 32, 32, 32 and 4; the epoch figure weighs each
    # batch by its samples (BaseLogger), which the last running figure is.
    model = small_model()
    x, y = data()
    seen = Batches()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[seen], shuffle=False)
    assert len(seen.batches) == 4
    assert seen.epochs[0]["loss"] == pytest.approx(seen.batches[-1]["loss"], rel=1e-12)
    assert seen.epochs[0]["accuracy"] == pytest.approx(seen.batches[-1]["accuracy"])


def test_csv_logger_writes_keras_rows(tmp_path):
    path = tmp_path / "log.csv"
    model = small_model()
    x, y = data()
    h = model.fit(
        x,
        y,
        batch_size=32,
        epochs=2,
        verbose=0,
        validation_split=0.2,
        callbacks=[C.CSVLogger(path)],
    )
    rows = list(csv.reader(path.read_text().splitlines()))
    keys = sorted(["loss", "accuracy", "val_loss", "val_accuracy", "lr"])
    assert rows[0] == ["epoch", *keys]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    for i, row in enumerate(rows[1:]):
        for k, v in zip(keys, row[1:]):
            assert float(v) == h.history[k][i]  # written in full precision
    model.fit(
        x,
        y,
        batch_size=32,
        epochs=3,
        initial_epoch=2,
        verbose=0,
        callbacks=[C.CSVLogger(path, separator=";", append=True)],
    )
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("2;") and lines.count(lines[0]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]  # (no temporary left)


def test_learning_rate_scheduler_sets_the_rate_each_epoch(capsys):
    model = small_model(lr=0.01)
    x, y = data()
    seen = []
    schedule = C.LearningRateScheduler(lambda epoch, lr: seen.append(lr) or lr * 0.5, verbose=1)
    h = model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[schedule])
    assert seen == pytest.approx([0.01, 0.005, 0.0025])
    assert h.history["lr"] == pytest.approx([0.005, 0.0025, 0.00125])
    assert model.optimizer.lr == pytest.approx(0.00125)
    out = capsys.readouterr().out
    assert "Epoch 00001: LearningRateScheduler setting learning rate to 0.005." in out
    one_argument = C.LearningRateScheduler(lambda epoch: 1e-3 * (epoch + 1))
    h = model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[one_argument])
    assert h.history["lr"] == pytest.approx([1e-3, 2e-3])
    for bad in ("fast", None, float("nan"), -1.0):
        with pytest.raises(ValueError, match="LearningRateScheduler"):
            schedule = C.LearningRateScheduler((lambda b: lambda epoch: b)(bad))
            model.fit(x, y, epochs=1, verbose=0, callbacks=[schedule])


def test_terminate_on_nan_stops_after_the_batch(capsys):
    model = small_model()
    x, y = data()
    x[40] = np.nan  # in the second batch (no shuffling)
    seen = Batches()
    h = model.fit(
        x,
        y,
        batch_size=32,
        epochs=5,
        verbose=0,
        shuffle=False,
        callbacks=[C.TerminateOnNaN(), seen],
    )
    assert len(seen.batches) == 2 and math.isnan(seen.batches[-1]["loss"])
    assert h.epoch == [0] and math.isnan(h.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


def test_without_terminate_on_nan_training_goes_on():
    model = small_model()
    x, y = data()
    x[40] = np.nan
    h = model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    assert h.epoch == [0, 1]


# --- TensorBoard -------------------------------------------------------------------------


def _masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C of the record framing."""
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def read_events(directory: Path) -> list:
    """Every event of the one events file in `directory`, each record's CRCs checked."""
    from tensorboardX.proto import event_pb2

    (path,) = directory.glob("events.out.tfevents.*")
    raw, events, at = path.read_bytes(), [], 0
    while at < len(raw):
        header = raw[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", raw[at + 8 : at + 12])[0] == _masked_crc(header)
        body = raw[at + 12 : at + 12 + length]
        assert struct.unpack("<I", raw[at + 12 + length : at + 16 + length])[0] == _masked_crc(body)
        events.append(event_pb2.Event.FromString(body))
        at += 16 + length
    return events


def scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for event in read_events(directory):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_tensorboard_writes_keras_curves(tmp_path):
    pytest.importorskip("tensorboardX")
    assert _crc32c(b"123456789") == 0xE3069283  # (the CRC-32C check value)
    model = small_model()
    x, y = data()
    board = C.TensorBoard(log_dir=tmp_path / "logs", histogram_freq=1, update_freq=2)
    h = model.fit(
        x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.25, callbacks=[board]
    )
    train, val = scalars(tmp_path / "logs" / "train"), scalars(tmp_path / "logs" / "validation")
    for name in ("loss", "accuracy", "lr"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1, 2]
        np.testing.assert_allclose(
            [v for _, v in train[f"epoch_{name}"]], h.history[name], rtol=1e-6
        )
    for name in ("loss", "accuracy"):
        got = [v for _, v in val[f"epoch_{name}"]]
        np.testing.assert_allclose(got, h.history[f"val_{name}"], rtol=1e-6)
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8]  # 3 batches an epoch, every 2nd
    histograms = {
        v.tag
        for e in read_events(tmp_path / "logs" / "train")
        for v in e.summary.value
        if v.HasField("histo")
    }
    assert {"conv2d/weight", "conv2d/bias", "dense/weight", "dense/bias"} <= {
        t.split("/", 1)[0].rstrip("_0123456789") + "/" + t.split("/", 1)[1] for t in histograms
    }


def test_tensorboard_arguments_are_checked():
    pytest.importorskip("tensorboardX")
    for bad in ("often", 0, 1.5, True):
        with pytest.raises(ValueError, match="update_freq"):
            C.TensorBoard(update_freq=bad)
    with pytest.raises(ValueError, match="histogram_freq"):
        C.TensorBoard(histogram_freq="1")


def test_tensorboard_without_tensorboardx_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'cnnfast\[tensorboard\]'"):
        C.TensorBoard()
