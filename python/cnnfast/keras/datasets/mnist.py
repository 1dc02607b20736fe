"""keras.datasets.mnist."""

from __future__ import annotations

from typing import Any

from ...data import load_mnist
from ._convert import to_keras


def load_data(path: Any = None) -> Any:
    """((x_train, y_train), (x_test, y_test)): uint8 (60000, 28, 28) and (60000,), and
    the 10,000 test images, as Keras returns them."""
    return to_keras(load_mnist(path), squeeze_channel=True, label_column=False)
