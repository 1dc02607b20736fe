"""Keras's model config (the JSON in a .keras archive's config.json, or a Keras 2
.h5's `model_config` attribute) to cnnfast.keras layers, and back.

Reading takes Keras 3's form and Keras 2's (`batch_input_shape`, `config` as a bare
list of layers in Keras <= 2.2, `Convolution2D`, dtype policies or plain names). A
layer class or a setting cnnfast.keras does not compute (dilation, channels-first
data, a regularizer, an activation it lacks) is an error naming the layer and the
setting, never dropped. Writing gives Keras 3's form for .keras archives and Keras
2's for .h5 files (which Keras 3 reads too).
"""

from __future__ import annotations

from typing import Any

from .. import layers as L

# Keras class names (and their aliases) -> the cnnfast.keras layer class.
_CLASSES: dict[str, type[L.Layer]] = {
    "Conv2D": L.Conv2D,
    "Convolution2D": L.Conv2D,
    "Dense": L.Dense,
    "MaxPooling2D": L.MaxPooling2D,
    "MaxPool2D": L.MaxPooling2D,
    "AveragePooling2D": L.AveragePooling2D,
    "AvgPool2D": L.AveragePooling2D,
    "Dropout": L.Dropout,
    "Flatten": L.Flatten,
    "Activation": L.Activation,
    "BatchNormalization": L.BatchNormalization,
}

# Settings a layer's config may hold that change nothing cnnfast computes at
# inference or in training with these layers (names, dtypes, initializers: the
# weights come from the file; trainable=True).
_IGNORED = {
    "name",
    "trainable",
    "dtype",
    "batch_input_shape",
    "batch_shape",
    "input_shape",
    "kernel_initializer",
    "bias_initializer",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "seed",
    "noise_shape",
    "synchronized",
    "renorm_clipping",
    "renorm_momentum",
}
# Settings accepted only at these values (Keras's defaults); anything else is refused.
_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "data_format": (None, "channels_last"),
    "dilation_rate": (1, (1, 1), [1, 1]),
    "groups": (1,),
    "kernel_regularizer": (None,),
    "bias_regularizer": (None,),
    "activity_regularizer": (None,),
    "kernel_constraint": (None,),
    "bias_constraint": (None,),
    "beta_regularizer": (None,),
    "gamma_regularizer": (None,),
    "beta_constraint": (None,),
    "gamma_constraint": (None,),
    "center": (True,),
    "scale": (True,),
    "renorm": (False,),
    "trainable": (True,),
    "lora_rank": (None,),
    "lora_alpha": (None,),
    "quantization_config": (None,),
}


class ConfigError(ValueError):
    """A config naming a layer or setting cnnfast.keras does not have."""


def _activation(value: Any, where: str) -> str | None:
    if isinstance(value, dict):  # Keras 3 may serialise a function as an object
        value = value.get("config", value.get("class_name"))
    if value in (None, "linear"):
        return None
    if value not in L.ACTIVATIONS:
        raise ConfigError(
            f"{where}: activation {value!r} is not one cnnfast.keras has "
            f"({sorted(L.ACTIVATIONS)} or 'linear')"
        )
    return str(value)


