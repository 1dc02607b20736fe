"""Images from folders, one sub-folder per class: the everyday way users bring their own
data (Keras' flow_from_directory / image_dataset_from_directory, torchvision's
ImageFolder).

    x, y, classes = cnnfast.data.load_image_folder("cifar10-jpeg/train")

Sorted sub-folder names are the labels 0, 1, ... (as Keras and torchvision number
them); each class folder is walked recursively in sorted order. JPEG, PNG, BMP and
GIF files are decoded with Pillow (the optional extra `cnnfast[images]`); other files
are skipped and counted. Large folders decode in worker processes. The decoded pixels
are cached as uint8 in an .npz keyed by the folder and the options, with a
fingerprint of every file's path, size and modification time: a second load reads
the cache, and a file added, removed or changed rebuilds it.

Bad input is an error naming the file or folder: a missing or empty root, a class
folder without images, an unreadable, truncated or non-image file with an image
suffix, and images of different sizes without `image_size`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, FileFormatError, PathLike
from .files import cache_dir

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1), "rgba": ("RGBA", 4)}
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
_CACHE_VERSION = 1


@dataclass(frozen=True)
class ImageFiles:
    """What a folder holds: `files` (paths relative to the root, sorted by class and
    then by path), their `labels`, the `classes` in label order, and how many files
    without an image suffix were `skipped`."""

    root: Path
    files: list[str]
    labels: np.ndarray
    classes: list[str]
    skipped: int


def pillow() -> Any:
    """PIL.Image, or an ImportError that says what to install."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(
            "reading image folders needs Pillow: pip install 'cnnfast[images]' "
            "(or pip install Pillow)"
        ) from err
    return Image


