"""Keras 2's HDF5 layout (`.h5` / `.hdf5`), as keras.Model.save_weights and
ModelCheckpoint wrote it in the lectures, and as Keras 3 still reads and writes it.

A weights group holds attribute `layer_names` (every layer, in order), `backend` and
`keras_version`; a subgroup per layer holds `weight_names` (e.g. 'conv2d/kernel:0',
or Keras 3's 'sequential/conv2d/kernel') and the datasets at those paths. A weights
file is that group at its root; a full model file has it as `model_weights`, beside
the JSON attributes `model_config` and `training_config`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ... import __version__
from ...errors import FileFormatError
from . import hdf5
from .layout import LayerWeights

# The Keras release whose layout the files written here follow: Keras 3's reader
# treats only "1" (Keras 1's layout) specially.
LAYOUT_VERSION = "2.15.0"


def write_weights_group(group: Any, weights: list[LayerWeights]) -> None:
    hdf5.write_names(group, "layer_names", [lw.layer.name for lw in weights])
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = LAYOUT_VERSION.encode()
    group.attrs["cnnfast_version"] = __version__.encode()
    for lw in weights:
        layer_group = group.create_group(lw.layer.name)
        names = [f"{lw.layer.name}/{n}:0" for n in lw.names]
        hdf5.write_names(layer_group, "weight_names", names)
        for name, array in zip(names, lw.arrays):
            layer_group.create_dataset(name, data=array)


def read_weights_group(group: Any, path: Path) -> list[tuple[str, list[np.ndarray]]]:
    """Every layer the group names, in its order, with its arrays (read whole)."""
    layers = []
    for name in hdf5.read_names(group, "layer_names"):
        if name not in group:
            raise FileFormatError(path, f"layer_names lists {name!r}, which has no group")
        layer_group = group[name]
        arrays = []
        for weight in hdf5.read_names(layer_group, "weight_names"):
            if weight not in layer_group:
                raise FileFormatError(
                    path, f"layer {name!r} lists weight {weight!r}, which has no dataset"
                )
            arrays.append(np.asarray(layer_group[weight][()]))
        layers.append((name, arrays))
    return layers


def is_weights_group(group: Any) -> bool:
    return any(k == "layer_names" or k.startswith("layer_names0") for k in group.attrs)


def read(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[Any]]:
    """(model config, training config, layers with their arrays) of a Keras 2 file: a
    weights file has no configs."""
    with hdf5.open_for_reading(path, "Keras HDF5 file") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if not is_weights_group(group):
            raise FileFormatError(
                path,
                "an HDF5 file without Keras's layer_names: not a Keras weights or model file",
            )
        configs = []
        for key in ("model_config", "training_config"):
            raw = f.attrs.get(key)
            if raw is None:
                configs.append(None)
                continue
            try:
                configs.append(json.loads(raw.decode() if hasattr(raw, "decode") else raw))
            except (ValueError, UnicodeDecodeError) as err:
                raise FileFormatError(path, f"attribute {key} is not JSON ({err})") from err
        return configs[0], configs[1], read_weights_group(group, path)


def write_weights(path: str | Path, weights: list[LayerWeights]) -> Path:
    return hdf5.write_file(path, lambda f: write_weights_group(f, weights))


def write_model(
    path: str | Path,
    weights: list[LayerWeights],
    model_config: dict[str, Any],
    training_config: dict[str, Any] | None,
) -> Path:
    def fill(f: Any) -> None:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = LAYOUT_VERSION.encode()
        f.attrs["model_config"] = json.dumps(model_config).encode()
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode()
        write_weights_group(f.create_group("model_weights"), weights)

    return hdf5.write_file(path, fill)
