"""cnnfast.data.load_image_folder: class folders of images in, (x, y, classes) out, with
the decoded pixels cached and every bad input an error naming the file or folder."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cnnfast.data import images, load_image_folder, scan_image_folder
from cnnfast.errors import FileFormatError

Image = pytest.importorskip("PIL.Image")

from image_files import make_folder, write_image  # noqa: E402 (needs Pillow)

CIFAR_JPEG = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.tar.gz"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNFAST_DATA", str(tmp_path / "cache"))


def test_labels_are_the_sorted_folder_names_and_pixels_come_through(tmp_path, rng):
    written = make_folder(tmp_path / "data", rng)
    (tmp_path / "data" / "cats" / "notes.txt").write_text("not an image")
    x, y, classes = load_image_folder(tmp_path / "data")
    assert classes == ["cats", "dogs"]
    assert x.dtype == np.float32 and x.shape == (6, 3, 6, 8)
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 0, 1, 1, 1]
    found = scan_image_folder(tmp_path / "data")
    assert found.skipped == 1 and found.files[0] == os.path.join("cats", "000.png")
    for i, rel in enumerate(found.files):
        np.testing.assert_array_equal(x[i], written[rel].transpose(2, 0, 1) / np.float32(255))


def test_classes_pick_and_order_the_folders(tmp_path, rng):
    make_folder(tmp_path / "data", rng)
    x, y, classes = load_image_folder(tmp_path / "data", classes=["dogs"])
    assert classes == ["dogs"] and y.tolist() == [0, 0, 0] and len(x) == 3
    _, y, classes = load_image_folder(tmp_path / "data", classes=["dogs", "cats"])
    assert classes == ["dogs", "cats"] and y.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"no sub-folder for the classes \['birds'\]"):
        load_image_folder(tmp_path / "data", classes=["birds"])


def test_color_modes_and_resizing(tmp_path, rng):
    make_folder(tmp_path / "data", rng)
    x, _, _ = load_image_folder(tmp_path / "data", color_mode="grayscale")
    assert x.shape == (6, 1, 6, 8)
    x, _, _ = load_image_folder(tmp_path / "data", image_size=(4, 5), color_mode="rgba")
    assert x.shape == (6, 4, 4, 5) and (x[:, 3] == 1).all()  # (an opaque alpha channel)
    with pytest.raises(ValueError, match="image_size must be"):
        load_image_folder(tmp_path / "data", image_size=(4, 0))
    with pytest.raises(ValueError, match="color_mode must be"):
        load_image_folder(tmp_path / "data", color_mode="cmyk")


def test_the_second_load_reads_the_cache_and_a_changed_file_rebuilds_it(tmp_path, rng, monkeypatch):
    written = make_folder(tmp_path / "data", rng)
    first = load_image_folder(tmp_path / "data")
    calls = []
    decode = images.decode_image
    monkeypatch.setattr(images, "decode_image", lambda *a, **k: calls.append(a) or decode(*a, **k))
    second = load_image_folder(tmp_path / "data")
    assert calls == [] and np.array_equal(first[0], second[0])
    # a changed file (new pixels, a later modification time) and an added one
    target = tmp_path / "data" / "dogs" / "001.png"
    new = 255 - written["dogs/001.png"]
    write_image(target, new)
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    write_image(tmp_path / "data" / "dogs" / "003.png", new)
    x, y, _ = load_image_folder(tmp_path / "data")
    assert len(calls) == 7 and len(x) == 7 and y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    np.testing.assert_array_equal(x[4], new.transpose(2, 0, 1) / np.float32(255))
    # a damaged cache file is rebuilt, not an error
    for f in (tmp_path / "cache" / "image-folders").iterdir():
        f.write_bytes(b"garbage")
    calls.clear()
    assert np.array_equal(load_image_folder(tmp_path / "data")[0], x) and len(calls) == 7


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda root: None, "no such directory"),
        (lambda root: root.mkdir(), "no class sub-folders"),
        (lambda root: (root / "a").mkdir(parents=True), "holds no images"),
    ],
)
def test_missing_and_empty_folders_name_the_folder(tmp_path, damage, message):
    root = tmp_path / "data"
    damage(root)
    with pytest.raises((ValueError, FileNotFoundError), match=message) as err:
        load_image_folder(root)
    assert str(root) in str(err.value)


def test_a_class_folder_with_only_stray_files_names_it(tmp_path, rng):
    make_folder(tmp_path / "data", rng)
    (tmp_path / "data" / "empty").mkdir()
    (tmp_path / "data" / "empty" / "README").write_text("x")
    with pytest.raises(ValueError, match=r"class folder .*empty holds no images"):
        load_image_folder(tmp_path / "data")


@pytest.mark.parametrize("kind", ["truncated", "not an image", "empty"])
def test_an_unreadable_image_file_is_an_error_naming_it(tmp_path, rng, kind):
    make_folder(tmp_path / "data", rng)
    bad = tmp_path / "data" / "cats" / "001.png"
    if kind == "truncated":
        bad.write_bytes(bad.read_bytes()[:60])
    elif kind == "not an image":
        bad.write_bytes(b"GIF89a but not really" * 3)
    else:
        bad.write_bytes(b"")
    with pytest.raises(FileFormatError, match="not a readable image") as err:
        load_image_folder(tmp_path / "data")
    assert err.value.path == bad


def test_mixed_sizes_need_image_size(tmp_path, rng):
    make_folder(tmp_path / "data", rng)
    odd = tmp_path / "data" / "dogs" / "zz.png"
    write_image(odd, rng.integers(0, 256, (5, 5, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"zz.png is 5x5, but .*000.png is 8x6; pass image_size"):
        load_image_folder(tmp_path / "data")
    x, _, _ = load_image_folder(tmp_path / "data", image_size=(6, 8))
    assert x.shape == (7, 3, 6, 8)


def test_without_pillow_the_error_says_what_to_install(tmp_path, rng, monkeypatch):
    make_folder(tmp_path / "data", rng)
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"cnnfast\[images\]"):
        load_image_folder(tmp_path / "data", cache=False)


@pytest.mark.skipif(not CIFAR_JPEG.exists(), reason="../shared/datasets is not beside the repo")
def test_a_slice_of_the_real_cifar10_jpegs(tmp_path):
    """JPEG decoding of the real files: 32x32 RGB, labels in CIFAR-10's class order."""
    root = tmp_path / "cifar"
    with tarfile.open(CIFAR_JPEG) as tar:
        chosen = []
        for member in tar:
            parts = Path(member.name).parts
            if member.isfile() and "test" in parts and parts[-1] < "0020":
                chosen.append(member)
        tar.extractall(root, members=chosen, filter="data")
    test_dir = next(root.rglob("test"))
    x, y, classes = load_image_folder(test_dir)
    assert classes[:2] == ["airplane", "automobile"] and len(classes) == 10
    assert x.shape[1:] == (3, 32, 32) and np.bincount(y).min() >= 1
    assert 0.2 < float(x.mean()) < 0.8 and float(x.std()) > 0.1


