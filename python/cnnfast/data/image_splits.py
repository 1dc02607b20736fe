"""A data set as two image folders, `train/` and `test/`, each one sub-folder per class:
what `cnnfast train MODEL --data-dir DIR` reads, and CIFAR-10 as JPEG files (the copy
these machines have: ../shared/datasets/cifar10-jpeg.tar.gz, see its README).

Where CIFAR-10's JPEG folders are looked for, when no path is named: every directory in
$CNNFAST_DATASETS (os.pathsep-separated), then ~/.cnnfast/datasets; in each, a folder
`cifar10-jpeg/` holding train/ and test/, or the archive `cifar10-jpeg.tar.gz`, which is
unpacked once into the cache ($CNNFAST_DATA or ~/.cache/cnnfast) and read from there.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError, PathLike, reading
from .files import cache_dir
from .images import ImageFiles, load_image_pixels, to_float_nchw

Split = tuple[np.ndarray, np.ndarray]
CIFAR10_JPEG = "cifar10-jpeg"
SPLITS = ("train", "test")


def dataset_dirs() -> list[Path]:
    """The directories searched for data sets nobody named: $CNNFAST_DATASETS, then
    ~/.cnnfast/datasets."""
    listed = os.environ.get("CNNFAST_DATASETS", "")
    dirs = [Path(p).expanduser() for p in listed.split(os.pathsep) if p]
    return [*dirs, Path.home() / ".cnnfast" / "datasets"]


def is_split_folder(root: PathLike) -> bool:
    """Whether `root` holds train/ and test/ folders (each to have one folder per class)."""
    return all((Path(root) / s).is_dir() for s in SPLITS)


def load_split_pixels(
    root: PathLike,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "rgb",
    classes: Sequence[str] | None = None,
) -> list[tuple[np.ndarray, ImageFiles]]:
    """[(pixels, files) for train/, then test/]: uint8 (N, H, W, C) as load_image_pixels
    gives them, checked to hold the same classes (labels numbered alike in both) and
    images of one shape."""
    root = Path(root)
    if not is_split_folder(root):
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else None
        raise FileNotFoundError(
            f"{root}: expected train/ and test/ folders of class folders"
            + (f" (it has {have})" if have is not None else " (no such directory)")
        )
    (x, train), (xt, test) = halves = [
        load_image_pixels(root / split, image_size, color_mode, classes) for split in SPLITS
    ]
    if test.classes != train.classes:
        raise DataError(
            f"{root}: train/ and test/ hold different classes ({train.classes} and "
            f"{test.classes}); a label would mean different things in each"
        )
    if x.shape[1:] != xt.shape[1:]:
        raise DataError(
            f"{root}: train/ images are {x.shape[1:]} but test/ images {xt.shape[1:]}; "
            "pass an image size to resize both"
        )
    return halves


def load_image_split(
    root: PathLike,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "rgb",
    classes: Sequence[str] | None = None,
) -> tuple[Split, Split, list[str]]:
    """((x_train, y_train), (x_test, y_test), classes) from root/train and root/test
    (see load_split_pixels), x float32 NCHW in [0, 1] as load_image_folder gives it."""
    (x, train), (xt, test) = load_split_pixels(root, image_size, color_mode, classes)
    return (
        (to_float_nchw(x), train.labels.copy()),
        (to_float_nchw(xt), test.labels.copy()),
        list(train.classes),
    )


def unpack_once(archive: Path, name: str) -> Path:
    """The folder `name` inside a .tar.gz, unpacked into the cache the first time (into a
    temporary folder renamed into place, so a killed unpack leaves nothing half-done)."""
    target = cache_dir() / "unpacked" / name
    stamp = target / ".from"
    source = f"{archive.resolve()} {archive.stat().st_size} {archive.stat().st_mtime_ns}"
    if stamp.exists() and stamp.read_text() == source:
        return target / name
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        with reading(archive, "data set archive (.tar.gz)"), tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        if not (work / name).is_dir():
            raise FileFormatError(archive, f"the archive holds no folder {name}/")
        (work / ".from").write_text(source)
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target / name


def find_cifar10_jpeg(directory: Path) -> Path | None:
    """CIFAR-10's JPEG split folder in `directory`: the directory itself, its
    cifar10-jpeg/, or its cifar10-jpeg.tar.gz (unpacked once); None if none is there."""
    for candidate in (directory, directory / CIFAR10_JPEG):
        if is_split_folder(candidate):
            return candidate
    archive = directory / f"{CIFAR10_JPEG}.tar.gz"
    if archive.is_file():
        return unpack_once(archive, CIFAR10_JPEG)
    return None


def load_cifar10_jpeg(root: Path, classes: Sequence[str]) -> tuple[Split, Split]:
    """CIFAR-10 (JPEG) from its split folder: (N, 3, 32, 32) float32, CIFAR's labels.

    The folders list the images class by class; the official batches hold them in a
    random order, and scripts rely on that (x_train[:1000] as a sample, Keras's
    validation_split taking the last 10%). So each split is put in a fixed random order
    (a permutation seeded 0 for train, 1 for test): the same arrays on every machine."""
    halves = load_split_pixels(root, None, "rgb", classes)
    if halves[0][0].shape[1:] != (32, 32, 3):
        h, w = halves[0][0].shape[1:3]
        raise DataError(
            f"{root}: CIFAR-10 images are 32x32 RGB, these are {h}x{w}; for other images "
            "use `--data-dir` without `--dataset cifar10`"
        )
    out = []
    for seed, (pixels, found) in enumerate(halves):
        order = np.random.default_rng(seed).permutation(len(pixels))
        # (the permutation on the uint8 pixels: a quarter of the bytes of the floats)
        out.append((to_float_nchw(pixels[order]), found.labels[order]))
    return out[0], out[1]
