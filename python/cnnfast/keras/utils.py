"""keras.utils: one-hot encoding, image_dataset_from_directory."""

from __future__ import annotations

from typing import Any

import numpy as np

from .image_dataset import image_dataset_from_directory

__all__ = ["image_dataset_from_directory", "np_utils", "to_categorical"]


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """Class indices (any shape; a trailing axis of 1 is dropped, as Keras does) to
    one-hot rows."""
    labels = np.asarray(y, dtype=np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: negative class index {int(labels.min())}")
    n = int(labels.max()) + 1 if num_classes is None and labels.size else int(num_classes or 0)
    if labels.size and labels.max() >= n:
        raise ValueError(f"to_categorical: class {int(labels.max())} with num_classes={n}")
    out = np.zeros((*labels.shape, n), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


class np_utils:  # (lower case: Keras 2 had a module of this name)
    """Keras 2's keras.utils.np_utils, which the older lecture scripts import."""

    to_categorical = staticmethod(to_categorical)