def test_flow_from_directory_as_keras_reads_it(tmp_path, rng, capsys):
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    written = make_folder(tmp_path / "data", rng)
    gen = ImageDataGenerator(rescale=1 / 255)
    flow = gen.flow_from_directory(
        tmp_path / "data", target_size=(6, 8), batch_size=4, shuffle=False
    )
    assert "Found 6 images belonging to 2 classes." in capsys.readouterr().out
    assert flow.samples == flow.n == 6 and flow.num_classes == 2
    assert (
        flow.class_indices == {"cats": 0, "dogs": 1} and flow.classes.tolist() == [0] * 3 + [1] * 3
    )
    assert flow.filenames[3] == os.path.join("dogs", "000.png") and flow.image_shape == (6, 8, 3)
    xb, yb = next(iter(flow))
    assert xb.shape == (4, 6, 8, 3) and yb.tolist() == [[1, 0]] * 3 + [[0, 1]]
    np.testing.assert_allclose(xb[0], written["cats/000.png"] * np.float32(1 / 255), rtol=1e-6)
    for mode, first in (("binary", 0.0), ("sparse", 0.0)):
        f = gen.flow_from_directory(tmp_path / "data", (6, 8), class_mode=mode, shuffle=False)
        assert next(iter(f))[1].tolist()[:4] == [first] * 3 + [1.0]
    alone = next(iter(gen.flow_from_directory(tmp_path / "data", (3, 4), class_mode=None)))
    assert alone.shape == (6, 3, 4, 3)
    (tmp_path / "data" / "birds").mkdir()
    write_image(tmp_path / "data" / "birds" / "a.png", written["cats/000.png"])
    with pytest.raises(ValueError, match="class_mode='binary' needs 2 class folders"):
        gen.flow_from_directory(tmp_path / "data", (6, 8), class_mode="binary")
    with pytest.raises(ValueError, match="class_mode must be one of"):
        gen.flow_from_directory(tmp_path / "data", (6, 8), class_mode="input")


