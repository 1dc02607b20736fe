"""keras.backend: the few queries the lecture scripts make."""

from __future__ import annotations


def image_data_format() -> str:
    """Keras's layout: images are (height, width, channels) per sample. The engine
    works in (channels, height, width); the model converts once at its edge."""
    return "channels_last"


def epsilon() -> float:
    """Keras's fuzz factor (optimizers' default epsilon, probability clipping)."""
    return 1e-7


def floatx() -> str:
    return "float32"
