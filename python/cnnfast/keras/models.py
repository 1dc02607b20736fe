"""keras.models: Sequential, the Model base class (model.py, with the functional API),
and load_model.

Sequential.add() checks each layer against the shape before it, naming the layer
on a misfit; everything else a model does (compile, fit, evaluate, predict, the
weights and files) is Model's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import nn
from ..errors import FileFormatError, reading
from ..training.files import load_npz
from . import optimizers, saving
from .layers import Input, Layer, Shape
from .model import CONFIG_KEY, Model

__all__ = ["Model", "Sequential", "load_model"]


class Sequential(Model):
    """A stack of layers (keras.models.Sequential)."""

    def __init__(self, layers: Sequence[Layer] | None = None, name: str = "sequential") -> None:
        self._setup(name)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer; its shape is checked against the previous output now."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got {type(layer).__name__}")
        if self._engine is not None:
            raise RuntimeError("Sequential.add: the model is already built (compiled or run)")
        if isinstance(layer, Input):
            if self.layers or self._input is not None:
                raise ValueError("Sequential.add: Input must come first")
            self._input = layer.input_shape
            return
        if self._input is None:
            if layer.input_shape is None:
                raise ValueError(
                    f"{type(layer).__name__} layer '{layer.name}': "
                    "the first layer needs input_shape=..."
                )
            self._input = layer.input_shape
        shape = self._shapes[-1] if self._shapes else self._input
        self._shapes.append(layer.output_shape(shape))  # raises, naming the layer, on a misfit
        self.layers.append(layer)

    def _in_shape(self, i: int) -> Shape:
        return self._shapes[i - 1] if i else self._input  # type: ignore[return-value]

    def _build(self) -> nn.Sequential:
        """The engine network: the layers' modules in order, as one nn.Sequential."""
        if self._engine is None:
            if not self.layers:
                raise ValueError("the model has no layers")
            modules: list[nn.Module] = []
            self._prefixes = []
            for i in range(len(self.layers)):
                self._prefixes.append(f"{len(modules)}.")
                modules += self._layer_modules(i)
            self._engine = nn.Sequential(*modules)
        return self._engine  # type: ignore[return-value]

    def _module_prefix(self, i: int) -> str:
        self._build()
        return self._prefixes[i]

    def summary(self, print_fn: Any = print) -> None:
        """Keras's table: each layer's name and type, output shape and parameter count."""
        rule, double = "_" * 65, "=" * 65
        lines = [
            f'Model: "{self.name}"',
            rule,
            f"{'Layer (type)':<28} {'Output Shape':<25} Param #",
            double,
        ]
        for i, layer in enumerate(self.layers):
            kind = f"{layer.name} ({type(layer).__name__})"
            shape = str((None, *self._shapes[i]))
            row = f"{kind:<28} {shape:<25} {sum(layer.params(self._in_shape(i)))}"
            lines += [row, rule if i < len(self.layers) - 1 else double]
        for line in lines + self._param_totals(rule):
            print_fn(line)

    def get_config(self) -> dict[str, Any]:
        """The model's layers and compile settings, as JSON-able values."""
        layers = [layer.get_config() for layer in self.layers]
        if self._input is not None and (not self.layers or self.layers[0].input_shape is None):
            layers.insert(
                0, {"class_name": "Input", "args": [], "kwargs": {"shape": list(self._input)}}
            )
        return {"name": self.name, "layers": layers, "compile": self._compile_config()}


def load_model(filepath: str | Path) -> Model:
    """A saved model: a Keras 3 .keras archive or Keras 2 .h5 model (real Keras's or
    cnnfast's; the layers cnnfast.keras has; anything else is an error naming the
    layer), or cnnfast's npz from a model's save (Sequential or functional). Its layers
    are rebuilt, its weights loaded, and it is compiled again as it was (the optimizer
    starts afresh)."""
    from . import layers as layer_classes

    keras_model = saving.load_model_file(filepath)
    if keras_model is not None:
        return keras_model
    arrays = load_npz(filepath)
    if CONFIG_KEY not in arrays:
        raise FileFormatError(filepath, "holds weights only, no model (use model.load_weights)")
    with reading(filepath, "saved Keras model (its config)"):
        config = json.loads(str(arrays.pop(CONFIG_KEY)))
        model: Model
        if config.get("functional"):
            model = _functional_model(config, layer_classes)
        else:
            model = Sequential(name=config["name"])
            for spec in config["layers"]:
                layer = _named_class(layer_classes, spec["class_name"], "Layer", "layer")
                model.add(layer(*spec["args"], **spec["kwargs"]))
        if config["compile"]:
            c = config["compile"]
            opt = _named_class(optimizers, c["optimizer"]["class_name"], "Optimizer", "optimizer")
            model.compile(
                loss=c["loss"], optimizer=opt(**c["optimizer"]["config"]), metrics=c["metrics"]
            )
        model._build().load_state_dict(arrays)  # (all or nothing: a mismatch names the array)
    return model


def _functional_model(config: dict[str, Any], layer_classes: Any) -> Model:
    """A functional Model from its saved config: each layer made and called on the
    tensors of the layers it names, in the saved order (each after its inputs)."""
    tensors: dict[str, Any] = {}
    first = last = None
    for spec in config["layers"]:
        layer = _named_class(layer_classes, spec["class_name"], "Layer", "layer")(
            *spec["args"], **spec["kwargs"]
        )
        inbound = [tensors[name] for name in spec["inbound"]]  # (KeyError: damaged)
        if not inbound:
            first = last = tensors[layer.name] = layer.output
            continue
        last = tensors[layer.name] = layer(inbound if layer.merges else inbound[0])
    return Model(first, last, name=config["name"])


def _named_class(module: Any, name: Any, base: str, kind: str) -> Any:
    """The class `name` in `module`, a subclass of its `base`; any other name (a
    function, a module, something that does not exist) is a ValueError naming it,
    not "'module' object is not callable"."""
    cls = (
        getattr(module, name, None) if isinstance(name, str) and not name.startswith("_") else None
    )
    if not (isinstance(cls, type) and issubclass(cls, getattr(module, base))):
        raise ValueError(f"the config names {name!r}, which is not a cnnfast.keras {kind}")
    return cls


__all__ = ["Sequential", "load_model"]