def test_flow_from_directory_feeds_fit(tmp_path, rng):
    from cnnfast.keras.layers import Dense, Flatten
    from cnnfast.keras.models import Sequential
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    make_folder(tmp_path / "data", rng, per_class=8)
    gen = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True, seed=0)
    flow = gen.flow_from_directory(tmp_path / "data", target_size=(6, 8), batch_size=4)
    model = Sequential([Flatten(input_shape=(6, 8, 3)), Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(flow, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_shear_moves_pixels_as_keras_shear_matrix():
    """shear_range in degrees (Keras 2): row' = row - sin(s) col, col' = cos(s) col about
    the centre; a constant image stays constant, a ramp along the rows changes."""
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    class Fixed:  # the generator's draws: a 20-degree shear, no flip
        def uniform(self, lo: float, hi: float) -> float:
            return 20.0

        def random(self) -> float:
            return 1.0

    gen = ImageDataGenerator(shear_range=20)
    assert gen.is_random
    flat = np.full((9, 9, 1), 0.5, np.float32)
    np.testing.assert_array_equal(gen.random_transform(flat, Fixed()), flat)  # type: ignore[arg-type]
    ramp = np.tile(np.arange(9, dtype=np.float32)[:, None, None], (1, 9, 1))
    out = gen.random_transform(ramp, Fixed())  # type: ignore[arg-type]
    c = 4
    for col in (0, 8):  # source row = centre + (row - centre) - sin(20deg) * (col - centre)
        expected = np.clip(np.arange(9) - np.sin(np.deg2rad(20)) * (col - c), 0, 8)
        np.testing.assert_allclose(out[:, col, 0], expected, atol=1e-5)
    np.testing.assert_allclose(out[:, c, 0], np.arange(9), atol=1e-5)


def test_lecture_004_train_your_own_data_cell(tmp_path, rng):
    """004's cell as printed but for imports and paths: shear/zoom/flip, two class
    folders, class_mode='binary' into the usual classifier of that cell (a last
    Dense(1, activation='sigmoid') under binary_crossentropy), Keras 1's
    fit_generator arguments mapped with a DeprecationWarning."""
    from cnnfast.keras.layers import Dense, Flatten
    from cnnfast.keras.models import Sequential
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    for split in ("training_set", "test_set"):
        make_folder(tmp_path / "dataset" / split, rng, per_class=6, hw=(10, 12))
    train_datagen = ImageDataGenerator(
        rescale=1.0 / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True
    )
    test_datagen = ImageDataGenerator(rescale=1.0 / 255)
    training_set = train_datagen.flow_from_directory(
        tmp_path / "dataset" / "training_set", target_size=(8, 8), batch_size=5, class_mode="binary"
    )
    test_set = test_datagen.flow_from_directory(
        tmp_path / "dataset" / "test_set", target_size=(8, 8), batch_size=5, class_mode="binary"
    )
    assert training_set.nb_samples == 12 and training_set.class_indices == {"cats": 0, "dogs": 1}
    classifier = Sequential([Flatten(input_shape=(8, 8, 3)), Dense(1, activation="sigmoid")])
    classifier.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    with pytest.warns(DeprecationWarning, match="Keras 1 arguments"):
        history = classifier.fit_generator(
            training_set,
            samples_per_epoch=12,
            nb_epoch=3,
            validation_data=test_set,
            nb_val_samples=12,
        )
    assert len(history.history["loss"]) == 3 and "val_loss" in history.history
    assert np.isfinite(history.history["val_loss"]).all()
    p = classifier.predict(next(iter(test_set))[0])
    assert p.shape == (5, 1) and ((0 <= p) & (p <= 1)).all()
    with pytest.raises(TypeError, match=r"unexpected arguments \['nb_worker'\]"):
        classifier.fit_generator(training_set, nb_worker=2)
