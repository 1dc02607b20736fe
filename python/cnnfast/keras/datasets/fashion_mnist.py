"""keras.datasets.fashion_mnist."""

from __future__ import annotations

from typing import Any

from ...data import load_fashion_mnist
from ._convert import to_keras


def load_data(path: Any = None) -> Any:
    """As mnist.load_data(), for Fashion-MNIST."""
    return to_keras(load_fashion_mnist(path), squeeze_channel=True, label_column=False)