def scan_image_folder(
    root: PathLike, classes: Sequence[str] | None = None, follow_links: bool = False
) -> ImageFiles:
    """The images under `root`, one sub-folder per class (sorted names, or `classes` in
    that order), without decoding any."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root}: no such directory")
    found = sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=follow_links))
    if classes is None:
        names = found
        if not names:
            raise DataError(f"image folder {root}: no class sub-folders (one per class expected)")
    else:
        names = [str(c) for c in classes]
        missing = [c for c in names if c not in found]
        if missing:
            raise DataError(f"image folder {root}: no sub-folder for the classes {missing}")
        if len(set(names)) != len(names):
            raise DataError(f"image folder {root}: classes named more than once: {names}")
    files: list[str] = []
    labels: list[int] = []
    skipped = 0
    top = os.fspath(root)
    for label, name in enumerate(names):
        count = 0
        for dirpath, dirnames, filenames in os.walk(root / name, followlinks=follow_links):
            dirnames.sort()
            # (string paths: a pathlib object per file was most of a 60,000-file scan)
            rel_dir = os.path.relpath(dirpath, top)
            for fn in sorted(filenames):
                if fn.lower().endswith(IMAGE_SUFFIXES):
                    files.append(os.path.join(rel_dir, fn))
                    labels.append(label)
                    count += 1
                else:
                    skipped += 1
        if count == 0:
            raise DataError(f"image folder {root}: class folder {root / name} holds no images")
    return ImageFiles(root, files, np.asarray(labels, np.int64), names, skipped)


def decode_image(
    path: PathLike,
    color_mode: str = "rgb",
    image_size: tuple[int, int] | None = None,
    interpolation: str = "bilinear",
) -> np.ndarray:
    """One image as uint8 (H, W, C), converted to `color_mode`, resized to `image_size`
    (height, width) when given. A file Pillow cannot decode whole is a FileFormatError
    naming it."""
    Image = pillow()
    mode, _ = COLOR_MODES[color_mode]
    try:
        with Image.open(path) as img:
            img.load()  # (decodes now: a truncated file fails here, not later)
            img = img.convert(mode)
            if image_size is not None and img.size != (image_size[1], image_size[0]):
                resample = getattr(Image.Resampling, interpolation.upper())
                img = img.resize((image_size[1], image_size[0]), resample)
            a = np.asarray(img, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as err:  # Pillow's ways of saying "not whole"
        if isinstance(err, FileNotFoundError | PermissionError):
            raise
        raise FileFormatError(path, f"not a readable image ({type(err).__name__}: {err})") from None
    return a.reshape(a.shape[0], a.shape[1], -1)


def _options(
    image_size: tuple[int, int] | None, color_mode: str, interpolation: str
) -> tuple[tuple[int, int] | None, str, str]:
    if color_mode not in COLOR_MODES:
        raise ValueError(
            f"load_image_folder: color_mode must be one of {sorted(COLOR_MODES)}, "
            f"got {color_mode!r}"
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"load_image_folder: interpolation must be one of {list(INTERPOLATIONS)}, "
            f"got {interpolation!r}"
        )
    if image_size is not None:
        size = tuple(image_size)
        if len(size) != 2 or not all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in size
        ):
            raise ValueError(
                "load_image_folder: image_size must be (height, width), positive ints, "
                f"got {image_size!r}"
            )
        image_size = (int(size[0]), int(size[1]))
    return image_size, color_mode, interpolation


def _fingerprint(found: ImageFiles, options: Any) -> str:
    """A digest of what the decoded arrays depend on: every file's path, size and
    modification time, the labels and class names, and the decoding options."""
    h = hashlib.sha256(json.dumps([_CACHE_VERSION, found.classes, options]).encode())
    top = os.fspath(found.root)
    for rel, label in zip(found.files, found.labels.tolist()):
        st = os.stat(os.path.join(top, rel))
        h.update(f"{rel}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _cache_path(root: Path, options: Any) -> Path:
    key = hashlib.sha256(json.dumps([str(root.resolve()), options]).encode()).hexdigest()[:24]
    return cache_dir() / "image-folders" / f"{root.name}-{key}.npz"


# Below this many files, decoding in this process is quicker than starting workers.
PARALLEL_FROM = 4096
_CHUNK = 1024


def _decode_chunk(
    paths: list[str], color_mode: str, image_size: Any, interpolation: str
) -> list[np.ndarray]:
    return [decode_image(p, color_mode, image_size, interpolation) for p in paths]


def decode_all(
    found: ImageFiles, image_size: Any, color_mode: str, interpolation: str, workers: int
) -> np.ndarray:
    """uint8 (N, H, W, C) of every file; images of different sizes without image_size
    are an error naming the first that differs. Large folders decode in `workers`
    processes: Pillow's per-image Python work holds the GIL, so threads did not help
    (CIFAR-10's 50,000 32x32 JPEGs: 2 threads 28.5 s, 1 thread 23.9 s). The workers are
    forked (cnnfast's own state survives a fork: docs/DESIGN.md); spawned ones would
    re-run a user's script without a main guard, as the lecture scripts are. Where
    there is no fork, one process decodes."""
    paths = [str(found.root / rel) for rel in found.files]
    args = (color_mode, image_size, interpolation)
    if workers <= 1 or len(paths) < PARALLEL_FROM or not hasattr(os, "fork"):
        images = _decode_chunk(paths, *args)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = pool.map(_decode_chunk, chunks, *([a] * len(chunks) for a in args))
            images = [a for part in parts for a in part]
    first = images[0].shape
    for p, a in zip(paths, images):
        if a.shape != first:
            raise DataError(
                f"image folder {found.root}: {p} is {a.shape[1]}x{a.shape[0]}, but {paths[0]} is "
                f"{first[1]}x{first[0]}; pass image_size=(height, width) to resize them all"
            )
    return np.stack(images)


def load_image_pixels(
    root: PathLike,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "rgb",
    classes: Sequence[str] | None = None,
    interpolation: str = "bilinear",
    cache: bool = True,
    workers: int | None = None,
    follow_links: bool = False,
) -> tuple[np.ndarray, ImageFiles]:
    """The decoded pixels, uint8 (N, H, W, C), and what the folder holds (files,
    labels, classes): load_image_folder's work before the conversion to float."""
    image_size, color_mode, interpolation = _options(image_size, color_mode, interpolation)
    found = scan_image_folder(root, classes, follow_links)
    options = [list(image_size) if image_size else None, color_mode, interpolation]
    pixels = None
    path = _cache_path(found.root, options)
    fingerprint = _fingerprint(found, options) if cache else ""
    if cache and path.exists():
        pixels = _read_cache(path, fingerprint, len(found.files))
    if pixels is None:
        pillow()  # (the ImportError before any work)
        n = workers if workers is not None else (os.cpu_count() or 1)
        pixels = decode_all(found, image_size, color_mode, interpolation, n)
        if cache:
            _write_cache(path, fingerprint, pixels)
    return pixels, found


def load_image_folder(
    root: PathLike,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "rgb",
    classes: Sequence[str] | None = None,
    interpolation: str = "bilinear",
    cache: bool = True,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(x, y, classes): x float32 (N, C, H, W) in [0, 1], y int64 labels, the class
    names in label order; see the module's docstring for the folder layout, the cache
    and the errors."""
    pixels, found = load_image_pixels(
        root, image_size, color_mode, classes, interpolation, cache, workers
    )
    return to_float_nchw(pixels), found.labels.copy(), list(found.classes)


def to_float_nchw(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [0, 1], k / 255 correctly rounded
    (as torchvision's ToTensor)."""
    n, h, w, c = pixels.shape
    x = np.empty((n, c, h, w), np.float32)
    # One pass, converting and dividing as it reads the transposed view (a cast to
    # float32 of that view first, then a division, took ten times as long).
    np.divide(pixels.transpose(0, 3, 1, 2), np.float32(255), out=x, dtype=np.float32)
    return x


def _read_cache(path: Path, fingerprint: str, count: int) -> np.ndarray | None:
    """The cached pixels when the cache is whole and of these files; None otherwise
    (a damaged cache is rebuilt, not an error: it is ours, not the user's data)."""
    from ..training.files import load_npz

    try:
        z = load_npz(path)
    except (FileFormatError, OSError):
        return None
    if str(z.get("fingerprint", "")) != fingerprint:
        return None
    pixels = z.get("pixels")
    if pixels is None or pixels.dtype != np.uint8 or pixels.ndim != 4 or len(pixels) != count:
        return None
    return pixels


def _write_cache(path: Path, fingerprint: str, pixels: np.ndarray) -> None:
    from ..training.files import save_npz

    try:
        save_npz(path, {"fingerprint": np.asarray(fingerprint), "pixels": pixels})
    except OSError:
        pass  # (a read-only or full cache directory: the next load decodes again)
