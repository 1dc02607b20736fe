"""Keras's weight layout beside the engine's, exactly, layer by layer.

Keras keeps a Conv2D kernel as (rows, cols, channels, filters) and a Dense kernel as
(inputs, units); the engine keeps (filters, channels, rows, cols) and (units, inputs).
Keras flattens a (height, width, channels) map channels-last, the engine flattens
(channels, height, width): the rows of the first Dense after a Flatten (and a
BatchNormalization on the flat features between them) are the same numbers in
another order, `perm` below. BatchNormalization's gamma, beta, moving mean and
variance are the engine's weight, bias, running_mean and running_var.

`keras_weights(model)` gives each layer's arrays as Keras stores them; `engine_state`
turns a file's arrays back into the engine's state_dict entries, checking every
count and shape (naming the layer and both shapes) before anything is assigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import keras_class

# Keras weight name -> the engine's array, in Keras's order, per layer class.
_SLOTS = {
    "Conv2D": (("kernel", "weight"), ("bias", "bias")),
    "Dense": (("kernel", "weight"), ("bias", "bias")),
    "BatchNormalization": (
        ("gamma", "weight"),
        ("beta", "bias"),
        ("moving_mean", "running_mean"),
        ("moving_variance", "running_var"),
    ),
}


@dataclass
class LayerWeights:
    """One Keras layer's weights: its names ('kernel', 'bias', ...), the arrays in
    Keras's layout, and the engine state_dict keys they come from."""

    layer: Any
    names: list[str]
    arrays: list[np.ndarray]
    keys: list[str]
    perm: np.ndarray | None  # the engine's flat-feature order, as Keras indices


def _flatten_order(shape: Sequence[int]) -> np.ndarray:
    """For each engine feature (c, h, w) of a flattened (h, w, c) map, its Keras index."""
    h, w, c = shape
    return np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).ravel()


def _to_keras(kind: str, slot: str, a: np.ndarray, perm: np.ndarray | None) -> np.ndarray:
    if kind == "Conv2D" and slot == "weight":
        return np.ascontiguousarray(a.transpose(2, 3, 1, 0))
    if kind == "Dense" and slot == "weight":
        k = a.T
        if perm is not None:
            out = np.empty_like(k)
            out[perm] = k
            return out
        return np.ascontiguousarray(k)
    if kind == "BatchNormalization" and perm is not None:
        out = np.empty_like(a)
        out[perm] = a
        return out
    return np.array(a)


def _to_engine(kind: str, slot: str, a: np.ndarray, perm: np.ndarray | None) -> np.ndarray:
    if kind == "Conv2D" and slot == "weight":
        return np.ascontiguousarray(a.transpose(3, 2, 0, 1))
    if kind == "Dense" and slot == "weight":
        return np.ascontiguousarray((a[perm] if perm is not None else a).T)
    if kind == "BatchNormalization" and perm is not None:
        return np.ascontiguousarray(a[perm])
    return np.ascontiguousarray(a)


def keras_weights(model: Any) -> list[LayerWeights]:
    """Every layer of a cnnfast.keras Sequential, in order, with its weights in Keras's
    layout (an empty list for a layer without weights)."""
    state = model.engine.state_dict()
    out = []
    perm: np.ndarray | None = None
    for i, layer in enumerate(model.layers):
        kind, shape = keras_class(layer), model._in_shape(i)
        if kind == "Flatten":
            perm = _flatten_order(shape) if len(shape) == 3 else perm
        names, arrays, keys = [], [], []
        prefix = model._module_prefix(i)
        for name, slot in _SLOTS.get(kind, ()):
            key = f"{prefix}{slot}"
            if key in state:  # (a layer built without a bias has no 'bias')
                layer_perm = perm if kind in ("Dense", "BatchNormalization") else None
                names.append(name)
                arrays.append(_to_keras(kind, slot, np.asarray(state[key]), layer_perm))
                keys.append(key)
        out.append(LayerWeights(layer, names, arrays, keys, perm))
        if kind == "Dense" or len(model._shapes[i]) != 1:
            perm = None  # a Dense's outputs (and any map) are in the same order in both
    return out


def engine_state(
    model: Any,
    assignments: Sequence[tuple[LayerWeights, Sequence[np.ndarray], str]],
    source: str,
    skip_mismatch: bool = False,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The engine state_dict entries of each (layer, arrays from the file, the file's
    name for the layer), converted to the engine's layout. Every count and shape is
    checked first: a mismatch is a ValueError naming the file, both layers and both
    shapes, or, with skip_mismatch, that layer is left as it is and named in the
    returned list of skipped layers."""
    state: dict[str, np.ndarray] = {}
    skipped = []
    for lw, arrays, saved_name in assignments:
        layer = lw.layer
        where = f"{source}: layer {layer.name!r} ({type(layer).__name__})"
        if saved_name != layer.name:
            where += f" from the file's layer {saved_name!r}"
        if len(arrays) != len(lw.arrays):
            problem = (
                f"{where} has {len(lw.arrays)} weight arrays "
                f"({', '.join(lw.names) or 'none'}), the file has {len(arrays)}"
            )
            if skip_mismatch:
                skipped.append(problem)
                continue
            raise ValueError(problem)
        bad = [
            f"{name}: the model's is {want.shape}, the file's is {np.shape(got)}"
            for name, want, got in zip(lw.names, lw.arrays, arrays)
            if tuple(np.shape(got)) != want.shape
        ]
        if bad:
            problem = f"{where}: shapes differ (Keras's layout) - " + "; ".join(bad)
            if skip_mismatch:
                skipped.append(problem)
                continue
            raise ValueError(problem)
        if not lw.arrays:
            continue
        kind = keras_class(layer)
        for (name, slot), key, got, now in zip(
            ((n, s) for n, s in _SLOTS[kind] if n in lw.names), lw.keys, arrays, lw.arrays
        ):
            perm = lw.perm if kind in ("Dense", "BatchNormalization") else None
            got = np.asarray(got)
            if not np.issubdtype(got.dtype, np.floating):
                raise ValueError(f"{where}: weight {name} is {got.dtype}, not floating point")
            state[key] = _to_engine(kind, slot, got, perm).astype(now.dtype)
    return state, skipped