def _pair(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _input_shape(config: dict[str, Any]) -> tuple[int, ...] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return tuple(int(d) for d in config[key][1:])
    if config.get("input_shape") is not None:
        return tuple(int(d) for d in config["input_shape"])
    return None


def _arguments(cls: type[L.Layer], c: dict[str, Any], where: str) -> dict[str, Any]:
    """The constructor arguments of a cnnfast.keras layer from a Keras layer config."""
    if cls is L.Conv2D:
        return {
            "filters": c["filters"],
            "kernel_size": _pair(c["kernel_size"]),
            "strides": _pair(c.get("strides", (1, 1))),
            "padding": c.get("padding", "valid"),
            "activation": _activation(c.get("activation"), where),
            "use_bias": c.get("use_bias", True),
        }
    if cls is L.Dense:
        return {
            "units": c["units"],
            "activation": _activation(c.get("activation"), where),
            "use_bias": c.get("use_bias", True),
        }
    if cls in (L.MaxPooling2D, L.AveragePooling2D):
        return {
            "pool_size": _pair(c.get("pool_size", (2, 2))),
            "strides": _pair(c.get("strides")),
            "padding": c.get("padding", "valid"),
        }
    if cls is L.Dropout:
        return {"rate": c["rate"]}
    if cls is L.Activation:
        return {"activation": _activation(c["activation"], where) or "linear"}
    if cls is L.BatchNormalization:
        axis = c.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        return {
            "axis": axis,
            "momentum": c.get("momentum", 0.99),
            "epsilon": c.get("epsilon", 1e-3),
        }
    return {}


# Keys each class reads (beyond _IGNORED); anything else in a config is unknown.
_READ = {
    L.Conv2D: {"filters", "kernel_size", "strides", "padding", "activation", "use_bias"},
    L.Dense: {"units", "activation", "use_bias"},
    L.MaxPooling2D: {"pool_size", "strides", "padding"},
    L.AveragePooling2D: {"pool_size", "strides", "padding"},
    L.Dropout: {"rate"},
    L.Activation: {"activation"},
    L.BatchNormalization: {"axis", "momentum", "epsilon"},
    L.Flatten: set(),
}


def layer_from_config(spec: Any, source: str) -> L.Layer:
    """One cnnfast.keras layer from a Keras layer entry {"class_name", "config"}."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ConfigError(f"{source}: a layer entry is not {{'class_name', 'config'}}: {spec!r}")
    kind = spec["class_name"]
    c = spec.get("config") or {}
    if not isinstance(c, dict):
        raise ConfigError(f"{source}: layer {kind!r} has a config that is not an object")
    name = c.get("name")
    where = f"{source}: layer {name!r} ({kind})"
    if kind == "InputLayer":
        shape = _input_shape(c)
        if shape is None:
            raise ConfigError(f"{where}: no shape")
        return L.Input(shape=shape, name=name)
    cls = _CLASSES.get(kind)
    if cls is None:
        raise ConfigError(
            f"{where}: cnnfast.keras has no {kind} layer (it has {sorted(set(_CLASSES))})"
        )
    for key, value in c.items():
        if key in _IGNORED or key in _READ[cls]:
            continue
        allowed = _DEFAULTS.get(key)
        if allowed is None:
            raise ConfigError(f"{where}: setting {key}={value!r} is not one cnnfast.keras knows")
        if value not in allowed:
            raise ConfigError(f"{where}: {key}={value!r} is not supported (only {allowed[0]!r})")
    try:
        layer = cls(**_arguments(cls, c, where), name=name, input_shape=_input_shape(c))
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(f"{where}: {err}") from err
    return layer


def layers_from_model_config(config: Any, source: str) -> tuple[str, list[L.Layer]]:
    """The name and layers of a Keras Sequential model config (Keras 3, Keras 2, or
    Keras <= 2.2's bare list)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"{source}: the model config is not {{'class_name', 'config'}}")
    kind = config["class_name"]
    if kind != "Sequential":
        raise ConfigError(
            f"{source}: the model is a Keras {kind}; cnnfast.keras loads Sequential models"
        )
    body = config.get("config")
    if isinstance(body, list):
        name, entries = "sequential", body
    elif isinstance(body, dict) and isinstance(body.get("layers"), list):
        name, entries = str(body.get("name", "sequential")), body["layers"]
    else:
        raise ConfigError(f"{source}: the Sequential config has no list of layers")
    return name, [layer_from_config(e, source) for e in entries]


# --- writing ------------------------------------------------------------------------


def _layer_settings(layer: L.Layer) -> dict[str, Any]:
    """A cnnfast.keras layer's settings under Keras's names and defaults."""
    act = layer.activation or "linear"
    if isinstance(layer, L.Conv2D):
        return {
            "filters": layer.filters,
            "kernel_size": list(layer.kernel),
            "strides": list(layer.strides),
            "padding": layer.padding,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "groups": 1,
            "activation": act,
            "use_bias": layer.use_bias,
        }
    if isinstance(layer, L.Dense):
        return {"units": layer.units, "activation": act, "use_bias": layer.use_bias}
    if isinstance(layer, L.MaxPooling2D):  # (AveragePooling2D too)
        return {
            "pool_size": list(layer.kernel),
            "padding": layer.padding,
            "strides": list(layer.strides),
            "data_format": "channels_last",
        }
    if isinstance(layer, L.Dropout):
        return {"rate": layer.rate, "seed": None, "noise_shape": None}
    if isinstance(layer, L.Flatten):
        return {"data_format": "channels_last"}
    if isinstance(layer, L.Activation):
        return {"activation": act}
    if isinstance(layer, L.BatchNormalization):
        return {
            "axis": -1,
            "momentum": layer.momentum,
            "epsilon": layer.epsilon,
            "center": True,
            "scale": True,
        }
    raise ConfigError(f"layer {layer.name!r}: {type(layer).__name__} has no Keras config")


def keras_class(layer: L.Layer) -> str:
    """The Keras class a layer is saved as (an alias, e.g. Convolution2D, is its class)."""
    for cls in type(layer).__mro__:
        if cls.__name__ in _CLASSES and _CLASSES[cls.__name__] is cls:
            return cls.__name__
    raise ConfigError(f"layer {layer.name!r}: {type(layer).__name__} has no Keras class")


def model_config(model: Any, keras2: bool) -> dict[str, Any]:
    """The Sequential's config as Keras writes it: Keras 3's form (module names,
    build configs) or, with keras2, the Keras 2 form an .h5 file carries."""
    shape = [None, *model._input]

    def entry(class_name: str, config: dict[str, Any], in_shape: list[Any] | None) -> Any:
        if keras2:
            return {"class_name": class_name, "config": config}
        out = {
            "module": "keras.layers",
            "class_name": class_name,
            "config": config,
            "registered_name": None,
        }
        if in_shape is not None:
            out["build_config"] = {"input_shape": in_shape}
        return out

    input_config = {"dtype": "float32", "sparse": False, "ragged": False, "name": "input_layer"}
    input_config["batch_input_shape" if keras2 else "batch_shape"] = shape
    entries = [entry("InputLayer", input_config, None)]
    for i, layer in enumerate(model.layers):
        config = {"name": layer.name, "trainable": True, "dtype": "float32"}
        config.update(_layer_settings(layer))
        entries.append(entry(keras_class(layer), config, [None, *model._in_shape(i)]))
    body = {"name": model.name, "trainable": True, "dtype": "float32", "layers": entries}
    if keras2:
        return {"class_name": "Sequential", "config": body}
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": body,
        "registered_name": None,
        "build_config": {"input_shape": shape},
    }
