"""cnnfast.onnx.export: every zoo net and every padding form, checked two ways.

- Exactly: the exported graph, its weights cast to float64, run by
  onnx.reference.ReferenceEvaluator (ONNX's own NumPy implementation of each op's
  spec), against the model cast to float64 on cnnfast. Both are float64 evaluations
  of the same function: they agree to ~1e-12 unless the graph means something else
  (a pad on the wrong side, a window rule of the wrong kind).
- In float32, where a deploying user runs it: ONNX Runtime's outputs against the
  float64 truth, no further from it than a small multiple of cnnfast's own float32
  outputs are (both are float32 evaluations, with summation orders of their own).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import models, nn
from cnnfast.tensor import Tensor, no_grad

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from cnnfast.onnx import IR_VERSION, OPSET, ExportError, export, to_onnx  # noqa: E402

U32 = 2.0**-24
# The float64 graph and the float64 model agree to this, relative to the output's size.
F64_AGREEMENT = 1e-10
# ONNX's float attributes (LRN's alpha, beta and bias, BatchNormalization's epsilon) are
# float32 by the format's design, so the float64 model gets them rounded as the graph has
# them: otherwise LRN's beta = 0.6 alone differs by 1e-8 relative.
FLOAT32_CONSTANTS = ("alpha", "beta", "k", "eps")


class SpecLRN:
    """ONNX's LRN as its spec defines it, for onnx releases whose reference LRN sums
    over the batch axis instead of the channels (onnx/onnx#7805, fixed by #8331 after
    1.23.2): square sums over channels c - floor((size-1)/2) .. c + ceil((size-1)/2)."""

    @staticmethod
    def make(base):
        class LRN(base):
            op_domain = ""

            def _run(self, x, alpha=None, beta=None, bias=None, size=None):
                # (the evaluator hands float attributes over as np.float32 scalars, in
                # which alpha / size would be rounded: the spec's arithmetic is exact)
                alpha, beta, bias = float(alpha), float(beta), float(bias)
                c = x.shape[1]
                before, after = (size - 1) // 2, -(-(size - 1) // 2)
                sq = np.pad(x**2, ((0, 0), (before, after), (0, 0), (0, 0)))
                sums = sum(sq[:, o : o + c] for o in range(size))
                return ((x / (bias + alpha / size * sums) ** beta).astype(x.dtype),)

        return LRN


def _lrn_is_buggy() -> bool:
    node = onnx.helper.make_node("LRN", ["x"], ["y"], size=3, alpha=1.0, beta=1.0, bias=1.0)
    x = np.ones((1, 3, 1, 1), np.float32)
    (y,) = ReferenceEvaluator(node).run(None, {"x": x})
    return not np.allclose(y[0, 1], 1 / (1 + 3 / 3))  # channel 1 has 3 neighbours of 1


def reference(proto) -> ReferenceEvaluator:
    if not _lrn_is_buggy():
        return ReferenceEvaluator(proto)
    from onnx.reference.op_run import OpRun

    return ReferenceEvaluator(proto, new_ops=[SpecLRN.make(OpRun)])


def randomized(model: nn.Module, seed: int = 1) -> nn.Module:
    """Weights off their initial values (biases and BN's beta are zero, BN's statistics
    0 and 1 at first: an export that dropped them would pass), in eval mode."""
    rng = np.random.default_rng(seed)
    for _, m in model.named_modules():
        for p in m._parameters.values():
            scale = max(float(np.abs(p.data).mean()), 0.05)
            p.data = (p.data + scale * rng.standard_normal(p.shape)).astype(np.float32)
        for name, b in list(m._buffers.items()):
            if name == "running_var":
                setattr(m, name, rng.uniform(0.5, 2.0, b.shape).astype(np.float32))
            else:
                setattr(m, name, (0.3 * rng.standard_normal(b.shape)).astype(np.float32))
    return model.eval()


def forward(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with no_grad():
        return model(Tensor(x)).data


def as_float64(proto):
    """The graph with its weights, input and output in float64."""
    proto = copy.deepcopy(proto)
    for i, t in enumerate(proto.graph.initializer):
        a = numpy_helper.to_array(t)
        if a.dtype == np.float32:
            proto.graph.initializer[i].CopyFrom(
                numpy_helper.from_array(a.astype(np.float64), t.name)
            )
    for v in (*proto.graph.input, *proto.graph.output):
        v.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    return proto


def check_exact(proto, model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The float64 graph against the float64 model; returns the float64 output."""
    model64 = copy.deepcopy(model).astype(np.float64)
    for _, m in model64.named_modules():
        for name in FLOAT32_CONSTANTS:
            if isinstance(getattr(m, name, None), float):
                setattr(m, name, float(np.float32(getattr(m, name))))
    want = forward(model64, x.astype(np.float64))
    (got,) = reference(as_float64(proto)).run(None, {"input": x.astype(np.float64)})
    assert got.shape == want.shape
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(got - want).max()) / scale
    assert err <= F64_AGREEMENT, f"float64 graph off by {err:.3g} (relative)"
    return want


