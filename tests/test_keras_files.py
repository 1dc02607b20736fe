"""Keras's own files (cnnfast.keras.saving): Keras 2 HDF5 weights and models, Keras 3
.weights.h5 and .keras archives, written here in Keras's exact layouts with h5py and
read back; every layout conversion checked against a channels-last NumPy forward
pass written from Keras's definitions, not from cnnfast's conversion code; and the
errors for damaged and foreign files. The round trips against real Keras are in
test_keras_interop.py."""

from __future__ import annotations

import json
import warnings
import zipfile

import numpy as np
import pytest

from cnnfast.errors import FileFormatError
from cnnfast.keras.layers import (
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPooling2D,
)
from cnnfast.keras.models import Sequential, load_model
from cnnfast.keras.saving import hdf5 as h5util

h5py = pytest.importorskip("h5py")


# --- an independent channels-last forward pass (Keras's definitions) ---------------------


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def nhwc_conv(x, kernel, bias, stride, padding):
    """Keras Conv2D: x (N, H, W, C), kernel (R, S, C, K)."""
    r, s, _, k = kernel.shape
    if padding == "same":
        (t, b), (l, rr) = _same_pads(x.shape[1], r, stride), _same_pads(x.shape[2], s, stride)
        x = np.pad(x, ((0, 0), (t, b), (l, rr), (0, 0)))
    oh, ow = (x.shape[1] - r) // stride + 1, (x.shape[2] - s) // stride + 1
    y = np.zeros((x.shape[0], oh, ow, k))
    for i in range(r):
        for j in range(s):
            patch = x[:, i : i + stride * oh : stride, j : j + stride * ow : stride, :]
            y += patch @ kernel[i, j]
    return y + bias


