"""keras.preprocessing: image augmentation (image.ImageDataGenerator)."""

from . import image

__all__ = ["image"]
