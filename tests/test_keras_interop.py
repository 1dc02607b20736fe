"""Round trips with real Keras (the `keras-test` extra: keras 3 on the PyTorch
backend): the lectures' MNIST and CIFAR-10 nets built and saved by Keras predict the
same on cnnfast, and the same nets trained on cnnfast and saved by it predict the
same in Keras, through .keras, .h5 and .weights.h5. Skipped without keras or a
backend."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("h5py")
try:
    import keras
except Exception as err:  # (keras without a backend fails at import with various errors)
    pytest.skip(f"keras with a backend is not importable: {err}", allow_module_level=True)

from cnnfast.keras import layers as cl
from cnnfast.keras import models as cm

pytestmark = [
    # Keras 3.15's own Variable.numpy() on NumPy 2 (not cnnfast's code)
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy"),
    # cnnfast's files carry no optimizer state: Keras says it starts the optimizer afresh
    pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer"),
]

# float32 forward passes of different engines: a few ulps of the outputs
ATOL = 1e-5


def mnist_2conv(lib):
    """Lecture 002's two-convolution MNIST net (the zoo's keras-mnist-2conv)."""
    L = lib.layers
    return [
        L.Input(shape=(28, 28, 1)),
        L.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(128, activation="relu"),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ]


def cifar10_udacity(lib):
    """Udacity's CIFAR-10 CNN: 2x2 kernels with 'same' padding (TensorFlow's
    asymmetric form), three pools, then Flatten and Dense."""
    L = lib.layers
    return [
        L.Input(shape=(32, 32, 3)),
        L.Conv2D(16, 2, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 2, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(64, 2, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Dropout(0.3),
        L.Flatten(),
        L.Dense(500, activation="relu"),
        L.Dropout(0.4),
        L.Dense(10, activation="softmax"),
    ]


def bn_net(lib):
    """Batch norm on a map and on flat features, strided 'same', average pooling."""
    L = lib.layers
    return [
        L.Input(shape=(15, 15, 3)),
        L.Conv2D(8, 3, padding="same"),
        L.BatchNormalization(),
        L.Activation("relu"),
        L.AveragePooling2D(2, padding="same"),
        L.Conv2D(6, 3, strides=2, padding="same", activation="tanh"),
        L.Flatten(),
        L.BatchNormalization(),
        L.Dense(4, activation="softmax"),
    ]


NETS = {"mnist-2conv": mnist_2conv, "cifar10-udacity": cifar10_udacity, "bn-net": bn_net}


_LAYERS = ["Conv2D", "MaxPooling2D", "AveragePooling2D", "Dropout", "Flatten", "Dense",
           "Activation", "BatchNormalization"]  # fmt: skip
# The two libraries under one spelling: lib.layers.Input, lib.layers.Conv2D, ...
_KerasNamespace = SimpleNamespace(
    layers=SimpleNamespace(Input=keras.Input, **{n: getattr(keras.layers, n) for n in _LAYERS})
)
_CnnfastNamespace = SimpleNamespace(layers=cl)


def keras_model(net, rng):
    model = keras.Sequential(NETS[net](_KerasNamespace))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    # random weights everywhere, moving statistics included (not just the initialiser's)
    model.set_weights(
        [
            (
                rng.uniform(0.5, 1.5, w.shape)
                if w.ndim == 1 and "variance" in v.path
                else rng.standard_normal(w.shape) * (0.1 if w.ndim > 1 else 0.5)
            ).astype(np.float32)
            for v, w in zip(model.weights, model.get_weights())
        ]
    )
    return model


def inputs(model_shape, rng, n=6):
    return rng.random((n, *model_shape), dtype=np.float32)


@pytest.mark.parametrize("net", sorted(NETS))
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_keras_saved_model_predicts_the_same_on_cnnfast(tmp_path, rng, net, suffix):
    km = keras_model(net, rng)
    x = inputs(km.input_shape[1:], rng)
    expected = km.predict(x, verbose=0)
    path = tmp_path / f"model{suffix}"
    km.save(path)
    model = cm.load_model(path)
    assert [layer.name for layer in model.layers] == [layer.name for layer in km.layers]
    assert model.count_params() == km.count_params()
    np.testing.assert_allclose(model.predict(x), expected, atol=ATOL, rtol=0)
    assert model._loss == "categorical" and model._metrics == ["accuracy"]


@pytest.mark.parametrize("net", sorted(NETS))
@pytest.mark.parametrize("name", ["w.weights.h5", "mnist.model.best.hdf5"])
def test_keras_saved_weights_load_into_the_cnnfast_model(tmp_path, rng, net, name):
    km = keras_model(net, rng)
    x = inputs(km.input_shape[1:], rng)
    if name.endswith(".weights.h5"):
        km.save_weights(tmp_path / name)
    else:  # Keras 3 writes the legacy layout through a full-model save; ModelCheckpoint did
        km.save(tmp_path / name)
    model = cm.Sequential(NETS[net](_CnnfastNamespace))
    model.load_weights(tmp_path / name)
    np.testing.assert_allclose(model.predict(x), km.predict(x, verbose=0), atol=ATOL, rtol=0)


@pytest.mark.parametrize("net", sorted(NETS))
@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_a_cnnfast_trained_model_predicts_the_same_in_keras(tmp_path, rng, net, suffix):
    model = cm.Sequential(NETS[net](_CnnfastNamespace))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x = inputs(model.input_shape[1:], rng, n=32)
    y = np.eye(model.output_shape[-1], dtype=np.float32)[
        rng.integers(0, model.output_shape[-1], 32)
    ]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, seed=0)  # moves batch norm's statistics
    expected = model.predict(x[:6])
    path = tmp_path / f"trained{suffix}"
    if suffix == ".weights.h5":
        model.save_weights(path)
        km = keras.Sequential(NETS[net](_KerasNamespace))
        km.load_weights(path)
    else:
        model.save(path)
        km = keras.models.load_model(path)
        # compiled as cnnfast's was (Keras 2's loader gives the loss as a function)
        assert getattr(km.loss, "__name__", km.loss) == "categorical_crossentropy"
        assert type(km.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(km.predict(x[:6], verbose=0), expected, atol=ATOL, rtol=0)