def nhwc_max_pool(x, p=2):
    n, h, w, c = x.shape
    return x[:, : h // p * p, : w // p * p].reshape(n, h // p, p, w // p, p, c).max(axis=(2, 4))


def nhwc_forward(x, w):
    """The net of `small_net()` as Keras computes it, from its Keras-layout weights."""
    y = np.maximum(nhwc_conv(x, w["conv"][0], w["conv"][1], 1, "same"), 0)
    g, b, mean, var = w["bn"]
    y = g * (y - mean) / np.sqrt(var + 1e-3) + b
    y = nhwc_max_pool(y)
    y = nhwc_conv(y, w["conv2"][0], w["conv2"][1], 2, "same")
    y = y.reshape(len(y), -1)  # Keras flattens channels-last
    g, b, mean, var = w["bn1"]
    y = g * (y - mean) / np.sqrt(var + 1e-3) + b
    logits = y @ w["dense"][0] + w["dense"][1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def small_net(names: bool = True) -> Sequential:
    """Conv 'same', BN on a map, pool, a strided conv with TensorFlow's asymmetric
    'same' (7 -> 4 with a 2x2 kernel), Flatten, BN on the flat features, Dense."""
    n = (lambda s: {"name": s}) if names else (lambda s: {})
    return Sequential(
        [
            Input(shape=(14, 14, 2)),
            Conv2D(3, 3, padding="same", activation="relu", **n("conv")),
            BatchNormalization(**n("bn")),
            MaxPooling2D(2, **n("pool")),
            Conv2D(4, 2, strides=2, padding="same", **n("conv2")),
            Flatten(**n("flat")),
            BatchNormalization(**n("bn1")),
            Dropout(0.5, **n("drop")),
            Dense(5, activation="softmax", **n("dense")),
        ]
    )


def batch_norm_arrays(rng, n: int) -> list[np.ndarray]:
    """gamma, beta, moving mean, moving variance (positive), as Keras orders them."""
    draws = [rng.uniform(0.5, 1.5, n), rng.standard_normal(n), rng.standard_normal(n)]
    return [a.astype(np.float32) for a in (*draws, rng.uniform(0.5, 2, n))]


def keras_arrays(rng) -> dict[str, list[np.ndarray]]:
    f = np.float32
    return {
        "conv": [rng.standard_normal((3, 3, 2, 3)).astype(f), rng.standard_normal(3).astype(f)],
        "bn": batch_norm_arrays(rng, 3),
        "conv2": [rng.standard_normal((2, 2, 3, 4)).astype(f), rng.standard_normal(4).astype(f)],
        "bn1": batch_norm_arrays(rng, 64),
        "dense": [rng.standard_normal((64, 5)).astype(f) * 0.3, rng.standard_normal(5).astype(f)],
    }


_WEIGHT_NAMES = {
    "conv": ["kernel", "bias"],
    "conv2": ["kernel", "bias"],
    "dense": ["kernel", "bias"],
    "bn": ["gamma", "beta", "moving_mean", "moving_variance"],
    "bn1": ["gamma", "beta", "moving_mean", "moving_variance"],
}
_LAYERS = ["conv", "bn", "pool", "conv2", "flat", "bn1", "drop", "dense"]


def write_keras2(path, arrays, model_config=None, chunked=False, prefix=""):
    """A file in Keras 2's HDF5 layout, written with h5py as keras/engine/saving.py did."""
    with h5py.File(path, "w") as f:
        if model_config is not None:
            f.attrs["model_config"] = json.dumps(model_config).encode()
            f.attrs["keras_version"] = b"2.2.4"
            g = f.create_group("model_weights")
        else:
            g = f
        names = np.array([n.encode() for n in _LAYERS])
        if chunked:  # past HDF5's header limit Keras splits the list: layer_names0, 1, ...
            g.attrs["layer_names0"], g.attrs["layer_names1"] = names[:3], names[3:]
        else:
            g.attrs["layer_names"] = names
        g.attrs["backend"], g.attrs["keras_version"] = b"tensorflow", b"2.2.4"
        for layer in _LAYERS:
            lg = g.create_group(layer)
            weight_names = [f"{prefix}{layer}/{w}:0" for w in _WEIGHT_NAMES.get(layer, [])]
            lg.attrs["weight_names"] = np.array([w.encode() for w in weight_names])
            for w, a in zip(weight_names, arrays.get(layer, [])):
                lg.create_dataset(w, data=a)


def write_keras3_weights(f, arrays):
    """Keras 3's H5IOStore layout: layers/<class key>/vars/<i>."""
    keys = {
        "conv": "conv2d",
        "bn": "batch_normalization",
        "conv2": "conv2d_1",
        "bn1": "batch_normalization_1",
        "dense": "dense",
        "pool": "max_pooling2d",
        "flat": "flatten",
        "drop": "dropout",
    }
    for layer in _LAYERS:
        key = keys[layer]
        g = f.create_group(f"layers/{key}/vars")
        g.attrs["name"] = layer
        for i, a in enumerate(arrays.get(layer, [])):
            g.create_dataset(str(i), data=a)
    f.create_group("vars")


def keras3_config(batch_key="batch_shape"):
    def layer(cls, **config):
        return {"module": "keras.layers", "class_name": cls, "config": config}

    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                layer("InputLayer", **{batch_key: [None, 14, 14, 2]}, name="input_layer"),
                layer(
                    "Conv2D",
                    name="conv",
                    filters=3,
                    kernel_size=[3, 3],
                    padding="same",
                    activation="relu",
                    strides=[1, 1],
                    dilation_rate=[1, 1],
                    data_format="channels_last",
                    kernel_regularizer=None,
                ),
                layer("BatchNormalization", name="bn", axis=-1, momentum=0.99, epsilon=0.001),
                layer(
                    "MaxPooling2D", name="pool", pool_size=[2, 2], strides=[2, 2], padding="valid"
                ),
                layer(
                    "Conv2D",
                    name="conv2",
                    filters=4,
                    kernel_size=[2, 2],
                    strides=[2, 2],
                    padding="same",
                    activation="linear",
                ),
                layer("Flatten", name="flat"),
                layer("BatchNormalization", name="bn1", axis=-1, epsilon=0.001),
                layer("Dropout", name="drop", rate=0.5),
                layer("Dense", name="dense", units=5, activation="softmax"),
            ],
        },
        "compile_config": {
            "loss": "categorical_crossentropy",
            "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.005}},
            "metrics": ["accuracy"],
        },
    }


@pytest.fixture
def data(rng):
    return rng.random((6, 14, 14, 2)).astype(np.float32), keras_arrays(rng)


