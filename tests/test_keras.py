"""cnnfast.keras: the lectures' Keras models, built with Keras's names and shapes,
report the lectures' parameter counts and train through cnnfast's engine."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.keras import backend, datasets, optimizers
from cnnfast.keras.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Convolution2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPooling2D,
)
from cnnfast.keras.models import Sequential
from cnnfast.keras.utils import to_categorical


def summary_lines(model: Sequential) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return lines


def mnist_002() -> Sequential:
    """Lecture 002 §5.2's MNIST classifier, as written there."""
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dropout(0.25))
    model.add(Dense(10, activation="softmax"))
    return model


def test_lecture_003_summary_counts_and_shapes():
    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D((2, 2)))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(Flatten())
    model.add(Dense(64, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    lines = summary_lines(model)
    assert "Total params: 93,322" in lines and "Non-trainable params: 0" in lines
    table = "\n".join(lines)
    for shape, params in [
        ("(None, 26, 26, 32)", "320"),
        ("(None, 11, 11, 64)", "18496"),
        ("(None, 3, 3, 64)", "36928"),
        ("(None, 576)", "0"),
        ("(None, 10)", "650"),
    ]:
        assert any(shape in line and line.split()[-1] == params for line in lines), (shape, table)
    assert model.count_params() == 93_322


def test_lecture_004_cifar_counts():
    model = Sequential()
    model.add(
        Convolution2D(
            filters=16, kernel_size=2, padding="same", activation="relu", input_shape=(32, 32, 3)
        )
    )
    model.add(MaxPooling2D(pool_size=2))
    model.add(Convolution2D(filters=32, kernel_size=2, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Convolution2D(filters=64, kernel_size=2, padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=2))
    model.add(Flatten())
    model.add(Dense(500, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    assert model.count_params() == 528_054
    assert model.output_shape == (None, 10)
    assert "Total params: 528,054" in summary_lines(model)

    mlp = Sequential()
    mlp.add(Flatten(input_shape=(32, 32, 3)))
    mlp.add(Dense(1000, activation="relu"))
    mlp.add(Dropout(0.2))
    mlp.add(Dense(512, activation="relu"))
    mlp.add(Dropout(0.2))
    mlp.add(Dense(10, activation="softmax"))
    assert "Total params: 3,590,642" in summary_lines(mlp)


def test_lecture_002_counts():
    assert mnist_002().count_params() == 225_034


def test_shape_errors_at_add_name_the_layer():
    model = Sequential([Input(shape=(3, 3, 2))])
    with pytest.raises(
        ValueError, match=r"Conv2D layer 'big': a 5x5 window does not fit its 3x3 input"
    ):
        model.add(Conv2D(4, 5, name="big"))
    with pytest.raises(ValueError, match="add Flatten"):
        model.add(Dense(4))
    with pytest.raises(ValueError, match="needs input_shape"):
        Sequential().add(Dense(3))
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        Conv2D(4, 3, padding="full")
    with pytest.raises(TypeError, match="unsupported arguments"):
        Dense(3, kernel_regularizer="l2")


def test_layers_compute_what_the_engine_does(rng):
    """A Keras model's predictions are its engine's on the transposed input."""
    model = Sequential(
        [
            Conv2D(3, 3, padding="same", activation="tanh", input_shape=(6, 5, 2)),
            BatchNormalization(),
            AveragePooling2D(2, padding="same"),
            Flatten(),
            Dense(7),
            Activation("relu"),
            Dense(4, activation="softmax"),
        ]
    )
    assert model.output_shape == (None, 4)
    bn_line = next(line for line in summary_lines(model) if "BatchNormalization" in line)
    assert bn_line.split()[-1] == "12"  # 3 channels x (gamma, beta, mean, variance)
    x = rng.random((5, 6, 5, 2)).astype(np.float32)
    probs = model.predict(x)
    engine = model.engine
    engine.eval()
    logits = engine(cf.Tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).data
    np.testing.assert_allclose(probs, cf.reference.softmax(logits, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_fit_evaluate_predict_on_mnist_slice(tmp_path, mnist):
    (x, y), (xt, yt) = datasets.mnist.load_data()
    assert x.dtype == np.uint8 and x.shape == (60000, 28, 28) and y.shape == (60000,)
    assert backend.image_data_format() == "channels_last"
    x = x[:1024].reshape(-1, 28, 28, 1).astype(float) / 255
    xt = xt[:256].reshape(-1, 28, 28, 1).astype(float) / 255
    y, yt = to_categorical(y[:1024], 10), to_categorical(yt[:256], 10)
    cf.manual_seed(0)
    model = mnist_002()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=128, epochs=2, validation_data=(xt, yt), verbose=0, seed=0)
    h = history.history
    assert set(h) >= {"loss", "accuracy", "val_loss", "val_accuracy", "acc", "val_acc"}
    assert h["loss"][1] < h["loss"][0] and h["val_accuracy"][-1] > 0.6
    loss, acc = model.evaluate(xt, yt)
    assert loss == pytest.approx(h["val_loss"][-1], rel=1e-5) and acc == h["val_accuracy"][-1]
    probs = model.predict(xt[:8])
    assert probs.shape == (8, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    path = tmp_path / "mnist.weights.best.hdf5"
    model.save_weights(path)
    assert path.exists()
    other = mnist_002()
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(xt[:8]), probs)
    third = mnist_002()
    third.set_weights(model.get_weights())
    np.testing.assert_array_equal(third.predict(xt[:8]), probs)
    with pytest.raises(ValueError, match=r"array 0 has shape \(3, 3, 1, 32\)"):
        third.set_weights([np.zeros((3, 3, 1, 32)), *model.get_weights()[1:]])


def test_verbose_fit_prints_keras_lines(capsys, rng):
    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(3, activation="softmax")])
    model.compile(
        loss="sparse_categorical_crossentropy", optimizer=optimizers.SGD(learning_rate=0.1)
    )
    model.fit(rng.random((20, 4, 4, 1)), rng.integers(0, 3, 20), batch_size=10, epochs=2, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[1].startswith("2/2 [==============================] - ")
    assert "loss: " in out[1] and out[2] == "Epoch 2/2"


def test_optimizers_carry_kerass_defaults():
    params = list(mnist_002().engine.parameters())
    adam = optimizers.get("adam").build(params)
    assert adam.hyper == {
        "lr": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-7,
        "weight_decay": 0.0,
    }
    assert optimizers.Adadelta().build(params).hyper["lr"] == 1.0
    assert optimizers.RMSprop(lr=0.01).build(params).hyper["lr"] == 0.01
    assert optimizers.SGD(momentum=0.9, nesterov=True).build(params).hyper["nesterov"] is True
    with pytest.raises(ValueError, match="unsupported optimizer"):
        optimizers.get("lbfgs")


def test_compile_and_targets_are_checked(rng):
    model = Sequential([Flatten(input_shape=(2, 2, 1)), Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match="unsupported loss"):
        model.compile(loss="mse")
    with pytest.raises(RuntimeError, match="compile the model first"):
        model.fit(rng.random((4, 2, 2, 1)), np.eye(3)[[0, 1, 2, 0]])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="one-hot"):
        model.fit(rng.random((4, 2, 2, 1)), np.full((4, 3), 1 / 3), verbose=0)
    linear = Sequential([Flatten(input_shape=(2, 2, 1)), Dense(3)])
    with pytest.raises(ValueError, match="activation='softmax'"):
        linear.compile(loss="categorical_crossentropy", optimizer="sgd")


def test_to_categorical():
    np.testing.assert_array_equal(to_categorical([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    assert to_categorical(np.array([[1], [3]])).shape == (2, 4)  # CIFAR's (N, 1) labels
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([5], 3)


def test_keras_callbacks_as_lecture_004_uses_them(tmp_path, rng, capsys):
    """ModelCheckpoint(filepath=..., verbose=1, save_best_only=True), then
    load_weights of that file; ReduceLROnPlateau monitoring the old name 'val_acc'."""
    from cnnfast.keras.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau

    x, y = rng.random((40, 4, 4, 1)), to_categorical(rng.integers(0, 3, 40), 3)
    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    best = tmp_path / "MLP.weights.best.hdf5"
    checkpointer = ModelCheckpoint(filepath=str(best), verbose=1, save_best_only=True)
    reduce = ReduceLROnPlateau(monitor="val_acc", patience=1, verbose=0, factor=0.5, min_lr=1e-5)
    stop = EarlyStopping(monitor="val_loss", patience=5)
    hist = model.fit(
        x[:30],
        y[:30],
        validation_data=(x[30:], y[30:]),
        epochs=4,
        batch_size=10,
        callbacks=[checkpointer, reduce, stop],
        verbose=2,
        seed=1,
    )
    out = capsys.readouterr().out
    assert "Epoch 00001: val_loss improved from inf to" in out and str(best) in out
    assert best.exists() and hist.history["val_acc"] == hist.history["val_accuracy"]
    best_epoch = int(np.argmin(hist.history["val_loss"]))
    model.load_weights(best)
    loss, _ = model.evaluate(x[30:], y[30:])
    assert loss == pytest.approx(hist.history["val_loss"][best_epoch], rel=1e-5)
    periodic = ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.hdf5"))
    model.fit(x, y, epochs=2, batch_size=20, callbacks=[periodic], verbose=0)
    assert (tmp_path / "w.01.hdf5").exists() and (tmp_path / "w.02.hdf5").exists()


def test_image_data_generator_transforms_and_feeds_fit(rng):
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    img = rng.random((9, 8, 2)).astype(np.float32)
    still = ImageDataGenerator()
    np.testing.assert_array_equal(still.random_transform(img), img)
    flip = ImageDataGenerator(horizontal_flip=True, seed=0)
    flips = [flip.random_transform(img) for _ in range(8)]
    assert all(np.array_equal(f, img) or np.array_equal(f, img[:, ::-1]) for f in flips)
    assert any(not np.array_equal(f, img) for f in flips)
    # a whole-pixel shift moves the picture; 'nearest' fill repeats the edge
    shift = ImageDataGenerator(width_shift_range=0.25, seed=1)
    out = shift.random_transform(
        np.tile(np.arange(8, dtype=np.float32)[None, :, None], (9, 1, 2)), rng
    )
    assert np.all(np.diff(out[0, :, 0]) >= 0) and out.min() >= 0 and out.max() <= 7
    # +90 degrees maps output (row, col) to input by [[cos, -sin], [sin, cos]] about the
    # centre, as Keras's apply_affine_transform does: np.rot90 clockwise, exactly
    square = rng.random((7, 7, 1)).astype(np.float32)

    class Ninety:  # the generator's draws: angle 90, no flip
        def uniform(self, lo: float, hi: float) -> float:
            return 90.0

        def random(self) -> float:
            return 1.0

    turned = ImageDataGenerator(rotation_range=90).random_transform(square, Ninety())  # type: ignore[arg-type]
    np.testing.assert_allclose(turned, np.rot90(square, k=-1), atol=1e-5)
    zoom = ImageDataGenerator(zoom_range=0.2, seed=2)
    assert zoom.random_transform(square).shape == square.shape
    scaled = ImageDataGenerator(
        rescale=1 / 255, featurewise_center=True, featurewise_std_normalization=True
    )
    data = rng.integers(0, 256, (20, 5, 5, 3)).astype(np.float32)
    scaled.fit(data)
    batch = scaled.standardize(data)
    np.testing.assert_allclose(batch.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(batch.std(axis=(0, 1, 2)), 1, atol=1e-3)

    gen = ImageDataGenerator(
        width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True, rotation_range=10
    )
    x, y = rng.random((30, 6, 6, 1)), to_categorical(rng.integers(0, 3, 30), 3)
    xb, yb = next(iter(gen.flow(x, y, batch_size=12)))
    assert xb.shape == (12, 6, 6, 1) and yb.shape == (12, 3)
    model = Sequential(
        [
            Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
            Flatten(),
            Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    hist = model.fit(
        gen.flow(x, y, batch_size=10),
        epochs=2,
        steps_per_epoch=3,
        validation_data=(x, y),
        verbose=0,
    )
    assert len(hist.history["loss"]) == 2


def test_steps_per_epoch_counts_batches_across_passes(rng, capsys):
    """Keras's steps_per_epoch: 30 samples in batches of 10 are 3 steps a pass; 2 steps
    leave one batch out of each epoch, 7 take three passes (the last one cut short)."""
    from cnnfast.keras.callbacks import LambdaCallback

    x, y = rng.random((30, 4, 4, 1)), to_categorical(rng.integers(0, 3, 30), 3)
    model = tiny_model()
    for steps in (2, 7):
        counted: list[int] = []
        count = LambdaCallback(on_batch_end=lambda batch, logs, seen=counted: seen.append(batch))
        model.fit(x, y, batch_size=10, epochs=2, steps_per_epoch=steps, callbacks=[count])
        assert counted == list(range(steps)) * 2
        lines = capsys.readouterr().out.splitlines()
        assert lines[1].startswith(f"{steps}/{steps} [=")
    with pytest.raises(ValueError, match="steps_per_epoch must be >= 1"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)


def test_save_and_load_model_round_trip(tmp_path, rng):
    from cnnfast.keras.models import load_model

    model = Sequential()
    model.add(Input(shape=(6, 6, 1)))
    model.add(Conv2D(3, kernel_size=(3, 3), padding="same", activation="relu"))
    model.add(BatchNormalization())
    model.add(MaxPooling2D(pool_size=2))
    model.add(Flatten())
    model.add(Dense(4, activation="softmax"))
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=optimizers.Adam(lr=0.01),
        metrics=["accuracy"],
    )
    x, y = rng.random((16, 6, 6, 1)), rng.integers(0, 4, 16)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # moves BN's running statistics too
    path = tmp_path / "model.h5"
    model.save(path)
    loaded = load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert summary_lines(loaded)[1:] == summary_lines(model)[1:]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert loaded._optimizer.hyper["lr"] == 0.01
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0)  # compiled as it was
    model.save_weights(tmp_path / "weights.h5")
    with pytest.raises(ValueError, match="weights only"):
        load_model(tmp_path / "weights.h5")


def tiny_model(metric: str = "accuracy") -> Sequential:
    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=[metric])
    return model


def test_progress_lines_come_before_callback_messages_with_the_compiled_metric_name(rng, capsys):
    """Keras prints the epoch's line, then its callbacks' messages; metrics=['acc']
    (lecture 003) shows 'acc' / 'val_acc'."""
    from cnnfast.keras.callbacks import ReduceLROnPlateau

    x, y = rng.random((40, 4, 4, 1)), to_categorical(rng.integers(0, 3, 40), 3)
    model = tiny_model("acc")
    # patience 0 and an impossible min_delta: after the first epoch sets the best, the
    # rate is halved after every epoch (Keras's rule)
    reduce = ReduceLROnPlateau(monitor="val_acc", patience=0, factor=0.5, min_delta=2, verbose=1)
    model.fit(x, y, batch_size=10, epochs=3, validation_data=(x, y), callbacks=[reduce])
    text = capsys.readouterr().out
    assert "\r" not in text  # not a terminal: finished lines only
    out = text.splitlines()
    assert out[0] == "Epoch 1/3" and out[2] == "Epoch 2/3"
    assert out[1].startswith("4/4 [==============================] - ")
    assert " - acc: " in out[1] and " - val_acc: " in out[1] and "accuracy" not in out[1]
    assert out[3].startswith("4/4 [") and out[4] == ""
    assert out[5] == "Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.0005."
    assert out[6] == "Epoch 3/3" and out[7].startswith("4/4 [")
    assert out[9] == "Epoch 00003: ReduceLROnPlateau reducing learning rate to 0.00025."


@pytest.mark.parametrize("where", ["terminal", "notebook"])
def test_live_progress_bar_on_a_terminal(rng, capsys, monkeypatch, where):
    """verbose=1 on a terminal or in a Jupyter kernel redraws one line as the epoch
    runs ('\\r', ETA, the running loss) and ends with the finished line; verbose=2
    has no bar."""
    import sys
    import types

    if where == "terminal":
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    else:
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    x, y = rng.random((60, 4, 4, 1)), to_categorical(rng.integers(0, 3, 60), 3)
    model = tiny_model()
    model.fit(x, y, batch_size=10, epochs=1)
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/1\n")
    frames = out.split("\r")[1:]
    assert len(frames) >= 2 and "ETA: " in frames[0] and " - loss: " in frames[0]
    assert frames[0].lstrip().startswith("1/6 [")  # at least the first step is drawn
    last = frames[-1]
    assert last.startswith("6/6 [==============================] - ") and "ETA" not in last
    assert last.endswith("\n") and ("ms/step" in last or "us/step" in last)
    model.fit(x, y, batch_size=10, epochs=1, verbose=2)
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith("6/6 - ") and "[" not in line and "\r" not in line


def test_keras_style_callbacks_and_stop_training(rng):
    """One's own keras.callbacks.Callback (Keras's signatures, self.model,
    self.params, model.stop_training) and LambdaCallback."""
    from cnnfast.keras.callbacks import Callback, LambdaCallback

    seen: dict[str, list] = {"epochs": [], "batches": [], "logs": []}

    class StopAtTwo(Callback):
        def on_train_begin(self, logs=None):
            seen["params"] = dict(self.params)

        def on_epoch_end(self, epoch, logs=None):
            seen["epochs"].append(epoch)
            seen["logs"].append(dict(logs))
            logs["mine"] = 1.0  # a key a callback adds reaches the History, as in Keras
            if epoch == 1:
                self.model.stop_training = True

    batches = LambdaCallback(on_batch_end=lambda batch, logs: seen["batches"].append(batch))
    x, y = rng.random((30, 4, 4, 1)), to_categorical(rng.integers(0, 3, 30), 3)
    model = tiny_model("acc")
    stopper = StopAtTwo()
    hist = model.fit(
        x, y, batch_size=10, epochs=5, validation_split=0.2, callbacks=[stopper, batches], verbose=0
    )
    assert stopper.model is model and seen["params"] == {"epochs": 5, "steps": 3, "verbose": 0}
    assert seen["epochs"] == [0, 1] and len(hist.history["loss"]) == 2
    assert seen["batches"] == [0, 1, 2, 0, 1, 2]
    assert set(seen["logs"][0]) == {"loss", "acc", "val_loss", "val_acc", "lr"}
    assert seen["logs"][1]["acc"] == hist.history["accuracy"][1]
    assert hist.history["mine"] == [1.0, 1.0]
    assert model.history is hist


def test_fit_generator_and_fixed_flows_for_validation_and_evaluate(rng):
    """Keras 2's fit_generator / evaluate_generator, and a rescale-only flow (as a
    test_datagen) for validation and evaluation; a flow that transforms at random
    is refused there."""
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    x = rng.integers(0, 256, (40, 4, 4, 1)).astype(np.float32)
    y = to_categorical(rng.integers(0, 3, 40), 3)
    train = ImageDataGenerator(rescale=1 / 255, width_shift_range=0.25)
    test = ImageDataGenerator(rescale=1 / 255)
    model = tiny_model()
    hist = model.fit_generator(
        train.flow(x, y, batch_size=10),
        steps_per_epoch=4,
        epochs=2,
        validation_data=test.flow(x, y, batch_size=10),
        validation_steps=4,
        verbose=0,
    )
    loss, acc = model.evaluate(x / 255, y)
    assert hist.history["val_loss"][-1] == pytest.approx(loss, rel=1e-5)
    assert model.evaluate(test.flow(x, y)) == pytest.approx([loss, acc], rel=1e-5)
    assert model.evaluate_generator(test.flow(x, y), steps=4) == pytest.approx([loss, acc])
    with pytest.raises(ValueError, match="transforms at random"):
        model.fit(x, y, validation_data=train.flow(x, y), verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit_generator(train.flow(x, y), class_weight={0: 2.0})


def test_manual_seed_makes_a_keras_run_repeatable(rng):
    """Initialisation, dropout, shuffling and augmentation all follow cf.manual_seed."""
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    x, y = rng.random((40, 6, 6, 1)), to_categorical(rng.integers(0, 3, 40), 3)

    def run() -> dict[str, list[float]]:
        cf.manual_seed(5)
        model = Sequential(
            [
                Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
                Dropout(0.3),
                Flatten(),
                Dense(3, activation="softmax"),
            ]
        )
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        gen = ImageDataGenerator(rotation_range=20, horizontal_flip=True)
        return model.fit(gen.flow(x, y, batch_size=8), epochs=3, verbose=0).history

    first, second = run(), run()
    first.pop("seconds"), second.pop("seconds")
    assert first == second