def check_float32(got: np.ndarray, ours: np.ndarray, truth: np.ndarray, who: str) -> None:
    """A float32 runtime no further from the float64 truth than 8x cnnfast's float32
    output is, or a few hundred units of float32 roundoff of the output's size."""
    scale = max(float(np.abs(truth).max()), 1e-30)
    theirs = float(np.abs(got - truth).max()) / scale
    own = float(np.abs(ours - truth).max()) / scale
    assert theirs <= 8 * own + 256 * U32, f"{who}: {theirs:.3g} from float64; cnnfast {own:.3g}"


def ort_run(proto, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"input": x})[0]


ZOO_BATCH = {"alexnet": 1}


@pytest.mark.parametrize("name", models.list())
def test_every_zoo_net_exports_and_computes_what_cnnfast_does(name):
    spec = models.spec(name)
    model = randomized(models.get(name))
    proto = to_onnx(model, spec.input_shape)  # (checked with full_check inside)
    assert proto.ir_version == IR_VERSION and proto.opset_import[0].version == OPSET >= 13
    onnx.checker.check_model(proto, full_check=True)
    batch = ZOO_BATCH.get(name, 2)
    x = np.random.default_rng(2).standard_normal((batch, *spec.input_shape)).astype(np.float32)
    truth = check_exact(proto, model, x)
    ours = forward(model, x)
    check_float32(reference(proto).run(None, {"input": x})[0], ours, truth, "reference")
    check_float32(ort_run(proto, x), ours, truth, "onnxruntime")


def test_dropout_and_training_mode_are_not_exported():
    model = models.get("keras-mnist-2conv").train()
    proto = to_onnx(model, (1, 28, 28))
    assert "Dropout" not in {n.op_type for n in proto.graph.node}
    assert all(m.training for _, m in model.named_modules())  # restored after the export


