"""keras.datasets.cifar10."""

from __future__ import annotations

from typing import Any

from ...data import load_cifar10
from ._convert import to_keras


def load_data(path: Any = None) -> Any:
    """((x_train, y_train), (x_test, y_test)): uint8 (50000, 32, 32, 3) and labels
    (50000, 1), as Keras returns them. As Keras does, the first call downloads the
    official batches (into $CNNFAST_DATA/cifar10, else ~/.cache/cnnfast/cifar10) where
    a network exists; path= names a directory that already holds them."""
    batches = load_cifar10(path, download=path is None)
    return to_keras(batches, squeeze_channel=False, label_column=True)