def test_keras2_weights_file_loads_in_order_and_predicts_as_keras(tmp_path, data):
    x, arrays = data
    path = tmp_path / "mnist.model.best.hdf5"
    write_keras2(path, arrays)
    model = small_net(names=False)  # other names: the order decides
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(x), nhwc_forward(x, arrays), atol=1e-5)


def test_keras2_names_split_over_attributes_and_keras3_weight_paths(tmp_path, data):
    x, arrays = data
    path = tmp_path / "w.h5"
    write_keras2(path, arrays, chunked=True, prefix="sequential/")
    model = small_net()
    model.load_weights(path, by_name=True)
    np.testing.assert_allclose(model.predict(x), nhwc_forward(x, arrays), atol=1e-5)


def test_keras3_weights_h5_and_keras_archive(tmp_path, data):
    x, arrays = data
    path = tmp_path / "model.weights.h5"
    with h5py.File(path, "w") as f:
        write_keras3_weights(f, arrays)
    model = small_net(names=False)
    model.load_weights(path)
    expected = nhwc_forward(x, arrays)
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)

    weights = tmp_path / "inner.h5"
    with h5py.File(weights, "w") as f:
        write_keras3_weights(f, arrays)
    archive = tmp_path / "model.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(keras3_config()))
        z.write(weights, "model.weights.h5")
    loaded = load_model(archive)
    assert [layer.name for layer in loaded.layers] == _LAYERS
    np.testing.assert_allclose(loaded.predict(x), expected, atol=1e-5)
    assert loaded._optimizer.hyper["lr"] == 0.005 and loaded._metrics == ["accuracy"]


def test_keras2_full_model_with_keras2_config(tmp_path, data):
    x, arrays = data
    config = keras3_config(batch_key="batch_input_shape")
    for entry in config["config"]["layers"]:  # Keras 2 has no module keys
        entry.pop("module")
    path = tmp_path / "model.h5"
    write_keras2(
        path, arrays, model_config={"class_name": "Sequential", "config": config["config"]}
    )
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict(x), nhwc_forward(x, arrays), atol=1e-5)
    assert loaded._loss is None  # no training_config: not compiled, as in Keras


@pytest.mark.parametrize("name", ["w.h5", "w.hdf5", "w.weights.h5", "w.npz"])
def test_weights_round_trip_every_format(tmp_path, data, name):
    _, arrays = data
    path = tmp_path / "source.h5"
    write_keras2(path, arrays)
    model = small_net()
    model.load_weights(path)
    model.save_weights(tmp_path / name)
    if name.endswith("h5"):
        with open(tmp_path / name, "rb") as f:
            assert f.read(8) == h5util.SIGNATURE
    other = small_net(names=False)
    other.load_weights(tmp_path / name)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_written_files_have_keras_layouts(tmp_path, data):
    """What cnnfast writes is what Keras writes: read back with h5py alone."""
    x, arrays = data
    model = small_net()
    write_keras2(tmp_path / "src.h5", arrays)
    model.load_weights(tmp_path / "src.h5")
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == _LAYERS
        assert [n.decode() for n in f["conv"].attrs["weight_names"]] == [
            "conv/kernel:0",
            "conv/bias:0",
        ]
        np.testing.assert_array_equal(f["conv"]["conv/kernel:0"][()], arrays["conv"][0])
        np.testing.assert_array_equal(f["dense"]["dense/kernel:0"][()], arrays["dense"][0])
        np.testing.assert_array_equal(f["bn1"]["bn1/gamma:0"][()], arrays["bn1"][0])
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert sorted(f["layers"]) == sorted(
            [
                "conv2d",
                "batch_normalization",
                "max_pooling2d",
                "conv2d_1",
                "flatten",
                "batch_normalization_1",
                "dropout",
                "dense",
            ]
        )
        np.testing.assert_array_equal(f["layers/conv2d_1/vars/0"][()], arrays["conv2"][0])
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], arrays["dense"][0])
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert set(z.namelist()) == {"config.json", "metadata.json", "model.weights.h5"}
        config = json.loads(z.read("config.json"))
    assert config["class_name"] == "Sequential"
    assert [e["class_name"] for e in config["config"]["layers"]][:3] == [
        "InputLayer",
        "Conv2D",
        "BatchNormalization",
    ]
    assert config["compile_config"]["loss"] == "categorical_crossentropy"
    for name in ("m.keras", "m.h5"):
        model.save(tmp_path / name)
        loaded = load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
        assert loaded._loss == "categorical"


