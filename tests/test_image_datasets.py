"""Image folders as whole data sets: keras.utils.image_dataset_from_directory, train/
and test/ split folders for `cnnfast train --data-dir`, CIFAR-10 (JPEG) found by
load_cifar10 and keras.datasets.cifar10, and the zoo's recipes and class counts."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.cli import main

pytest.importorskip("PIL.Image")

from image_files import make_folder, write_image

CIFAR_JPEG = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
CIFAR = cf.data.CIFAR10_CLASSES


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNFAST_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("CNNFAST_DATASETS", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_image_dataset_from_directory_as_keras_gives_it(tmp_path, rng, capsys):
    from cnnfast.keras.utils import image_dataset_from_directory

    written = make_folder(tmp_path / "data", rng, per_class=5)
    ds = image_dataset_from_directory(
        tmp_path / "data", image_size=(6, 8), batch_size=4, shuffle=False
    )
    assert "Found 10 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 3
    batches = list(ds)  # one finite pass, as a tf.data.Dataset
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert xb.dtype == np.float32 and xb.shape == (4, 6, 8, 3) and yb.dtype == np.int32
    np.testing.assert_array_equal(xb[0], written["cats/000.png"])  # values 0..255
    assert Path(ds.file_paths[5]).relative_to(tmp_path / "data").as_posix() == "dogs/000.png"
    modes = {"categorical": (2,), "binary": (1,)}
    for mode, shape in modes.items():
        _, y = image_dataset_from_directory(
            tmp_path / "data", label_mode=mode, image_size=(6, 8), shuffle=False
        ).take(1)[0]
        assert y.shape == (10, *shape) and y.dtype == np.float32
    alone = image_dataset_from_directory(tmp_path / "data", labels=None, image_size=(3, 4))
    assert next(iter(alone)).shape == (10, 3, 4, 3)
    given = image_dataset_from_directory(
        tmp_path / "data", labels=[1, 0] * 5, image_size=(6, 8), shuffle=False
    )
    assert given.take(1)[0][1].tolist() == [1, 0] * 5


def test_image_dataset_validation_split_is_disjoint_and_seeded(tmp_path, rng):
    from cnnfast.keras.utils import image_dataset_from_directory

    make_folder(tmp_path / "data", rng, per_class=10)
    kw = dict(validation_split=0.3, seed=7, image_size=(6, 8), verbose=False)
    train = image_dataset_from_directory(tmp_path / "data", subset="training", **kw)
    val = image_dataset_from_directory(tmp_path / "data", subset="validation", **kw)
    both = image_dataset_from_directory(tmp_path / "data", subset="both", **kw)
    assert len(train.file_paths) == 14 and len(val.file_paths) == 6
    assert not set(train.file_paths) & set(val.file_paths)
    assert both[1].file_paths == val.file_paths and both[0].file_paths == train.file_paths
    passes = [np.concatenate([b[1] for b in train]) for _ in range(2)]
    assert sorted(passes[0]) == sorted(passes[1]) and len(passes[0]) == 14
    assert passes[0].tolist() != passes[1].tolist()  # reshuffled every pass
    with pytest.raises(ValueError, match="pass a seed"):
        image_dataset_from_directory(tmp_path / "data", validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="go together"):
        image_dataset_from_directory(tmp_path / "data", validation_split=0.2)
    with pytest.raises(ValueError, match="subset must be one of"):
        image_dataset_from_directory(tmp_path / "data", validation_split=0.2, subset="x", seed=1)
    with pytest.raises(ValueError, match="label_mode must be one of"):
        image_dataset_from_directory(tmp_path / "data", label_mode="sparse")
    with pytest.raises(ValueError, match="one integer per image"):
        image_dataset_from_directory(tmp_path / "data", labels=[0, 1])
    with pytest.raises(ValueError, match="labels must be >= 0, got -1"):
        image_dataset_from_directory(
            tmp_path / "data", labels=[0, -1] * 10, label_mode="categorical"
        )
    (tmp_path / "data" / "birds").mkdir()
    write_image(tmp_path / "data" / "birds" / "a.png", np.zeros((6, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="label_mode='binary' needs 2 classes"):
        image_dataset_from_directory(tmp_path / "data", label_mode="binary")


def test_image_dataset_feeds_fit_evaluate_and_predict(tmp_path, rng):
    from cnnfast.keras.layers import Dense, Flatten
    from cnnfast.keras.models import Sequential
    from cnnfast.keras.utils import image_dataset_from_directory

    make_folder(tmp_path / "data", rng, per_class=8)
    kw = dict(validation_split=0.25, seed=1, image_size=(6, 8), batch_size=4, verbose=False)
    train_ds, val_ds = image_dataset_from_directory(tmp_path / "data", subset="both", **kw)
    model = Sequential([Flatten(input_shape=(6, 8, 3)), Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(train_ds.cache().prefetch(2), validation_data=val_ds, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    loss, accuracy = model.evaluate(val_ds)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    assert model.predict(val_ds).shape == (4, 2)


def split_folders(root: Path, rng, classes=("cats", "dogs"), hw=(6, 8), per_class=4) -> None:
    for split in ("train", "test"):
        for name in classes:
            for i in range(per_class):
                a = rng.integers(0, 256, (*hw, 3), dtype=np.uint8)
                write_image(root / split / name / f"{i}.png", a)


def test_load_image_split_checks_the_two_halves_agree(tmp_path, rng):
    split_folders(tmp_path / "d", rng)
    (x, y), (xt, yt), names = cf.data.load_image_split(tmp_path / "d")
    assert names == ["cats", "dogs"] and x.shape == xt.shape == (8, 3, 6, 8)
    assert y.tolist() == yt.tolist() == [0] * 4 + [1] * 4
    write_image(tmp_path / "d" / "test" / "birds" / "0.png", np.zeros((6, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="different classes"):
        cf.data.load_image_split(tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="expected train/ and test/"):
        cf.data.load_image_split(tmp_path / "d" / "train")


def test_cnnfast_train_on_a_folder_of_its_own_classes_and_size(tmp_path, rng, capsys):
    split_folders(tmp_path / "d", rng, classes=("a", "b", "c"), hw=(20, 24))
    out = tmp_path / "run"
    base = ["train", "lenet5", "--data-dir", str(tmp_path / "d"), "--epochs", "1"]
    assert main([*base, "--out", str(out)]) == 1  # a one-line error, no traceback
    assert "pass --image-size 28 28" in capsys.readouterr().err
    assert main([*base, "--image-size", "28", "28", "--out", str(out), "--verbose", "0"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["classes"] == 3 and config["image_size"] == [28, 28]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == str(tmp_path / "d")
    report = (out / "classification_report.txt").read_text()
    assert all(name in report for name in ("a", "b", "c"))
    assert main(["evaluate", str(out)]) == 0  # rebuilt with 3 outputs from config.json
    assert "test accuracy" in capsys.readouterr().out


def test_models_get_with_another_class_count():
    model = cf.models.get("udacity-cifar10", classes=2)
    assert model(cf.tensor(np.zeros((1, 3, 32, 32), np.float32))).shape == (1, 2)
    with pytest.raises(ValueError, match="positive int"):
        cf.models.get("udacity-cifar10", classes=0)
    with pytest.raises(ValueError, match="does not end with a Linear"):
        cf.models.get("kim-sentence-cnn", classes=3)


def test_recipes_are_the_defaults_and_flags_win():
    from cnnfast.training.run import config_for

    cfg = config_for("convnetjs-cifar10")
    assert (cfg.optimizer, cfg.batch_size, cfg.augment, cfg.flip) == ("adadelta", 4, True, True)
    assert cfg.weight_decay == pytest.approx(2.5e-5) and cfg.shift == pytest.approx(2 / 32)
    cfg = config_for("convnetjs-cifar10", batch_size=64, augment=False, optimizer="adam")
    assert (cfg.optimizer, cfg.batch_size, cfg.augment) == ("adam", 64, False)
    cfg = config_for("keras-mnist-2conv")
    assert (cfg.optimizer, cfg.batch_size, cfg.epochs, cfg.augment) == ("adam", 128, 12, False)
    net = cf.models.get("convnetjs-cifar10")
    assert net.num_parameters() == 22_466  # 16*(75+1) + 20*(400+1) + 20*(500+1) + 10*(320+1)


def write_cifar_like(root: Path, rng, per_class: int = 2, hw=(32, 32)) -> None:
    for split in ("train", "test"):
        for name in CIFAR:
            for i in range(per_class):
                a = rng.integers(0, 256, (*hw, 3), dtype=np.uint8)
                write_image(root / split / name / f"{i:04d}.png", a)


def test_load_cifar10_finds_the_jpeg_folders_and_their_archive(tmp_path, rng, monkeypatch):
    write_cifar_like(tmp_path / "cifar10-jpeg", rng)
    (x, y), (xt, yt) = cf.data.load_cifar10(tmp_path / "cifar10-jpeg")
    assert x.shape == (20, 3, 32, 32) and sorted(y.tolist()) == sorted(list(range(10)) * 2)
    assert xt.shape == (20, 3, 32, 32) and sorted(yt.tolist()) == sorted(y.tolist())
    assert y.tolist() != sorted(y.tolist())  # a fixed random order, as the batches have
    (x2, y2), _ = cf.data.load_cifar10(tmp_path)  # (its parent holds cifar10-jpeg/)
    np.testing.assert_array_equal(y, y2)
    with (
        tarfile.open(tmp_path / "pack" / "cifar10-jpeg.tar.gz", "w:gz")
        if ((tmp_path / "pack").mkdir() or True)
        else None as tar
    ):
        tar.add(tmp_path / "cifar10-jpeg", arcname="cifar10-jpeg")
    with pytest.raises(cf.data.DatasetNotFound, match="CNNFAST_DATASETS"):
        cf.data.load_cifar10()
    monkeypatch.setenv("CNNFAST_DATASETS", str(tmp_path / "pack"))
    (x3, y3), (xt3, _) = cf.data.load_cifar10()  # unpacked once into the cache
    np.testing.assert_array_equal(x3, x2)
    np.testing.assert_array_equal(xt3, xt)
    assert (tmp_path / "cache" / "unpacked" / "cifar10-jpeg" / "cifar10-jpeg").is_dir()
    from cnnfast.keras.datasets import cifar10

    (a, b), (c, d) = cifar10.load_data()
    assert a.shape == (20, 32, 32, 3) and a.dtype == np.uint8 and b.shape == (20, 1)
    assert c.shape == (20, 32, 32, 3) and d.shape == (20, 1)
    np.testing.assert_array_equal(b[:, 0], y3)
    monkeypatch.setenv("CNNFAST_DATASETS", "")
    home = tmp_path / "home" / ".cnnfast" / "datasets"
    home.mkdir(parents=True)
    (tmp_path / "cifar10-jpeg").rename(home / "cifar10-jpeg")
    assert cf.data.load_cifar10()[0][1].tolist() == y.tolist()


def test_cifar10_folders_must_be_cifar_shaped(tmp_path, rng):
    write_cifar_like(tmp_path / "c", rng, per_class=1, hw=(16, 16))
    with pytest.raises(ValueError, match="32x32 RGB, these are 16x16"):
        cf.data.load_cifar10(tmp_path / "c")
    (tmp_path / "c" / "train" / "truck").rename(tmp_path / "c" / "train" / "lorry")
    with pytest.raises(ValueError, match=r"no sub-folder for the classes \['truck'\]"):
        cf.data.load_cifar10(tmp_path / "c")


@pytest.mark.skipif(not CIFAR_JPEG.exists(), reason="../shared/datasets is not beside the repo")
def test_udacity_cifar10_learns_from_the_real_jpegs(tmp_path, monkeypatch):
    """A few hundred steps of lecture 004's CNN on real CIFAR-10 (JPEG) images must
    clearly beat chance (10%) on real test images it never saw."""
    monkeypatch.setenv("CNNFAST_DATASETS", str(CIFAR_JPEG.parent))
    (x, y), (xt, yt) = cf.data.load_cifar10()
    assert x.shape == (50000, 3, 32, 32) and xt.shape == (10000, 3, 32, 32)
    assert np.bincount(y).tolist() == [5000] * 10 and np.bincount(yt).tolist() == [1000] * 10
    model = cf.models.get("udacity-cifar10", seed=0)
    opt = cf.optim.get("rmsprop", model.parameters())
    cf.training.fit(model, opt, x[:9600], y[:9600], batch_size=32, epochs=1, verbose=0, seed=0)
    _, accuracy = cf.training.evaluate(model, xt[:2000], yt[:2000])
    assert accuracy > 0.25, f"300 steps reached {accuracy:.1%} on real test images"
