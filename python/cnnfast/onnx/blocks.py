"""ONNX nodes for the containers and composite blocks: Sequential, the residual basic
block, the inception module and Kim's sentence CNN. Each mirrors its module's
forward (nn/blocks.py), converting the sub-modules it calls in the order it calls
them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..keras.functional import GraphNetwork
from .graph import Graph, child_path, converts, run


@converts(nn.Sequential)
def sequential(
    g: Graph, m: nn.Sequential, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    # (Sequential's fused ReLU-then-MaxPool is exact, so its layers one by one are it.)
    for name, layer in m._modules.items():
        x, sample = g.convert(layer, child_path(path, name), x, sample)
    return x, sample


def _relu(g: Graph, path: str, x: str, sample: np.ndarray) -> tuple[str, np.ndarray]:
    y = np.maximum(sample, 0)
    return g.node("Relu", [x], path, y.shape), y


@converts(nn.ResidualBlock)
def residual_block(
    g: Graph, m: nn.ResidualBlock, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    at = lambda name: child_path(path, name)  # noqa: E731
    y, ys = g.convert(m.conv1, at("conv1"), x, sample)
    y, ys = g.convert(m.bn1, at("bn1"), y, ys)
    y, ys = _relu(g, at("relu1"), y, ys)
    y, ys = g.convert(m.conv2, at("conv2"), y, ys)
    y, ys = g.convert(m.bn2, at("bn2"), y, ys)
    shortcut, ss = x, sample
    if m.projection is not None:
        shortcut, ss = g.convert(m.projection, at("projection"), x, sample)
        shortcut, ss = g.convert(m.projection_bn, at("projection_bn"), shortcut, ss)
    total = g.node("Add", [y, shortcut], at("add"), (ys + ss).shape)
    out = run(m, sample)
    return g.node("Relu", [total], at("relu2"), out.shape), out


@converts(nn.Inception)
def inception(g: Graph, m: nn.Inception, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    at = lambda name: child_path(path, name)  # noqa: E731

    def chain(*names: str) -> str:
        y, ys = x, sample
        for name in names:
            y, ys = g.convert(getattr(m, name), at(name), y, ys)
            if name != "pool":
                y, ys = _relu(g, at(f"{name}.relu"), y, ys)
        return y

    branches = [
        chain("b1"),
        chain("b3_reduce", "b3"),
        chain("b5_reduce", "b5"),
        chain("pool", "pool_proj"),
    ]
    out = run(m, sample)
    return g.node("Concat", branches, at("concat"), out.shape, axis=1), out


@converts(nn.SentenceCNN)
def sentence_cnn(
    g: Graph, m: nn.SentenceCNN, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    at = lambda name: child_path(path, name)  # noqa: E731
    pooled, samples = [], []
    for h in m.heights:
        name = f"conv{h}"
        y, ys = g.convert(getattr(m, name), at(name), x, sample)
        y, ys = _relu(g, at(f"{name}.relu"), y, ys)
        over_time = nn.MaxPool2d((m.length - h + 1, 1))  # max over time, as forward has it
        y, ys = g.convert(over_time, at(f"{name}.max_over_time"), y, ys)
        y, ys = g.convert(nn.Flatten(), at(f"{name}.flatten"), y, ys)
        pooled.append(y)
        samples.append(ys)
    joined = np.concatenate(samples, axis=1)
    y = g.node("Concat", pooled, at("concat"), joined.shape, axis=1)
    y, joined = g.convert(m.dropout, at("dropout"), y, joined)
    return g.convert(m.fc, at("fc"), y, joined)


@converts(GraphNetwork)
def graph_network(
    g: Graph, m: GraphNetwork, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    """A cnnfast.keras functional model's engine: its layers in its order, Add and
    Concatenate as ONNX's Add and Concat."""
    values: dict[int, tuple[str, np.ndarray]] = {}
    modules = list(m._modules.items())
    for i, parents, axis in m._plan:
        name, module = modules[i]
        at = child_path(path, name)
        if not parents:
            v, vs = x, sample
        elif len(parents) == 1:
            v, vs = values[parents[0]]
        elif axis is None:
            v, vs = values[parents[0]]
            for p in parents[1:]:
                vs = vs + values[p][1]
                v = g.node("Add", [v, values[p][0]], f"{at}.add", vs.shape)
        else:
            vs = np.concatenate([values[p][1] for p in parents], axis=axis)
            v = g.node(
                "Concat", [values[p][0] for p in parents], f"{at}.concat", vs.shape, axis=axis
            )
        values[i] = g.convert(module, at, v, vs)
    return values[len(m._plan) - 1]
