"""The graph an export builds: nodes, initializers, and a sample run beside them.

Every converter (layers.py, blocks.py) is handed a module, the name of the ONNX value
that holds its input, and a sample of that input as cnnfast computes it. It adds the
module's nodes and returns its output value's name with the module's own output on
the sample. The samples give every value's exact shape, which 'same' padding and
ceil_mode need, and which the export checks ONNX's shape inference against: a
converter whose nodes compute another shape than the module is caught at export, not
by the user's runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import ops
from ..nn import Module
from ..tensor import Tensor, no_grad


class ExportError(ValueError):
    """A model, or a part of it, that cnnfast.onnx cannot write as ONNX; the message
    names the module by its path in the model and its class."""


# Converter(graph, module, path, input name, input sample) -> (output name, output sample)
Converter = Callable[["Graph", Any, str, str, np.ndarray], "tuple[str, np.ndarray]"]
CONVERTERS: dict[type, Converter] = {}


def converts(*classes: type) -> Callable[[Converter], Converter]:
    """Registers a converter for exactly these classes (a subclass may have its own
    forward, so it is not taken for its base)."""

    def register(fn: Converter) -> Converter:
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn

    return register


def run(module: Module, sample: np.ndarray) -> np.ndarray:
    """The module's output on the sample, as the exported graph must compute it (the
    model is in eval mode during an export)."""
    device = module.device
    with no_grad():
        out = module(Tensor(ops.to_device(sample, device)))
    return np.asarray(ops.to_device(out.data, "cpu"))


def host(array: Any) -> np.ndarray:
    return np.asarray(ops.to_device(array, "cpu"))


class Graph:
    """The nodes and initializers of one export, with unique value names."""

    def __init__(self) -> None:
        import onnx  # (export.py has checked that it is installed)

        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.shapes: dict[str, tuple[int, ...]] = {}  # each value's shape on the sample
        self._names: set[str] = set()

    def _unique(self, hint: str) -> str:
        name, i = hint, 1
        while name in self._names:
            name, i = f"{hint}_{i}", i + 1
        self._names.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claims a name for a graph input or output."""
        return self._unique(name)

    def constant(self, name: str, array: Any) -> str:
        """An initializer (a weight, a shape operand); weights keep their state_dict name."""
        value = host(array)
        unique = self._unique(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, unique))
        return unique

    def int64s(self, name: str, values: Sequence[int]) -> str:
        return self.constant(name, np.asarray(values, dtype=np.int64))

    def node(
        self,
        op: str,
        inputs: Sequence[str],
        path: str,
        shape: tuple[int, ...] | None,
        **attributes: Any,
    ) -> str:
        """Adds one node with one output, named after the module path; `shape` is that
        output's shape on the sample as cnnfast computes it (what the export checks ONNX's
        shape inference against; None for a step inside a module that cnnfast has no
        value for)."""
        output = self._unique(f"{path}/{op}" if path else op)
        self.nodes.append(
            self.onnx.helper.make_node(op, list(inputs), [output], name=output, **attributes)
        )
        if shape is not None:
            self.shapes[output] = tuple(shape)
        return output

    def convert(self, module: Any, path: str, x: str, sample: np.ndarray) -> tuple[str, np.ndarray]:
        """The nodes of one module (of any kind the registry has)."""
        convert = CONVERTERS.get(type(module))
        if convert is None:
            known = ", ".join(sorted(cls.__name__ for cls in CONVERTERS))
            raise ExportError(
                f"{path or 'the model'} ({type(module).__name__}): no ONNX form; cnnfast.onnx "
                f"exports these modules: {known} (on an input of shape {sample.shape})"
            )
        return convert(self, module, path, x, sample)


def child_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
