"""The Keras functional API on cnnfast: keras.Input, layer calls on symbolic tensors,
keras.Model(inputs, outputs), Add, Concatenate, GlobalAveragePooling2D. Lecture 000's
residual block and inception module written the Keras way are checked against the
same arithmetic written out with cnnfast.ops on the model's own weights (so a wrong
wire, an Add of the wrong tensors or a Concatenate along the wrong axis shows), and
trained."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import keras, ops
from cnnfast.keras import layers as L


def residual_model() -> keras.Model:
    """Lecture 000's (ResNet's) basic block: conv3x3-BN-ReLU-conv3x3-BN, plus the
    block's input, then ReLU (as the zoo's nn.ResidualBlock)."""
    inputs = keras.Input(shape=(8, 8, 3))
    x = L.Conv2D(6, (3, 3), padding="same", activation="relu")(inputs)
    y = L.Conv2D(6, (3, 3), padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.Activation("relu")(y)
    y = L.Conv2D(6, (3, 3), padding="same", use_bias=False)(y)
    y = L.BatchNormalization()(y)
    y = L.Add()([y, x])
    y = L.Activation("relu")(y)
    y = L.GlobalAveragePooling2D()(y)
    return keras.Model(inputs, L.Dense(4, activation="softmax")(y), name="residual")


def inception_model() -> keras.Model:
    """Lecture 000's inception module: 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches,
    concatenated along the channels."""
    inputs = keras.Input(shape=(9, 9, 4))
    b1 = L.Conv2D(3, (1, 1), activation="relu")(inputs)
    b3 = L.Conv2D(2, (1, 1), activation="relu")(inputs)
    b3 = L.Conv2D(4, (3, 3), padding="same", activation="relu")(b3)
    b5 = L.Conv2D(2, (1, 1), activation="relu")(inputs)
    b5 = L.Conv2D(3, (5, 5), padding="same", activation="relu")(b5)
    bp = L.MaxPooling2D((3, 3), strides=(1, 1), padding="same")(inputs)
    bp = L.Conv2D(2, (1, 1), activation="relu")(bp)
    x = L.Concatenate(axis=-1)([b1, b3, b5, bp])
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(3, activation="softmax")(x), name="inception")


def randomize(model: keras.Model, seed: int = 0) -> None:
    """Biases and batch norm's statistics off their first values, so an Add or a wire
    that skipped one would show."""
    rng = np.random.default_rng(seed)
    for p in model.engine.parameters():
        p.data[...] += 0.2 * rng.standard_normal(p.shape).astype(np.float32)
    for _, m in model.engine.named_modules():
        if isinstance(getattr(m, "running_var", None), np.ndarray):
            m.running_mean[...] = 0.3 * rng.standard_normal(m.running_mean.shape)
            m.running_var[...] = rng.uniform(0.5, 2.0, m.running_var.shape)


def weights_of(model: keras.Model) -> dict[str, dict[str, np.ndarray]]:
    """Each layer's engine arrays (weight, bias, running_mean, ...), by layer name."""
    state = model.engine.state_dict()
    out = {}
    for i, layer in enumerate(model.layers):
        key = model._module_prefix(i)
        arrays = {k[len(key) :]: v for k, v in state.items() if k.startswith(key)}
        if arrays:
            out[layer.name] = arrays
    return out


def conv(x, a):
    return ops.conv2d(x, a["weight"], a.get("bias"), padding="same")


def bn(x, a, eps=1e-3):
    return ops.batch_norm_inference(
        x, a["running_mean"], a["running_var"], a["weight"], a["bias"], eps
    )


def dense_softmax(x, a):
    return ops.softmax(x @ a["weight"].T + a["bias"], axis=1)


def test_the_residual_block_computes_its_arithmetic():
    cf.manual_seed(0)
    model = residual_model()
    randomize(model)
    w = weights_of(model)
    names = [layer.name for layer in model.layers if layer.name in w]
    x = np.random.default_rng(1).standard_normal((5, 8, 8, 3)).astype(np.float32)
    xe = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    c1, c2, bn1, c3, bn2, fc = names
    a = ops.relu(conv(xe, w[c1]))
    b = bn(conv(ops.relu(bn(conv(a, w[c2]), w[bn1])), w[c3]), w[bn2])
    features = ops.relu(b + a).mean(axis=(2, 3))
    np.testing.assert_allclose(
        model.predict(x), dense_softmax(features, w[fc]), rtol=1e-5, atol=1e-6
    )


