"""keras.preprocessing.image.ImageDataGenerator: random rotations, shifts, zooms and
flips, rescaling and feature-wise standardisation of channels-last image batches,
with Keras's meanings (transforms about the image centre, 'nearest' fill, bilinear
sampling, then rescale, then standardisation).

`flow(x, y, batch_size)` yields augmented batches; a model's fit() takes the flow
itself and runs its augmentation inside cnnfast's training loop (an epoch is one
pass over x).
"""

from __future__ import annotations

from collections.abc import Iterator
from math import cos, radians, sin
from typing import Any

import numpy as np

from ... import ops
from ...random import numpy_rng


class ImageDataGenerator:
    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        rotation_range: float = 0.0,
        width_shift_range: float = 0.0,
        height_shift_range: float = 0.0,
        zoom_range: float | tuple[float, float] = 0.0,
        shear_range: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        zca_whitening: bool = False,
        fill_mode: str = "nearest",
        seed: int | None = None,
    ) -> None:
        if zca_whitening:
            raise ValueError("ImageDataGenerator: zca_whitening is not supported by cnnfast.keras")
        if fill_mode != "nearest":
            raise ValueError("ImageDataGenerator: only fill_mode='nearest' (Keras's default)")
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std, self.samplewise_std = (
            featurewise_std_normalization,
            samplewise_std_normalization,
        )
        self.rotation_range = float(rotation_range)
        self.width_shift, self.height_shift = float(width_shift_range), float(height_shift_range)
        if isinstance(zoom_range, (int, float)):
            self.zoom = (1.0 - zoom_range, 1.0 + zoom_range)
        else:
            self.zoom = (float(zoom_range[0]), float(zoom_range[1]))
        self.shear_range = float(shear_range)  # degrees, as Keras 2 means it
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale = rescale
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.rng = numpy_rng(seed)

    @property
    def is_random(self) -> bool:
        """Whether batches are transformed at random (else only rescaled/standardised)."""
        return bool(
            self.rotation_range
            or self.width_shift
            or self.height_shift
            or self.zoom != (1.0, 1.0)
            or self.shear_range
            or self.horizontal_flip
            or self.vertical_flip
        )

    def fit(self, x: Any) -> None:
        """Per-channel mean and standard deviation of x (N, H, W, C), for the
        feature-wise options (after rescale, as Keras computes them)."""
        x = np.asarray(x, dtype=np.float32)
        if self.rescale:
            x = x * self.rescale
        self.mean = x.mean(axis=(0, 1, 2), keepdims=True)[0]
        self.std = x.std(axis=(0, 1, 2), keepdims=True)[0]

    def _draw(
        self, h: int, w: int, rng: np.random.Generator
    ) -> tuple[np.ndarray | None, bool, bool]:
        """One image's random transform: (the output -> source pixel matrix (2, 3), or
        None for none; flip left-right; flip up-down), drawn in Keras's order."""
        theta = (
            radians(rng.uniform(-self.rotation_range, self.rotation_range))
            if self.rotation_range
            else 0.0
        )
        ty = rng.uniform(-self.height_shift, self.height_shift) * h if self.height_shift else 0.0
        tx = rng.uniform(-self.width_shift, self.width_shift) * w if self.width_shift else 0.0
        zy, zx = map(float, rng.uniform(*self.zoom, 2)) if self.zoom != (1.0, 1.0) else (1.0, 1.0)
        shear = (
            radians(rng.uniform(-self.shear_range, self.shear_range)) if self.shear_range else 0.0
        )
        matrix = None
        if theta or ty or tx or zy != 1.0 or zx != 1.0 or shear:
            # output pixel -> source pixel, about the centre: rotate, shear, zoom (Keras's
            # apply_affine_transform order and shear matrix), then shift. In Python
            # floats: numpy's small-matrix calls cost ~50 us an image, most of a batch.
            cos_t, sin_t, sin_s, cos_s = cos(theta), sin(theta), sin(shear), cos(shear)
            # rot @ shear = [[cos_t, -cos_t sin_s - sin_t cos_s], [sin_t, ...]], @ diag(zy, zx)
            m00, m01 = cos_t * zy, (-cos_t * sin_s - sin_t * cos_s) * zx
            m10, m11 = sin_t * zy, (-sin_t * sin_s + cos_t * cos_s) * zx
            cy, cx = (h - 1) / 2, (w - 1) / 2
            matrix = np.array(
                [
                    [m00, m01, cy - (m00 * cy + m01 * cx) + ty],
                    [m10, m11, cx - (m10 * cy + m11 * cx) + tx],
                ]
            )
        hflip = bool(self.horizontal_flip and rng.random() < 0.5)
        vflip = bool(self.vertical_flip and rng.random() < 0.5)
        return matrix, hflip, vflip

    def random_transform(
        self, image: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """One image (H, W, C), rotated, shifted, zoomed, sheared and flipped at random."""
        return self._transform_batch(np.asarray(image)[None], rng)[0]

    def _transform_batch(
        self, batch: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Each image of (N, H, W, C) transformed at random: the draws image by image
        (so a batch gets what a loop of random_transform would), the resampling of all
        the transformed images in one pass."""
        rng = self.rng if rng is None else rng
        n, h, w, _ = batch.shape
        draws = [self._draw(h, w, rng) for _ in range(n)]
        out = np.array(batch, copy=True)
        moved = [i for i, (m, _, _) in enumerate(draws) if m is not None]
        if moved:
            matrices = np.stack([draws[i][0] for i in moved])  # type: ignore[misc]
            out[moved] = ops.affine_sample(batch[moved], matrices)
        hflip = [i for i, d in enumerate(draws) if d[1]]
        out[hflip] = out[hflip][:, :, ::-1]
        vflip = [i for i, d in enumerate(draws) if d[2]]
        out[vflip] = out[vflip][:, ::-1]
        return out

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Rescale, then the sample-wise and feature-wise centring and scaling asked for."""
        x = np.asarray(x, dtype=np.float32)
        if self.rescale:
            x = x * np.float32(self.rescale)
        if self.samplewise_center:
            x = x - x.mean(axis=(-3, -2, -1), keepdims=True)
        if self.samplewise_std:
            x = x / (x.std(axis=(-3, -2, -1), keepdims=True) + 1e-6)
        if self.featurewise_center or self.featurewise_std:
            if self.mean is None or self.std is None:
                raise RuntimeError(
                    "ImageDataGenerator: call fit(x) before feature-wise standardisation"
                )
            if self.featurewise_center:
                x = x - self.mean
            if self.featurewise_std:
                x = x / (self.std + 1e-6)
        return x

    def augment(self, batch: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """A batch (N, H, W, C): each image transformed, then standardised."""
        batch = np.asarray(batch)
        if batch.dtype not in (np.float32, np.float64):
            batch = batch.astype(np.float32)  # (uint8 pixels, as decoded)
        return self.standardize(self._transform_batch(batch, rng) if self.is_random else batch)

    def flow_from_directory(
        self,
        directory: Any,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: Any = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        interpolation: str = "nearest",
        follow_links: bool = False,
    ) -> DirectoryIterator:
        """Batches of the images in `directory`, one sub-folder per class, as Keras
        reads them (cnnfast.data.load_image_folder decodes and caches them)."""
        return DirectoryIterator(
            self, directory, target_size, color_mode, classes, class_mode, batch_size,
            shuffle, seed, interpolation, follow_links,
        )  # fmt: skip

    def flow(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> NumpyArrayIterator:
        return NumpyArrayIterator(self, x, y, batch_size, shuffle, seed)


class NumpyArrayIterator:
    """Endless augmented batches (x or (x, y)) of one array, reshuffled every pass."""

    def __init__(
        self,
        generator: ImageDataGenerator,
        x: Any,
        y: Any,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
    ) -> None:
        self.generator, self.batch_size, self.shuffle = generator, int(batch_size), shuffle
        self.x = np.asarray(x, dtype=np.float32)
        if self.x.ndim != 4:
            raise ValueError(f"flow: x must be images (N, H, W, C), got shape {self.x.shape}")
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"flow: x has {len(self.x)} images but y {len(self.y)} targets")
        self.rng = numpy_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def one_pass(self) -> Iterator[Any]:
        """One pass over x in a fresh order (when shuffling), each batch augmented."""
        order = self.rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            xb = self.generator.augment(self.x[idx], self.rng)
            yield xb if self.y is None else (xb, self.y[idx])

    def __iter__(self) -> Iterator[Any]:
        while True:
            yield from self.one_pass()


CLASS_MODES = ("categorical", "binary", "sparse", None)


class DirectoryIterator(NumpyArrayIterator):
    """flow_from_directory's batches: images as Keras loads them (float32 values 0..255,
    channels last, resized to target_size), then the generator's transforms; targets
    per class_mode: 'categorical' one-hot, 'binary' 0/1 (two classes), 'sparse' the
    class index (float32, as Keras), None no targets. Keras's attributes: samples (=
    n), class_indices, classes (each image's label), filenames, num_classes,
    image_shape, directory."""

    def __init__(
        self,
        generator: ImageDataGenerator,
        directory: Any,
        target_size: tuple[int, int],
        color_mode: str,
        classes: Any,
        class_mode: str | None,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
        interpolation: str,
        follow_links: bool,
    ) -> None:
        from ...data.images import load_image_pixels

        if class_mode not in CLASS_MODES:
            raise ValueError(
                f"flow_from_directory: class_mode must be one of {list(CLASS_MODES)}, "
                f"got {class_mode!r}"
            )
        pixels, found = load_image_pixels(
            directory, tuple(target_size), color_mode, classes, interpolation,
            follow_links=follow_links,
        )  # fmt: skip
        k = len(found.classes)
        if class_mode == "binary" and k != 2:
            raise ValueError(
                f"flow_from_directory: class_mode='binary' needs 2 class folders, "
                f"{directory} has {k}: {found.classes}"
            )
        labels = found.labels
        targets = None  # (class_mode None: images alone)
        if class_mode == "categorical":
            targets = np.eye(k, dtype=np.float32)[labels]
        elif class_mode in ("binary", "sparse"):
            targets = labels.astype(np.float32)
        super().__init__(generator, pixels.astype(np.float32), targets, batch_size, shuffle, seed)
        self.directory = directory
        self.class_mode = class_mode
        self.class_indices = {name: i for i, name in enumerate(found.classes)}
        self.classes = labels.copy()
        self.filenames = list(found.files)
        self.samples = self.n = self.nb_samples = len(found.files)  # (nb_samples: Keras 1)
        self.num_classes = k
        self.image_shape = tuple(pixels.shape[1:])
        print(f"Found {self.samples} images belonging to {k} classes.")


__all__ = ["DirectoryIterator", "ImageDataGenerator", "NumpyArrayIterator"]
