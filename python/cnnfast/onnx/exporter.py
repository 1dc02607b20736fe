"""cnnfast.onnx.export: a model as an ONNX file that ONNX Runtime (or any runtime of
opset 17) runs and gets cnnfast's eval-mode outputs from.

What is written: one input `input` of shape (N, *input_shape) with N symbolic (or the
`batch` given), one output `output`, float32, opset 17 of the default domain, IR
version 8, the weights as initializers under their state_dict names. A cnnfast.keras
model takes Keras's channels-last input and ends with its last activation, as its
predict() does; an nn model returns what its forward returns (logits for the zoo).

Before the file is written the graph passes onnx.checker.check_model(full_check=True),
and ONNX's shape inference must give every value the shape cnnfast computes for it
on a sample input. The file is written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import ops
from ..nn import Module
from . import blocks, layers  # noqa: F401  (they register the converters)
from .graph import ExportError, Graph, host, run

OPSET = 17
IR_VERSION = 8  # the IR version of opset 17's release (ONNX 1.12)
_PROTOBUF_LIMIT = 2**31 - 1  # one serialised ModelProto at most (weights inline)


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as err:
        raise ImportError(
            "cnnfast.onnx needs the onnx package: pip install 'cnnfast[onnx]'"
        ) from err
    return onnx


def _shape(input_shape: Any) -> tuple[int, ...]:
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ExportError(
            f"input_shape must be the shape of one sample (the batch left out), e.g. "
            f"(1, 28, 28); got {input_shape!r}"
        )
    dims = tuple(input_shape)
    if not dims or any(
        isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 1
        for d in dims
    ):
        raise ExportError(
            f"input_shape must be positive ints, the shape of one sample (the batch left "
            f"out), e.g. (1, 28, 28); got {input_shape!r}"
        )
    return tuple(int(d) for d in dims)


def _batch(batch: Any) -> int | None:
    if batch is None:
        return None
    if isinstance(batch, (bool, np.bool_)) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ExportError(f"batch must be a positive int or None (symbolic), got {batch!r}")
    return int(batch)


def _require_float32(module: Module) -> None:
    arrays = [(n, p.data) for n, p in module.named_parameters()] + list(module.named_buffers())
    for name, array in arrays:
        if array.dtype != np.float32:
            raise ExportError(
                f"{name} is {array.dtype} {tuple(array.shape)}: cnnfast.onnx writes float32 "
                "models (model.astype(np.float32) converts this one)"
            )


def _is_keras_model(model: Any) -> bool:
    from ..keras.model import Model as KerasModel

    return isinstance(model, KerasModel)


def _keras_nodes(g: Graph, model: Any, sample: np.ndarray) -> tuple[str, np.ndarray]:
    """A cnnfast.keras model: channels-last in (and out, for a map), its engine, its last
    activation."""
    x = "input"
    engine = model.engine
    if sample.ndim == 4:  # Keras's (N, H, W, C) to the engine's (N, C, H, W)
        sample = np.ascontiguousarray(sample.transpose(0, 3, 1, 2))
        x = g.node("Transpose", [x], "channels_first", sample.shape, perm=[0, 3, 1, 2])
    x, sample = g.convert(engine, "", x, sample)
    if sample.ndim == 4:  # a map out, in Keras's layout as predict gives it
        sample = np.ascontiguousarray(sample.transpose(0, 2, 3, 1))
        x = g.node("Transpose", [x], "channels_last", sample.shape, perm=[0, 2, 3, 1])
    if model._final_sigmoid_logit():
        sample = host(ops.sigmoid(sample))
        x = g.node("Sigmoid", [x], "predict", sample.shape)
    elif model._final_softmax():
        sample = host(ops.softmax(sample, axis=1))
        x = g.node("Softmax", [x], "predict", sample.shape, axis=1)
    return x, sample


def to_onnx(model: Any, input_shape: Any = None, batch: int | None = None) -> Any:
    """The model as an onnx.ModelProto (see the module's docstring); `input_shape` is
    one sample's shape (for a cnnfast.keras model, its own input shape by default)."""
    onnx = _onnx()
    batch = _batch(batch)
    keras = _is_keras_model(model)
    if keras:
        own = tuple(model.input_shape[1:])
        if input_shape is not None and _shape(input_shape) != own:
            raise ExportError(f"input_shape {tuple(input_shape)} is not the model's own {own}")
        input_shape, module = own, model.engine
    elif isinstance(model, Module):
        if input_shape is None:
            raise ExportError(
                "input_shape is needed for an nn model: the shape of one sample, e.g. "
                "cnnfast.models.spec(name).input_shape"
            )
        module = model
    else:
        raise ExportError(
            "model must be a cnnfast.nn.Module or a cnnfast.keras model, "
            f"got {type(model).__name__}"
        )
    shape = _shape(input_shape)
    _require_float32(module)

    modes = [(m, m.training) for _, m in module.named_modules()]
    module.eval()
    try:
        sample = np.zeros((batch or 1, *shape), np.float32)
        engine_sample = sample.transpose(0, 3, 1, 2) if keras and sample.ndim == 4 else sample
        try:  # first, before any node: the model's own error names the layer and shapes
            expected = run(module, np.ascontiguousarray(engine_sample))
        except ValueError as err:
            raise ExportError(f"input_shape {shape} does not fit the model: {err}") from err
        if keras and expected.ndim == 4:  # (a map out: Keras's layout, as predict's)
            expected = expected.transpose(0, 2, 3, 1)
        g = Graph()
        g.reserve("input")
        if keras:
            out, got = _keras_nodes(g, model, sample)
        else:
            out, got = g.convert(module, "", "input", sample)
        if got.shape != expected.shape:  # (a converter out of step with its module)
            raise ExportError(f"the graph's output {got.shape} is not the model's {expected.shape}")
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return _model(onnx, g, out, shape, tuple(expected.shape[1:]), batch)


def _model(
    onnx: Any,
    g: Graph,
    out: str,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    batch: int | None,
) -> Any:
    helper = onnx.helper
    if not any(out in n.output for n in g.nodes):  # (the input itself: Dropout alone)
        g.nodes.append(helper.make_node("Identity", [out], ["output"], name="output"))
    else:  # the last value becomes the graph's output under its public name
        for node in g.nodes:
            for i, name in enumerate(node.output):
                if name == out:
                    node.output[i] = "output"
            for i, name in enumerate(node.input):
                if name == out:
                    node.input[i] = "output"
        g.shapes["output"] = g.shapes.pop(out)
    n = batch if batch is not None else "N"
    graph = helper.make_graph(
        g.nodes,
        "cnnfast",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [n, *in_shape])],
        [helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [n, *out_shape])],
        initializer=g.initializers,
    )
    size = sum(t.ByteSize() for t in g.initializers)
    if size > _PROTOBUF_LIMIT - (1 << 20):
        raise ExportError(
            f"the weights take {size / 2**30:.2f} GiB; one ONNX file holds at most 2 GiB "
            "(protobuf's limit) and cnnfast.onnx does not write external data"
        )
    from .. import __version__

    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cnnfast",
        producer_version=__version__,
    )
    onnx.checker.check_model(model, full_check=True)
    _check_shapes(onnx, model, g.shapes)
    return model


def _check_shapes(onnx: Any, model: Any, expected: dict[str, tuple[int, ...]]) -> None:
    """ONNX's inferred shape of every value against cnnfast's on the sample (a symbolic
    dimension, the batch, is not compared)."""
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    infos = list(inferred.graph.value_info) + list(inferred.graph.output)
    for info in infos:
        if info.name not in expected:
            continue
        dims = info.type.tensor_type.shape.dim
        want = expected[info.name]
        got = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if len(got) != len(want) or any(a is not None and a != b for a, b in zip(got, want)):
            raise ExportError(
                f"{info.name}: ONNX infers shape {got} where cnnfast computes {list(want)} "
                "(a converter out of step with its module)"
            )


def export(model: Any, path: str | Path, input_shape: Any = None, batch: int | None = None) -> Path:
    """Writes the model to `path` as ONNX (see to_onnx); returns the path."""
    from ..training.files import atomic_write

    proto = to_onnx(model, input_shape, batch)
    data = proto.SerializeToString()
    return atomic_write(path, lambda f: f.write(data))