def test_the_inception_module_computes_its_arithmetic():
    cf.manual_seed(0)
    model = inception_model()
    randomize(model)
    w = weights_of(model)
    c = [layer.name for layer in model.layers if layer.name in w]
    order = {layer.name: i for i, layer in enumerate(model.layers)}
    # the branches by their wiring, whatever order the graph walk put them in
    by_kernel = {}
    for name in c[:-1]:
        by_kernel.setdefault(w[name]["weight"].shape[2:], []).append(name)
    x = np.random.default_rng(2).standard_normal((3, 9, 9, 4)).astype(np.float32)
    xe = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    relu = ops.relu
    conv1 = sorted(by_kernel[(1, 1)], key=order.get)
    parents = {
        model.layers[i].name: [model.layers[p].name for p in ps]
        for i, ps in enumerate(model._parents)
    }
    branch = {}
    for name in conv1:
        src = parents[name][0]
        inp = ops.max_pool2d(xe, 3, 1, "same") if src.startswith("max_pooling") else xe
        branch[name] = relu(conv(inp, w[name]))
    (k3,), (k5,) = by_kernel[(3, 3)], by_kernel[(5, 5)]
    branch[k3] = relu(conv(branch[parents[k3][0]], w[k3]))
    branch[k5] = relu(conv(branch[parents[k5][0]], w[k5]))
    concat_layer = next(layer for layer in model.layers if isinstance(layer, L.Concatenate))
    joined = np.concatenate(
        [branch[n] for n in parents[concat_layer.name]], axis=1
    )  # the channels, in the order the model was given them
    assert joined.shape[1] == 3 + 4 + 3 + 2
    want = dense_softmax(joined.mean(axis=(2, 3)), w[c[-1]])
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis, engine", [(-1, 3), (3, 3), (1, 1), (2, 2)])
def test_concatenate_joins_along_keras_axis(axis, engine):
    inputs = keras.Input(shape=(4, 5, 2))
    a = L.Activation("relu")(inputs)
    b = L.Activation("tanh")(inputs)
    model = keras.Model(inputs, L.Concatenate(axis=axis)([a, b]))
    x = np.random.default_rng(3).standard_normal((2, 4, 5, 2)).astype(np.float32)
    want = np.concatenate([np.maximum(x, 0), np.tanh(x)], axis=engine)
    assert model.output_shape == (None, *want.shape[1:])
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-6, atol=1e-7)  # channels-last


def test_summary_has_the_connected_to_column():
    cf.manual_seed(0)
    lines: list[str] = []
    inputs = keras.Input(shape=(8, 8, 3), name="image")
    x = L.Conv2D(4, 3, padding="same", name="a")(inputs)
    y = L.Conv2D(4, 3, padding="same", name="b")(x)
    out = L.Add(name="sum")([y, x])
    keras.Model(inputs, out, name="tiny").summary(print_fn=lines.append)
    rule, double = "_" * 98, "=" * 98
    assert lines == [
        'Model: "tiny"',
        rule,
        " Layer (type)                     Output Shape          Param #     Connected to",
        double,
        " image (InputLayer)               [(None, 8, 8, 3)]     0           []",
        "",
        " a (Conv2D)                       (None, 8, 8, 4)       112         ['image[0][0]']",
        "",
        " b (Conv2D)                       (None, 8, 8, 4)       148         ['a[0][0]']",
        "",
        " sum (Add)                        (None, 8, 8, 4)       0           "
        "['b[0][0]', 'a[0][0]']",
        double,
        "Total params: 260",
        "Trainable params: 260",
        "Non-trainable params: 0",
        rule,
    ]


@pytest.mark.parametrize("build", [residual_model, inception_model])
def test_functional_models_train(build):
    cf.manual_seed(0)
    model = build()
    rng = np.random.default_rng(4)
    shape = model.input_shape[1:]
    classes = model.output_shape[-1]
    x = rng.random((384, *shape)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) * classes * 0.999).astype(int) % classes
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    before = model.evaluate(x, y)[0]
    history = model.fit(x, y, batch_size=32, epochs=6, verbose=0, validation_split=0.25)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y)[0] < before


