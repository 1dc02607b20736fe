"""The functional API's graph: the layers between a Model's input and output tensors
in an order that computes each after its inputs, and the engine network that runs
them (each layer's cnnfast.nn modules as one sub-Sequential, Add and Concatenate as
the engine's sum and concat along the channel-first axis)."""

from __future__ import annotations

from typing import Any

from .. import nn
from .._graph import post_order
from ..tensor import Tensor, concat
from .layers import Concatenate, Input, KerasTensor, Layer, Shape


def walk(inputs: Any, outputs: Any) -> tuple[list[KerasTensor], Input]:
    """The tensors from the one input to the one output, each after its parents (a
    depth-first order, parents in the order they were passed), and the input layer."""
    from .layers import _tensor

    for what, value in (("inputs", inputs), ("outputs", outputs)):
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise ValueError(
                    f"Model: cnnfast.keras models have one input and one output; {what} "
                    f"has {len(value)}"
                )
    first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
    last = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    start, end = _tensor(first, "Model: inputs"), _tensor(last, "Model: outputs")
    if not isinstance(start.layer, Input):
        raise ValueError(f"Model: inputs must come from keras.Input, got {start!r}")
    # (parents given reversed: the first one passed is explored first)
    order = post_order(end, lambda t: reversed(t.parents))
    for t in order:
        if isinstance(t.layer, Input) and t is not start:
            raise ValueError(
                f"Model: the output depends on input '{t.layer.name}', which is not the "
                f"model's input '{start.layer.name}'"
            )
    if start not in order:
        raise ValueError(f"Model: the output does not depend on the input '{start.layer.name}'")
    return order, start.layer  # type: ignore[return-value]


class GraphNetwork(nn.Module):
    """A functional model's engine: module `str(i)` is layer i's modules (with its
    activation); forward runs the layers in order, each on its parents' values."""

    def __init__(self, steps: list[tuple[Layer, tuple[int, ...], list[nn.Module], Shape]]) -> None:
        super().__init__()
        self._plan: list[tuple[int, tuple[int, ...], Any]] = []
        for i, (layer, parents, modules, in_shape) in enumerate(steps):
            setattr(self, str(i), nn.Sequential(*modules))
            axis = layer.engine_axis(len(in_shape)) if isinstance(layer, Concatenate) else None
            self._plan.append((i, parents, axis))
        # The step after which each value is no longer needed (it is dropped then).
        self._last_use = {p: i for i, parents, _ in self._plan for p in parents}

    def forward(self, x: Tensor) -> Tensor:
        values: dict[int, Tensor] = {}
        modules = list(self._modules.values())
        for i, parents, axis in self._plan:
            if not parents:
                v = x
            elif len(parents) == 1:
                v = values[parents[0]]
            elif axis is None:  # Add
                v = values[parents[0]]
                for p in parents[1:]:
                    v = v + values[p]
            else:
                v = concat([values[p] for p in parents], axis=axis)
            values[i] = modules[i](v)
            for p in parents:
                if self._last_use[p] == i:
                    del values[p]
        return values[len(self._plan) - 1]
