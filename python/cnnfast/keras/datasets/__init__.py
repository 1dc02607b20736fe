"""keras.datasets: `mnist.load_data()` and friends, Keras's arrays (uint8 images,
channels last; uint8 labels) from cnnfast's loaders (cnnfast.data: the copies on
this machine, no download)."""

from . import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
