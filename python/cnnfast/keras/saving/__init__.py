"""Keras's own files for cnnfast.keras models (the `keras` extra: h5py).

| name written | layout | by |
|---|---|---|
| `*.weights.h5` | Keras 3 weights | `save_weights` |
| `*.h5`, `*.hdf5` | Keras 2 weights or model (Keras 3 reads them) | `save_weights`, `save` |
| `*.keras` | Keras 3 archive (config, weights) | `save` |
| anything else | cnnfast's own .npz | `save_weights`, `save` |

A load looks at the file's bytes, not its name, so cnnfast's npz under a '.hdf5'
name (what cnnfast wrote before) still loads. The modules: `layout` (engine arrays
<-> Keras's), `config` (model configs), `legacy_h5`, `weights_h5`, `archive` (the
three Keras layouts), `hdf5` (h5py and what they share), `files` (the entry points).
"""

from .files import (
    content_kind,
    load_model_file,
    load_weights_file,
    name_kind,
    save_model_file,
    save_weights_file,
)

__all__ = [
    "content_kind",
    "load_model_file",
    "load_weights_file",
    "name_kind",
    "save_model_file",
    "save_weights_file",
]