def test_names_split_when_past_the_header_limit(tmp_path):
    names = [f"layer_with_a_long_name_{i:05d}_" + "x" * 40 for i in range(2000)]
    with h5py.File(tmp_path / "a.h5", "w") as f:
        h5util.write_names(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names1" in f.attrs
        assert h5util.read_names(f, "layer_names") == names


def test_by_name_and_skip_mismatch(tmp_path, data):
    _, arrays = data
    path = tmp_path / "w.h5"
    arrays = dict(arrays)
    arrays["dense"] = [np.zeros((64, 7), np.float32), np.zeros(7, np.float32)]
    write_keras2(path, arrays)
    model = small_net()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense'.*\(64, 5\).*\(64, 7\)"):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before):  # nothing was assigned
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="skip_mismatch.*'dense'"):
        model.load_weights(path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(model.get_weights()[-1], before[-1])  # dense kept
    assert not np.array_equal(model.get_weights()[0], before[0])  # the rest loaded
    renamed = small_net(names=False)
    kept = renamed.get_weights()
    renamed.load_weights(path, by_name=True, skip_mismatch=True)  # no names match: nothing
    for a, b in zip(renamed.get_weights(), kept):
        np.testing.assert_array_equal(a, b)
    renamed.save_weights(tmp_path / "c.weights.h5")
    with pytest.raises(ValueError, match="by_name is for Keras 2"):
        renamed.load_weights(tmp_path / "c.weights.h5", by_name=True)
    renamed.save_weights(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="by_name"):
        renamed.load_weights(tmp_path / "c.npz", by_name=True)


def test_layer_count_mismatch_names_both_lists(tmp_path, data):
    _, arrays = data
    write_keras2(tmp_path / "w.h5", arrays)
    other = Sequential([Input(shape=(4,)), Dense(2, activation="softmax", name="only")])
    with pytest.raises(ValueError, match=r"weights for 5 layers .*conv.*1 layers.*only"):
        other.load_weights(tmp_path / "w.h5")


# --- damaged and foreign files -------------------------------------------------------


def test_damaged_and_foreign_files(tmp_path, data):
    _, arrays = data
    model = small_net()
    good = tmp_path / "good.h5"
    write_keras2(good, arrays)
    raw = good.read_bytes()
    cases = {
        "truncated.h5": raw[: len(raw) // 2],
        "empty.h5": b"",
        "text.h5": b"this is not HDF5 at all\n",
        "json.keras": b'{"class_name": "Sequential"}',
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(FileFormatError, match=name):
            model.load_weights(tmp_path / name)
        with pytest.raises(FileFormatError, match=name):
            load_model(tmp_path / name)
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FileFormatError, match=r"plain\.h5.*layer_names"):
        model.load_weights(tmp_path / "plain.h5")
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(FileFormatError, match=r"other.keras.*model.weights.h5"):
        load_model(tmp_path / "other.keras")
    with pytest.raises(FileFormatError, match="weights only"):
        load_model(good)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c[1].update(class_name="LSTM"), r"'conv' \(LSTM\).*no LSTM layer"),
        (lambda c: c[1]["config"].update(dilation_rate=[2, 2]), r"'conv'.*dilation_rate"),
        (lambda c: c[1]["config"].update(data_format="channels_first"), r"data_format"),
        (lambda c: c[1]["config"].update(activation="elu"), r"'conv'.*activation 'elu'"),
        (lambda c: c[8]["config"].update(frobnicate=1), r"'dense'.*frobnicate"),
        (lambda c: c[8]["config"].update(units=6), r"layer 'dense'.*\(64, 6\).*\(64, 5\)"),
    ],
)
def test_configs_cnnfast_cannot_compute_are_errors_naming_the_layer(
    tmp_path, data, change, message
):
    _, arrays = data
    config = keras3_config()
    change(config["config"]["layers"])
    with h5py.File(tmp_path / "inner.h5", "w") as f:
        write_keras3_weights(f, arrays)
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(tmp_path / "inner.h5", "model.weights.h5")
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_failed_save_leaves_no_file_and_keeps_the_previous(tmp_path, monkeypatch):
    model = small_net()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import cnnfast.training.files as files

    monkeypatch.setattr(files.os, "fsync", broken)
    saves = [
        (model.save, "m.keras"),
        (model.save, "new.h5"),
        (model.save_weights, "w.h5"),
        (model.save_weights, "new.weights.h5"),
    ]
    for save, name in saves:
        with pytest.raises(OSError, match="could not write"):
            save(tmp_path / name)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_wrong_suffix_for_what_is_saved(tmp_path):
    model = small_net()
    with pytest.raises(ValueError, match=r"model\.save"):
        model.save_weights(tmp_path / "w.keras")
    with pytest.raises(ValueError, match="save_weights"):
        model.save(tmp_path / "m.weights.h5")


