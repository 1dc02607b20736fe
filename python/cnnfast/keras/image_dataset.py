"""keras.utils.image_dataset_from_directory: a folder of class folders as batches, as
Keras 2.9+ returns them (a tf.data.Dataset there; an in-memory dataset here).

    train_ds = image_dataset_from_directory("data", validation_split=0.2,
                                            subset="training", seed=123,
                                            image_size=(180, 180), batch_size=32)
    model.fit(train_ds, validation_data=val_ds, epochs=10)

Images are float32 values 0..255, channels last, resized to image_size (Keras's
bilinear default); labels per label_mode ('int': int32 class indices, 'categorical':
one-hot float32, 'binary': float32 (N, 1) 0/1, None: images alone). Iterating gives one
pass of batches, reshuffled every pass when shuffle=True, as tf.data's
reshuffle_each_iteration does. The decoding and its cache are cnnfast.data.images'.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .preprocessing.image import ImageDataGenerator, NumpyArrayIterator

LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both")


class ImageDataset(NumpyArrayIterator):
    """The batches of image_dataset_from_directory: finite passes (unlike a
    flow's endless batches), Keras's class_names and file_paths, and tf.data's chaining
    methods that have nothing to do on data already in memory (cache, prefetch)."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
        class_names: list[str],
        file_paths: list[str],
    ) -> None:
        super().__init__(ImageDataGenerator(), x, y, batch_size, shuffle, seed)
        self.class_names = class_names
        self.file_paths = file_paths

    def __iter__(self) -> Iterator[Any]:
        return self.one_pass()  # (its generator only standardises, which is nothing here)

    def take(self, count: int) -> list[Any]:
        """The first `count` batches of a pass (tf.data's take)."""
        out = []
        for batch in self:
            if len(out) == count:
                break
            out.append(batch)
        return out

    def cache(self, filename: str = "") -> ImageDataset:
        return self  # (decoded once and held in memory already; the disk cache is kept)

    def prefetch(self, buffer_size: Any = None) -> ImageDataset:
        return self  # (batches are slices of memory: nothing to fetch ahead)


def _labels_for(
    label_mode: str | None, labels: np.ndarray, k: int, directory: Any
) -> np.ndarray | None:
    if label_mode == "binary" and k != 2:
        raise ValueError(
            f"image_dataset_from_directory: label_mode='binary' needs 2 classes, "
            f"{directory} has {k}"
        )
    if label_mode == "int":
        return labels.astype(np.int32)
    if label_mode == "categorical":
        return np.eye(k, dtype=np.float32)[labels]
    if label_mode == "binary":
        return labels.astype(np.float32).reshape(-1, 1)
    return None


def image_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    verbose: bool = True,
) -> Any:
    """Keras's arguments and split rule: with validation_split, the file list is
    shuffled by `seed` (required when shuffling, so the two subsets do not overlap) and
    the last fraction is 'validation', the rest 'training'; subset='both' returns both.
    labels='inferred' numbers the sorted class folders; a list gives one label per
    image in the folders' file order; None gives images alone."""
    from ..data.images import load_image_pixels

    op = "image_dataset_from_directory"
    if label_mode not in LABEL_MODES:
        raise ValueError(f"{op}: label_mode must be one of {list(LABEL_MODES)}, got {label_mode!r}")
    if batch_size is None or batch_size < 1:
        raise ValueError(
            f"{op}: batch_size must be a positive int (unbatched data is not supported)"
        )
    if crop_to_aspect_ratio:
        raise ValueError(f"{op}: crop_to_aspect_ratio=True is not supported by cnnfast.keras")
    if (validation_split is None) != (subset is None):
        raise ValueError(f"{op}: validation_split and subset go together (got {subset=})")
    if subset is not None and subset not in SUBSETS:
        raise ValueError(f"{op}: subset must be one of {list(SUBSETS)}, got {subset!r}")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"{op}: validation_split must lie in (0, 1), got {validation_split}")
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(
            f"{op}: with validation_split and shuffle, pass a seed (the same in both calls), "
            "or the training and validation subsets would overlap"
        )
    pixels, found = load_image_pixels(
        directory,
        tuple(image_size),  # type: ignore[arg-type]
        color_mode,
        class_names,
        interpolation,
        follow_links=follow_links,
    )
    k = len(found.classes)
    y_int = found.labels
    if labels is None:
        label_mode = None
    elif not (isinstance(labels, str) and labels == "inferred"):
        given = np.asarray(labels)
        if given.shape != (len(found.files),) or given.dtype.kind not in "iu":
            raise ValueError(
                f"{op}: labels must be 'inferred', None, or one integer per image "
                f"({len(found.files)} found), got shape {given.shape}"
            )
        if given.size and given.min() < 0:
            # (np.eye(k)[labels] would wrap a negative label round to another class)
            raise ValueError(f"{op}: labels must be >= 0, got {int(given.min())}")
        y_int, k = given.astype(np.int64), int(given.max()) + 1 if len(given) else 0
    x = pixels.astype(np.float32)
    y = _labels_for(label_mode, y_int, k, directory)
    paths = [str(found.root / f) for f in found.files]
    if verbose:
        print(f"Found {len(paths)} files belonging to {k} classes.")
    order = np.arange(len(x))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(x))

    def dataset(idx: np.ndarray, what: str | None) -> ImageDataset:
        if verbose and what:
            print(f"Using {len(idx)} files for {what}.")
        return ImageDataset(
            x[idx],
            None if y is None else y[idx],
            int(batch_size),
            shuffle,
            seed,
            list(found.classes),
            [paths[i] for i in idx],
        )

    if validation_split is None:
        return dataset(order, None)
    n_val = int(validation_split * len(order))
    training, validation = order[: len(order) - n_val], order[len(order) - n_val :]
    if subset == "training":
        return dataset(training, "training")
    if subset == "validation":
        return dataset(validation, "validation")
    return dataset(training, "training"), dataset(validation, "validation")