def test_a_functional_model_saves_and_loads_as_npz(tmp_path):
    cf.manual_seed(0)
    model = inception_model()
    randomize(model)
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    x = np.random.default_rng(5).standard_normal((4, 9, 9, 4)).astype(np.float32)
    model.save(tmp_path / "m.npz")
    loaded = keras.models.load_model(tmp_path / "m.npz")
    assert isinstance(loaded, keras.Model) and loaded.name == "inception"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    other = inception_model()
    other.load_weights(_saved_weights(model, tmp_path))
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def _saved_weights(model, tmp_path):
    path = tmp_path / "w.npz"
    model.save_weights(path)
    return path


def test_keras_names_for_a_functional_model_say_what_works(tmp_path):
    model = residual_model()
    for name in ("m.h5", "m.keras", "m.weights.h5", "m.hdf5"):
        with pytest.raises(ValueError, match="for Sequential models; save a functional Model"):
            model.save(tmp_path / name)
        with pytest.raises(ValueError, match="for Sequential models"):
            model.save_weights(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.hdf5"))
    x, y = np.zeros((4, 8, 8, 3), np.float32), np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="for Sequential models"):  # before any epoch
        model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    model.fit(
        x,
        y,
        epochs=1,
        verbose=0,
        callbacks=[keras.callbacks.ModelCheckpoint(str(tmp_path / "best.npz"))],
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz"]
    seq = keras.models.Sequential([L.Dense(2, input_shape=(3,))])
    seq.save_weights(tmp_path / "s.weights.h5")
    inputs = keras.Input(shape=(3,))
    functional = keras.Model(inputs, L.Dense(2)(inputs))
    with pytest.raises(ValueError, match="for Sequential models"):
        functional.load_weights(tmp_path / "s.weights.h5")


def test_wiring_mistakes_name_the_layer_and_shapes():
    inputs = keras.Input(shape=(6, 6, 3))
    a = L.Conv2D(4, 3, name="c4")(inputs)
    b = L.Conv2D(5, 3, name="c5")(inputs)
    with pytest.raises(
        ValueError,
        match=r"Add layer 'plus': adds tensors of one shape, got "
        r"\[\(None, 4, 4, 4\), \(None, 4, 4, 5\)\]",
    ):
        L.Add(name="plus")([a, b])
    with pytest.raises(ValueError, match=r"Concatenate layer 'j': joins along axis 1 .*"):
        L.Concatenate(axis=1, name="j")([a, b])
    with pytest.raises(ValueError, match="merges a list of two or more tensors"):
        L.Add()(a)
    with pytest.raises(ValueError, match="takes one tensor, got a list of 2"):
        L.Flatten()([a, b])
    with pytest.raises(ValueError, match="is already called on a tensor"):
        conv = L.Conv2D(2, 1)
        conv(a)
        conv(b)
    with pytest.raises(TypeError, match="expected a symbolic tensor"):
        L.Dense(3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Dense layer 'd': needs a flat input"):
        L.Dense(3, name="d")(a)
    with pytest.raises(ValueError, match="merges several tensors: use it in a functional Model"):
        keras.models.Sequential([L.Dense(2, input_shape=(3,)), L.Add()])
    with pytest.raises(ValueError, match="Concatenate layer 'k': axis 0 is not an axis"):
        L.Concatenate(axis=0, name="k")([a, a])


def test_model_inputs_and_outputs_are_checked():
    first, second = keras.Input(shape=(3,)), keras.Input(shape=(3,), name="other")
    out = L.Dense(2)(second)
    with pytest.raises(ValueError, match="depends on input 'other', which is not the model's"):
        keras.Model(first, out)
    with pytest.raises(ValueError, match="one input and one output; inputs has 2"):
        keras.Model([first, second], out)
    hidden = L.Dense(2)(first)
    with pytest.raises(ValueError, match=r"inputs must come from keras\.Input"):
        keras.Model(hidden, L.Dense(2)(hidden))
    with pytest.raises(ValueError, match="pass inputs="):
        keras.Model()
    with pytest.raises(ValueError, match="is a model's input"):
        first(second)
    assert first.shape == (None, 3) and out.shape == (None, 2)


def test_a_functional_model_exports_to_onnx():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    cf.manual_seed(0)
    model = inception_model()
    randomize(model)
    proto = cf.onnx.to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    x = np.random.default_rng(6).standard_normal((4, 9, 9, 4)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x), atol=2e-6)


def test_predict_gives_maps_channels_last_as_keras_does():
    seq = keras.models.Sequential([L.Conv2D(2, 3, input_shape=(5, 6, 1))])
    assert seq.predict(np.zeros((3, 5, 6, 1), np.float32)).shape == (3, 3, 4, 2)
    assert seq.output_shape == (None, 3, 4, 2)