@pytest.mark.parametrize("weights_only", [False, True])
def test_model_checkpoint_writes_keras_hdf5_as_the_lectures_use_it(tmp_path, rng, weights_only):
    """ModelCheckpoint('...best.hdf5') writes Keras's HDF5: the whole model, or with
    save_weights_only its weights; load_weights reads either back."""
    from cnnfast.keras.callbacks import ModelCheckpoint

    model = small_net()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x = rng.random((16, 14, 14, 2)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)]
    best = tmp_path / "mnist.model.best.hdf5"
    check = ModelCheckpoint(str(best), save_best_only=True, save_weights_only=weights_only)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_data=(x, y), callbacks=[check])
    with h5py.File(best) as f:
        assert ("model_config" in f.attrs) is not weights_only
        assert "layer_names" in (f.attrs if weights_only else f["model_weights"].attrs)
    other = small_net()
    other.load_weights(best)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    if not weights_only:
        np.testing.assert_array_equal(load_model(best).predict(x), model.predict(x))


@pytest.mark.parametrize("suffix", [".h5", ".keras", ".weights.h5"])
def test_flipped_bytes_give_file_errors_only(tmp_path, suffix):
    """Saved files with a few random bytes changed: each load succeeds or raises
    FileFormatError naming the file (h5py's RuntimeErrors on a damaged heap or
    B-tree included), or a ValueError about what the model cannot take; nothing
    else. (Byte flipping found h5py's RuntimeError, a dataset where a group was
    expected, and non-UTF-8 group names given as bytes.)"""
    model = small_net()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    source = tmp_path / f"source{suffix}"
    (model.save_weights if suffix == ".weights.h5" else model.save)(source)
    raw = source.read_bytes()
    rng = np.random.default_rng(7)
    damaged = tmp_path / f"damaged{suffix}"
    for _ in range(20):
        data = bytearray(raw)
        for _ in range(int(rng.integers(1, 8))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        damaged.write_bytes(bytes(data))
        loads = [lambda: small_net().load_weights(damaged)]
        if suffix != ".weights.h5":
            loads.append(lambda: load_model(damaged))
        for load in loads:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    load()
            except FileFormatError as err:
                assert str(damaged) in str(err)
            except ValueError:
                pass


def test_a_reader_that_hangs_or_crashes_is_a_file_error(tmp_path, monkeypatch):
    """The HDF5 library runs in a child interpreter: one that does not finish in time
    is killed, one that dies is reported, each as a FileFormatError naming the file,
    and the caller's interpreter goes on."""
    from cnnfast.keras.saving import isolated

    path = tmp_path / "w.h5"
    small_net().save_weights(path)
    (tmp_path / "stuck_readers.py").write_text(
        "import os\n"
        "def crash(path):\n    os.abort()\n"
        "def hang(path):\n    while True:\n        pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(FileFormatError, match=r"w\.h5: the HDF5 library stopped \(exit code -6\)"):
        isolated.run("stuck_readers", "crash", path, "test file")
    monkeypatch.setattr(isolated, "_BASE_SECONDS", 3.0)
    with pytest.raises(FileFormatError, match=r"w\.h5: reading it .* did not finish in 3 s"):
        isolated.run("stuck_readers", "hang", path, "test file")
    assert isolated.run("cnnfast.keras.saving.files", "_read_hdf5", path, "Keras file")[0] == (
        "legacy"
    )