def test_the_batch_is_symbolic_unless_fixed():
    model = models.get("lenet5")
    dims = to_onnx(model, (1, 28, 28)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    fixed = to_onnx(model, (1, 28, 28), batch=5)
    assert fixed.graph.output[0].type.tensor_type.shape.dim[0].dim_value == 5
    x = np.random.default_rng(0).standard_normal((7, 1, 28, 28)).astype(np.float32)
    check_float32(
        ort_run(to_onnx(model, (1, 28, 28)), x),
        forward(model, x),
        check_exact(to_onnx(model, (1, 28, 28)), model, x),
        "onnxruntime",
    )


def test_weights_keep_their_state_dict_names():
    model = models.get("resnet-blocks")
    names = {t.name for t in to_onnx(model, (3, 32, 32)).graph.initializer}
    assert set(model.state_dict()) <= names


# Layers alone, in every form that changes the graph: each padding form (TensorFlow's
# 'same' asymmetric at stride 2, on odd and even sizes), ceil_mode's overhang, average
# pooling counting its padding or not, LRN's even window, flattening from another axis.
LAYER_CASES = {
    "conv int pad": ((3, 9, 9), nn.Conv2d(3, 4, 3, padding=1)),
    "conv pair pad": ((3, 9, 8), nn.Conv2d(3, 4, (3, 2), padding=(2, 1))),
    "conv 4-tuple pad": ((3, 9, 8), nn.Conv2d(3, 4, 3, padding=(0, 2, 1, 0))),
    "conv same stride 2 odd": ((3, 9, 9), nn.Conv2d(3, 4, 3, stride=2, padding="same")),
    "conv same stride 2 even": ((3, 8, 10), nn.Conv2d(3, 4, 4, stride=2, padding="same")),
    "conv same even kernel": ((3, 7, 7), nn.Conv2d(3, 4, 2, padding="same")),
    "conv dilated groups": ((4, 11, 11), nn.Conv2d(4, 6, 3, 2, 2, dilation=2, groups=2)),
    "conv no bias": ((2, 6, 6), nn.Conv2d(2, 3, 3, bias=False)),
    "maxpool ceil": ((2, 7, 9), nn.MaxPool2d(2, ceil_mode=True)),
    "maxpool ceil stride": ((2, 8, 8), nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
    "maxpool same": ((2, 7, 7), nn.MaxPool2d(2, 2, "same")),
    "maxpool 4-tuple": ((2, 7, 7), nn.MaxPool2d(3, 2, (1, 0, 1, 1))),
    "avgpool counting pad": ((2, 7, 7), nn.AvgPool2d(3, 2, 1)),
    "avgpool counting pad ceil": ((2, 8, 8), nn.AvgPool2d(3, 2, 1, ceil_mode=True)),
    "avgpool not counting pad": ((2, 7, 7), nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    "avgpool same": ((2, 7, 7), nn.AvgPool2d(2, 2, "same", count_include_pad=False)),
    "avgpool ceil": ((2, 7, 7), nn.AvgPool2d(2, ceil_mode=True)),
    "global avgpool": ((3, 5, 4), nn.GlobalAvgPool2d()),
    "lrn odd": ((7, 4, 4), nn.LocalResponseNorm(5, 1e-2, 0.75, 2.0)),
    "lrn even": ((7, 4, 4), nn.LocalResponseNorm(4, 1e-2, 0.6, 1.5)),
    "batchnorm 2d": ((3, 4, 4), nn.BatchNorm2d(3, eps=1e-3)),
    "batchnorm no affine": ((3, 4, 4), nn.BatchNorm2d(3, affine=False)),
    "batchnorm 1d": ((5,), nn.BatchNorm1d(5)),
    "flatten from 2": ((3, 4, 5), nn.Flatten(2)),
    "linear no bias": ((6,), nn.Linear(6, 3, bias=False)),
    "softmax axis 1": ((3, 4), nn.Softmax(axis=1)),
    "softmax last": ((3, 4), nn.Softmax()),
    "sigmoid tanh": ((3, 4), nn.Sequential(nn.Sigmoid(), nn.Tanh())),
    "position bias": ((1, 3, 3), nn.PositionBias((1, 3, 3))),
    "dropout only": ((4,), nn.Dropout(0.5)),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_each_layer_form_exports_exactly(case):
    shape, layer = LAYER_CASES[case]
    model = randomized(nn.Sequential(layer))
    proto = to_onnx(model, shape)
    x = np.random.default_rng(3).standard_normal((3, *shape)).astype(np.float32)
    truth = check_exact(proto, model, x)
    check_float32(ort_run(proto, x), forward(model, x), truth, "onnxruntime")


def test_ceil_mode_and_same_become_explicit_pads():
    proto = to_onnx(nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), (1, 7, 7))
    (node,) = proto.graph.node
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["pads"] == [0, 0, 1, 1] and "ceil_mode" not in attrs
    proto = to_onnx(nn.Sequential(nn.Conv2d(1, 1, 3, 2, "same")), (1, 8, 8))
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
    assert attrs["pads"] == [0, 0, 1, 1]  # TensorFlow's: the odd one at the bottom/right


def test_a_cnnfast_trained_keras_model_exports_with_its_channels_last_input_and_softmax():
    from cnnfast.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from cnnfast.keras.models import Sequential

    cf.manual_seed(0)
    model = Sequential(
        [
            Conv2D(8, (3, 3), activation="relu", padding="same", input_shape=(12, 12, 1)),
            MaxPooling2D((2, 2)),
            Dropout(0.25),
            Flatten(),
            Dense(16, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    rng = np.random.default_rng(7)
    train_x = rng.random((96, 12, 12, 1)).astype(np.float32)
    train_y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 96)]
    model.fit(train_x, train_y, batch_size=32, epochs=2, verbose=0)  # trained on cnnfast
    proto = to_onnx(model)
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [12, 12, 1]
    x = np.random.default_rng(4).random((5, 12, 12, 1)).astype(np.float32)
    want = model.predict(x)
    np.testing.assert_allclose(ort_run(proto, x), want, rtol=0, atol=1e-5)
    (exact,) = reference(as_float64(proto)).run(None, {"input": x.astype(np.float64)})
    np.testing.assert_allclose(exact.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(exact, want, rtol=0, atol=1e-5)
    with pytest.raises(ExportError, match=r"input_shape \(1, 12, 12\) is not the model's own"):
        to_onnx(model, (1, 12, 12))


def test_a_keras_model_ending_in_a_map_exports_it_channels_last():
    from cnnfast.keras.layers import Conv2D
    from cnnfast.keras.models import Sequential

    model = Sequential([Conv2D(3, (3, 3), padding="same", input_shape=(6, 5, 2))])
    randomized(model.engine)
    proto = to_onnx(model)
    dims = [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim[1:]]
    assert dims == [6, 5, 3]
    x = np.random.default_rng(8).standard_normal((2, 6, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(ort_run(proto, x), model.predict(x), rtol=1e-5, atol=1e-6)


class Doubler(nn.Module):
    def forward(self, x):
        return x + x


class MyConv(nn.Conv2d):  # a subclass may have its own forward: not taken for Conv2d
    pass


def test_a_module_without_an_onnx_form_is_named_with_its_path():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.ReLU(), Doubler()))
    with pytest.raises(
        ExportError, match=r"^1\.1 \(Doubler\): no ONNX form; .*Conv2d.*\(1, 2, 6, 6\)"
    ):
        to_onnx(model, (1, 8, 8))
    with pytest.raises(ExportError, match=r"^0 \(MyConv\): no ONNX form"):
        to_onnx(nn.Sequential(MyConv(1, 2, 3)), (1, 8, 8))
    with pytest.raises(ExportError, match=r"the model \(Doubler\): no ONNX form"):
        to_onnx(Doubler(), (3,))


def test_bad_arguments_are_named_before_any_work(tmp_path):
    model = models.get("lenet5")
    with pytest.raises(ExportError, match="input_shape is needed for an nn model"):
        to_onnx(model)
    for bad in [(1, 0, 28), "1x28x28", 28, (1, 28.0, 28), (True, 28, 28)]:
        with pytest.raises(ExportError, match="input_shape must be"):
            to_onnx(model, bad)
    with pytest.raises(ExportError, match=r"input_shape \(3, 28, 28\) does not fit the model: .*3"):
        to_onnx(model, (3, 28, 28))
    with pytest.raises(ExportError, match="batch must be a positive int"):
        to_onnx(model, (1, 28, 28), batch=0)
    with pytest.raises(ExportError, match=r"0\.weight is float64 \(6, 1, 5, 5\): .*float32"):
        to_onnx(copy.deepcopy(model).astype(np.float64), (1, 28, 28))
    with pytest.raises(
        ExportError, match=r"must be a cnnfast\.nn\.Module or a cnnfast\.keras model"
    ):
        to_onnx(object(), (1, 28, 28))


def test_a_failed_export_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "net.onnx"
    export(models.get("lenet5"), path, (1, 28, 28))
    before = path.read_bytes()
    with pytest.raises(ExportError):
        export(nn.Sequential(Doubler()), path, (3,))
    with pytest.raises(ExportError):
        export(models.get("lenet5"), tmp_path / "other.onnx", (2, 28, 28))
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "net.onnx"
    ]
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)


def test_cnnfast_export_writes_a_trained_run_as_onnx(tmp_path, capsys):
    from dataclasses import asdict

    from cnnfast.cli import main
    from cnnfast.training.files import save_json, save_weights
    from cnnfast.training.run import config_for

    run = tmp_path / "run"
    model = randomized(models.get("tf-deep-cnn", seed=3))
    save_json(run / "config.json", asdict(config_for("tf-deep-cnn")))
    save_weights(model, run / "final.npz")
    assert main(["export", str(run), "--onnx"]) == 0
    assert "final.onnx" in capsys.readouterr().out
    proto = onnx.load(str(run / "final.onnx"))
    x = np.random.default_rng(5).standard_normal((4, 1, 28, 28)).astype(np.float32)
    check_float32(ort_run(proto, x), forward(model, x), check_exact(proto, model, x), "ort")
    out = tmp_path / "b8.onnx"
    assert main(["export", str(run), "--onnx", "--out", str(out), "--batch", "8"]) == 0
    assert onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 8
    assert main(["export", str(tmp_path / "missing"), "--onnx"]) == 1
    assert "cnnfast export: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the format is not optional
        main(["export", str(run)])


def test_export_returns_the_path_and_accepts_a_str(tmp_path):
    path = export(models.get("lenet5"), str(tmp_path / "sub" / "a.onnx"), (1, 28, 28))
    assert isinstance(path, Path) and path.exists()


def test_without_onnx_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'cnnfast\[onnx\]'"):
        to_onnx(models.get("lenet5"), (1, 28, 28))


def test_a_model_on_cuda_exports_the_same_graph(cuda_device):
    model = randomized(models.get("udacity-cifar10"))
    on_host = to_onnx(model, (3, 32, 32))
    on_device = to_onnx(copy.deepcopy(model).to(cuda_device), (3, 32, 32))
    assert on_device.graph == on_host.graph  # the weights read back from the device
