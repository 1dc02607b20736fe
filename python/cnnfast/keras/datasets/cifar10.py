"""keras.datasets.cifar10."""

from __future__ import annotations

from typing import Any

from ...data import load_cifar10
from ._convert import to_keras


def load_data(path: Any = None) -> Any:
    """((x_train, y_train), (x_test, y_test)): uint8 (50000, 32, 32, 3) and labels
    (50000, 1), as Keras returns them. path= names a directory holding the official
    batches or the JPEG folders (train/, test/) or cifar10-jpeg.tar.gz. Without it: the
    batches in $CNNFAST_DATA/cifar10 (else ~/.cache/cnnfast/cifar10), then the JPEG
    folders or archive in $CNNFAST_DATASETS and ~/.cnnfast/datasets, and, as Keras
    does, a download of the official batches where a network exists."""
    batches = load_cifar10(path, download=path is None)
    return to_keras(batches, squeeze_channel=False, label_column=True)
