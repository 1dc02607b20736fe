"""Data loaders on small files written here in each format, safe unpickling, checksummed
download, batching, the split and augmentation."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.data import files


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


def write_idx_set(directory: Path, rng: np.random.Generator, gz: bool) -> dict[str, np.ndarray]:
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 7),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3),
    }
    for name, a in arrays.items():
        write_idx(directory / (name + (".gz" if gz else "")), a, gz)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_idx_directory_loads_as_nchw_floats(tmp_path, rng, gz):
    arrays = write_idx_set(tmp_path, rng, gz)
    for loader in (cf.data.load_mnist, cf.data.load_fashion_mnist):
        (x, y), (xt, yt) = loader(tmp_path)
        assert x.shape == (7, 1, 28, 28) and x.dtype == np.float32 and xt.shape == (3, 1, 28, 28)
        np.testing.assert_allclose(x[:, 0] * 255, arrays["train-images-idx3-ubyte"], atol=1e-4)
        np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
        np.testing.assert_array_equal(yt, arrays["t10k-labels-idx1-ubyte"])
        assert y.dtype == np.int64


def test_mnist_pickle_format(tmp_path, rng):
    split = [(rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in (5, 2, 3)]
    with gzip.open(tmp_path / "mnist.pkl.gz", "wb") as f:
        pickle.dump(tuple(split), f, protocol=2)
    (x, y), (xt, _) = cf.data.load_mnist(tmp_path)
    assert x.shape == (7, 1, 28, 28) and xt.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(y, np.concatenate([split[0][1], split[1][1]]))
    np.testing.assert_allclose(x[5, 0].ravel(), split[1][0][0])


class Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_data_pickles_cannot_run_code(tmp_path):
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"data": Exploit()}))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load builtins\.print"):
        files.load_data_pickle(tmp_path / "evil.pkl")


def cifar_arrays(rng, n):
    return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)


def test_cifar10_python_batches(tmp_path, rng):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x, y = cifar_arrays(rng, 2)
        written[name] = (x, y)
        with open(d / name, "wb") as f:  # the official files: dicts with bytes keys
            pickle.dump({b"data": x.reshape(2, -1), b"labels": list(map(int, y))}, f, protocol=2)
    (x, y), (xt, yt) = cf.data.load_cifar10(tmp_path)
    assert x.shape == (10, 3, 32, 32) and xt.shape == (2, 3, 32, 32)
    np.testing.assert_allclose(x[:2] * 255, written["data_batch_1"][0], atol=1e-4)
    np.testing.assert_array_equal(yt, written["test_batch"][1])


def test_cifar10_binary_batches(tmp_path, rng):
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        x, y = cifar_arrays(rng, 3)
        rows = np.concatenate([y.astype(np.uint8)[:, None], x.reshape(3, -1)], axis=1)
        rows.tofile(d / name)
        if name == "test_batch.bin":
            expected = (x, y)
    (x, y), (xt, yt) = cf.data.load_cifar10(tmp_path)
    assert x.shape == (15, 3, 32, 32)
    np.testing.assert_array_equal(yt, expected[1])
    np.testing.assert_allclose(xt * 255, expected[0], atol=1e-4)


def test_missing_data_sets_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNFAST_DATA", str(tmp_path / "cache"))
    with pytest.raises(cf.data.DatasetNotFound, match="download=True"):
        cf.data.load_cifar10()
    with pytest.raises(cf.data.DatasetNotFound, match="no MNIST IDX files"):
        cf.data.load_mnist(tmp_path)
    with pytest.raises(ValueError, match="unknown data set"):
        cf.data.load("imagenet")


def test_a_failed_download_is_a_missing_data_set(tmp_path, monkeypatch):
    """keras.datasets.cifar10.load_data() downloads as Keras does; where that fails (no
    network here: a URL that cannot be read stands for it) the error says what to do."""
    from cnnfast.data import datasets
    from cnnfast.keras.datasets import cifar10

    monkeypatch.setenv("CNNFAST_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "CIFAR10_URL", (tmp_path / "absent.tar.gz").as_uri())
    with pytest.raises(cf.data.DatasetNotFound, match=r"download failed .*\(path=") as err:
        cifar10.load_data()
    assert isinstance(err.value.__cause__, OSError)
    assert not list((tmp_path / "cache" / "cifar10").iterdir())  # no partial file left


def test_download_checks_the_md5_and_writes_atomically(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"some data set bytes")
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    dest = files.download(src.as_uri(), tmp_path / "out" / "file.bin", md5)
    assert dest.read_bytes() == src.read_bytes()
    with pytest.raises(OSError, match="expected 0000"):
        files.download(src.as_uri(), tmp_path / "out" / "other.bin", "0" * 32)
    assert not (tmp_path / "out" / "other.bin").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["file.bin"]  # no partial files


def test_batches_split_and_augmentation(rng):
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10)
    seen = np.concatenate(
        [yb for _, yb in cf.data.batches(x, y, 3, True, np.random.default_rng(0))]
    )
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    assert [len(yb) for _, yb in cf.data.batches(x, y, 4, False)] == [4, 4, 2]
    (_, ya), (_, yv) = cf.data.train_val_split(x, y, 0.2)
    assert list(yv) == [8, 9] and len(ya) == 8
    img = np.zeros((1, 1, 5, 5), np.float32)
    img[0, 0, 2, 2] = 1
    shifted = cf.data.random_shift_flip(np.repeat(img, 50, 0), np.random.default_rng(1), 0.2, 0.2)
    assert (shifted.reshape(50, -1).sum(axis=1) == 1).all()  # the pixel moves, never vanishes
    assert len({tuple(np.argwhere(s[0])[0]) for s in shifted}) > 1
    asym = np.zeros((1, 1, 2, 3), np.float32)
    asym[0, 0, :, 0] = 1
    flipped = cf.data.random_shift_flip(
        np.repeat(asym, 40, 0), np.random.default_rng(2), horizontal_flip=True
    )
    assert 0 < flipped[:, 0, 0, 2].sum() < 40  # some flipped, some not
