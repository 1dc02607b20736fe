"""Where a cnnfast.keras model's save/load calls go: by the name when writing
(`.weights.h5`, `.h5`/`.hdf5`, `.keras`, anything else cnnfast's npz), by the bytes
when reading. Every load reads and checks the whole file, and every array against
the model, before it assigns anything."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FileFormatError
from . import archive, hdf5, isolated, legacy_h5, weights_h5
from .config import ConfigError, keras_class, layers_from_model_config, model_config
from .layout import LayerWeights, engine_state, keras_weights


def name_kind(path: str | Path) -> str:
    """What a save writes under this name: 'weights_h5', 'keras', 'legacy_h5' or 'npz'."""
    name = Path(path).name.lower()
    if name.endswith(".weights.h5"):
        return "weights_h5"
    if name.endswith(".keras"):
        return "keras"
    if name.endswith((".h5", ".hdf5")):
        return "legacy_h5"
    return "npz"


def content_kind(path: str | Path) -> str:
    """What the file holds: 'hdf5', 'keras' (a zip with config.json) or 'npz' (any
    other zip; load_npz checks it). Anything else is a FileFormatError."""
    path = Path(path)
    with open(path, "rb") as f:  # (FileNotFoundError names a missing file)
        head = f.read(8)
    if head == hdf5.SIGNATURE:
        return "hdf5"
    if head[:4] == b"PK\x03\x04":
        return "keras" if archive.is_archive(path) else "npz"
    if not head:
        raise FileFormatError(path, "empty file (0 bytes), not a weights or model file")
    raise FileFormatError(
        path,
        f"not a weights or model file: it starts with {head!r}, neither HDF5 "
        "(Keras's .h5, .weights.h5) nor zip (.keras, cnnfast's .npz)",
    )


def _kinds(model: Any) -> list[str]:
    return [keras_class(layer) for layer in model.layers]


# --- weights -------------------------------------------------------------------------


def save_weights_file(model: Any, path: str | Path) -> Path | None:
    """Keras's layout for Keras's names; None for any other name (the caller writes
    cnnfast's npz)."""
    kind = name_kind(path)
    if kind == "npz":
        return None
    if kind == "keras":
        raise ValueError(
            f"save_weights: {path} is a .keras name, which holds a whole model: use "
            "model.save(path), or a .weights.h5 name for the weights"
        )
    weights = keras_weights(model)
    if kind == "weights_h5":
        return weights_h5.write(path, weights, _kinds(model), model.name)
    return legacy_h5.write_weights(path, weights)


def _assign(
    model: Any,
    plan: list[tuple[LayerWeights, list[np.ndarray], str]],
    path: Path,
    skip_mismatch: bool,
) -> None:
    state, skipped = engine_state(model, plan, str(path), skip_mismatch)
    for problem in skipped:
        warnings.warn(f"skip_mismatch: not loaded: {problem}", stacklevel=3)
    model.engine.load_state_dict(state, strict=False)  # (the layers' converted arrays)


def _legacy_plan(
    model: Any, layers: list[tuple[str, list[np.ndarray]]], path: Path, by_name: bool
) -> list[tuple[LayerWeights, list[np.ndarray], str]]:
    ours = [lw for lw in keras_weights(model) if lw.arrays]
    if by_name:
        saved = dict(layers)
        return [(lw, saved[lw.layer.name], lw.layer.name) for lw in ours if lw.layer.name in saved]
    theirs = [(name, arrays) for name, arrays in layers if arrays]
    if len(theirs) != len(ours):
        raise ValueError(
            f"{path}: the file has weights for {len(theirs)} layers "
            f"({', '.join(n for n, _ in theirs)}), the model has {len(ours)} layers with "
            f"weights ({', '.join(lw.layer.name for lw in ours)}); by_name=True matches "
            "them by name"
        )
    return [(lw, arrays, name) for lw, (name, arrays) in zip(ours, theirs)]


def _keras3_plan(
    model: Any, saved: dict[str, list[np.ndarray]], path: Path
) -> list[tuple[LayerWeights, list[np.ndarray], str]]:
    weights = keras_weights(model)
    keys = weights_h5.keys(weights, _kinds(model))
    plan = []
    for key, lw in zip(keys, weights):
        arrays = saved.get(key)
        if arrays is None:
            if lw.arrays:
                raise ValueError(
                    f"{path}: no weights for layer {lw.layer.name!r} (the file's "
                    f"'layers/{key}'); it holds {sorted(saved)}"
                )
            continue
        plan.append((lw, arrays, key))
    extra = sorted(set(k for k, a in saved.items() if a) - set(keys))
    if extra:
        raise ValueError(
            f"{path}: the file has weights for layers the model does not have: {extra} "
            f"(the model's are {keys})"
        )
    return plan


def load_weights_file(
    model: Any, path: str | Path, by_name: bool = False, skip_mismatch: bool = False
) -> bool:
    """Loads Keras's files into the model; False for cnnfast's npz (the caller loads it)."""
    path = Path(path)
    kind = content_kind(path)
    if kind == "npz":
        if by_name or skip_mismatch:
            raise ValueError(
                f"load_weights: {path} is cnnfast's npz, matched by array name always; "
                "by_name and skip_mismatch are for Keras's HDF5 files"
            )
        return False
    if kind == "keras":
        if by_name:
            raise ValueError(f"load_weights: by_name is for Keras 2's .h5 files, not {path}")
        _, saved = _read_archive(path)
        _assign(model, _keras3_plan(model, saved, path), path, skip_mismatch)
        return True
    layout, payload = isolated.run(__name__, "_read_hdf5", path, "Keras HDF5 file")
    if layout == "keras3":
        if by_name:
            raise ValueError(
                f"load_weights: by_name is for Keras 2's .h5 files; {path} is a Keras 3 "
                ".weights.h5, matched by layer position"
            )
        _assign(model, _keras3_plan(model, payload, path), path, skip_mismatch)
        return True
    _, _, layers = payload
    _assign(model, _legacy_plan(model, layers, path, by_name), path, skip_mismatch)
    return True


def _read_hdf5(path: Path) -> tuple[str, Any]:
    """('keras3', its layers' arrays) or ('legacy', legacy_h5.read's configs and
    layers). Runs in the child process (isolated.run)."""
    with hdf5.open_for_reading(path, "Keras HDF5 file") as f:
        if weights_h5.is_layout(f) and not legacy_h5.is_weights_group(f):
            return "keras3", weights_h5.read_from(f, path)
    return "legacy", legacy_h5.read(path)


def _read_archive(path: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    return isolated.run(archive.__name__, "read", path, ".keras archive")


# --- whole models --------------------------------------------------------------------


def _compile_config(model: Any) -> dict[str, Any] | None:
    """compile()'s settings as Keras 3 writes them in a .keras archive."""
    if model._loss is None:
        return None
    cls = model._optimizer_config["class_name"]
    return {
        "loss": model._loss_name,
        "metrics": list(model._metrics),
        "loss_weights": None,
        "weighted_metrics": None,
        "optimizer": {
            "module": "keras.optimizers",
            "class_name": cls,
            "config": {"name": cls.lower(), **model._optimizer_config["config"]},
            "registered_name": None,
        },
    }


def save_model_file(model: Any, path: str | Path) -> Path | None:
    """Keras's layout for a .keras or .h5/.hdf5 name; None for any other name."""
    kind = name_kind(path)
    if kind == "npz":
        return None
    if kind == "weights_h5":
        raise ValueError(
            f"save: {path} is a .weights.h5 name, which holds weights only: use "
            "model.save_weights(path), or a .keras name for the whole model"
        )
    weights = keras_weights(model)
    compiled = _compile_config(model)
    if kind == "keras":
        config = model_config(model, keras2=False)
        if compiled:
            config["compile_config"] = compiled
        return archive.write(path, config, weights, _kinds(model))
    training = None
    if compiled:
        optimizer = compiled.pop("optimizer")  # Keras 2's training_config
        training = {
            **compiled,
            "optimizer_config": {k: optimizer[k] for k in ("class_name", "config")},
        }
    return legacy_h5.write_model(path, weights, model_config(model, keras2=True), training)


def _flat_metrics(metrics: Any) -> list[str]:
    out: list[str] = []
    for m in metrics or []:
        out += _flat_metrics(m) if isinstance(m, list) else [m] if isinstance(m, str) else []
    return out


def _compile(model: Any, loss: Any, optimizer: Any, metrics: Any, path: Path) -> None:
    """Compiles the model as the file says; a loss or optimizer cnnfast.keras lacks
    leaves it uncompiled with a warning (as Keras does without a training config)."""
    from .. import optimizers

    try:
        if isinstance(optimizer, dict):
            cls = optimizers.OPTIMIZERS.get(str(optimizer.get("class_name", "")).lower())
            if cls is None:
                raise ValueError(f"optimizer {optimizer.get('class_name')!r}")
            settings = optimizer.get("config") or {}
            known = {k: v for k, v in settings.items() if k in cls.defaults}
            unused = {
                k: v
                for k, v in settings.items()
                if k not in cls.defaults and k != "name" and v not in (None, False)
            }
            if unused.pop("lr", None) is not None and "learning_rate" not in known:
                known["learning_rate"] = settings["lr"]
            for harmless in ("ema_momentum", "decay", "is_legacy_optimizer", "jit_compile"):
                unused.pop(harmless, None)
            if unused:
                raise ValueError(f"optimizer settings {sorted(unused)}")
            optimizer = cls(**known)
        model.compile(loss=loss, optimizer=optimizer, metrics=_flat_metrics(metrics))
    except (ValueError, TypeError) as err:
        warnings.warn(
            f"{path}: the model was not compiled (cnnfast.keras lacks {err}); compile it yourself",
            stacklevel=3,
        )


def _model_from(config: Any, path: Path) -> Any:
    from ..models import Sequential

    name, layers = layers_from_model_config(config, str(path))
    model = Sequential(name=name)
    for layer in layers:
        try:
            model.add(layer)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{path}: {err}") from err
    return model


def load_model_file(path: str | Path) -> Any | None:
    """A Sequential from a Keras .h5 model or .keras archive; None for cnnfast's npz."""
    path = Path(path)
    kind = content_kind(path)
    if kind == "npz":
        return None
    if kind == "keras":
        config, saved = _read_archive(path)
        model = _model_from(config, path)
        _assign(model, _keras3_plan(model, saved, path), path, False)
        compiled = config.get("compile_config") if isinstance(config, dict) else None
        if compiled:
            _compile(
                model,
                compiled.get("loss"),
                compiled.get("optimizer"),
                compiled.get("metrics"),
                path,
            )
        return model
    layout, payload = isolated.run(__name__, "_read_hdf5", path, "Keras HDF5 file")
    if layout == "keras3":
        raise FileFormatError(
            path, "a Keras 3 .weights.h5 holds weights only, no model (use load_weights)"
        )
    model_cfg, training, layers = payload
    if model_cfg is None:
        raise FileFormatError(path, "holds weights only, no model (use model.load_weights)")
    model = _model_from(model_cfg, path)
    _assign(model, _legacy_plan(model, layers, path, by_name=False), path, False)
    if training:
        _compile(
            model,
            training.get("loss"),
            training.get("optimizer_config"),
            training.get("metrics"),
            path,
        )
    return model


__all__ = [
    "content_kind",
    "load_model_file",
    "load_weights_file",
    "name_kind",
    "save_model_file",
    "save_weights_file",
]
