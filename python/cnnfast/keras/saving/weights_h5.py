"""Keras 3's `.weights.h5` layout (also the `model.weights.h5` inside a `.keras`
archive): `layers/<key>/vars/0, 1, ...`, where a layer's key is its class in snake
case with a counter per class in model order ('conv2d', 'conv2d_1', ...), not its
name, so a model whose layers were named differently still loads by position
within each class; `vars` at the root holds the model's own (none here)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FileFormatError
from . import hdf5
from .layout import LayerWeights


def _snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def keys(weights: list[LayerWeights], kinds: list[str]) -> list[str]:
    """Each layer's key in the file (the Keras class names in `kinds`)."""
    used: dict[str, int] = defaultdict(lambda: -1)
    out = []
    for kind in kinds:
        base = _snake(kind)
        used[base] += 1
        out.append(base if used[base] == 0 else f"{base}_{used[base]}")
    return out


def write_into(f: Any, weights: list[LayerWeights], kinds: list[str], model_name: str) -> None:
    layers = f.create_group("layers")
    for key, lw in zip(keys(weights, kinds), weights):
        group = layers.create_group(key).create_group("vars")
        group.attrs["name"] = lw.layer.name
        for i, array in enumerate(lw.arrays):
            group.create_dataset(str(i), data=array)
    f.create_group("vars").attrs["name"] = model_name
    # The optimizer's state is not carried over (cnnfast's load_model starts the
    # optimizer afresh too); the empty group tells Keras so: it warns that it skips
    # the optimizer's variables, where a missing group would fail the whole load.
    f.create_group("optimizer/vars").attrs["name"] = "optimizer"


def write(path: str | Path, weights: list[LayerWeights], kinds: list[str], name: str) -> Path:
    return hdf5.write_file(path, lambda f: write_into(f, weights, kinds, name))


def is_layout(f: Any) -> bool:
    return "layers" in f and hasattr(f["layers"], "keys")


def read_from(f: Any, path: Path) -> dict[str, list[np.ndarray]]:
    """Every layer key in the file with its arrays in order."""
    if not is_layout(f):
        raise FileFormatError(path, "no 'layers' group: not a Keras 3 weights file")
    out = {}
    for raw_key, layer_group in f["layers"].items():
        # (h5py gives bytes for a name that is not UTF-8: a damaged file's)
        key = raw_key.decode("utf8", "backslashreplace") if isinstance(raw_key, bytes) else raw_key
        vars_group = layer_group.get("vars") if hasattr(layer_group, "get") else None
        if vars_group is None or not hasattr(vars_group, "keys"):
            raise FileFormatError(path, f"layer {key!r} has no 'vars' group")
        count = len(vars_group)
        names = sorted(vars_group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
        if names != [str(i) for i in range(count)]:
            raise FileFormatError(path, f"layer {key!r}'s vars are {names}, not 0..{count - 1}")
        out[key] = [_array(vars_group[str(i)], path, key) for i in range(count)]
    return out


def _array(dataset: Any, path: Path, key: str) -> np.ndarray:
    if not hasattr(dataset, "shape"):
        raise FileFormatError(path, f"layer {key!r}: a variable that is not a dataset")
    return np.asarray(dataset[()])


def read(path: Path) -> dict[str, list[np.ndarray]]:
    with hdf5.open_for_reading(path, "Keras .weights.h5 file") as f:
        return read_from(f, path)
