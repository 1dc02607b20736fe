"""cnnfast.data: MNIST, Fashion-MNIST and CIFAR-10 loaders, image folders, batching,
augmentation."""

from .batches import batches, random_shift_flip, train_val_split
from .datasets import (
    CIFAR10_CLASSES,
    FASHION_CLASSES,
    MNIST_CLASSES,
    DatasetNotFound,
    load_cifar10,
    load_fashion_mnist,
    load_idx_dir,
    load_mnist,
)
from .image_splits import load_image_split
from .images import decode_image, load_image_folder, scan_image_folder

DATASETS = {
    "mnist": (load_mnist, MNIST_CLASSES),
    "fashion-mnist": (load_fashion_mnist, FASHION_CLASSES),
    "cifar10": (load_cifar10, CIFAR10_CLASSES),
}


def load(name: str, path: str | None = None, download: bool = False):
    """A data set by name: 'mnist', 'fashion-mnist' or 'cifar10'."""
    try:
        loader, _ = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; choose from {sorted(DATASETS)}") from None
    return loader(path, download=download)
