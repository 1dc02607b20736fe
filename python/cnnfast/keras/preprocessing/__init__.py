"""keras.preprocessing: image augmentation (image.ImageDataGenerator), and
image_dataset_from_directory (TensorFlow 2.3-2.8's place for it)."""

from ..image_dataset import image_dataset_from_directory
from . import image

__all__ = ["image", "image_dataset_from_directory"]
