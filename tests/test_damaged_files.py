"""Damaged files (issue 13, class 5): one clear error naming the file and what is
wrong with it; nothing half-loaded; temporaries of killed runs cleaned up; a write
that fails says so and leaves the previous file valid."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.cli import main
from cnnfast.data import files as data_files
from cnnfast.errors import FileFormatError
from cnnfast.training import files

# --- the .npz loaders -------------------------------------------------------------------


def good_npz(path: Path) -> Path:
    files.save_npz(path, {"a": np.arange(1000, dtype=np.float32), "b": np.ones((3, 4))})
    return path


def damage(path: Path, how: str) -> Path:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "crc":  # flip bytes inside the first member's data (stored, uncompressed)
        i = data.index(b"\x93NUMPY") + 200
        path.write_bytes(data[:i] + bytes(b ^ 0xFF for b in data[i : i + 16]) + data[i + 16 :])
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif how == "text":
        path.write_text("model weights, honest\n")
    return path


NPZ_DAMAGE = {
    "truncated": "(damaged|truncated|not a readable)",
    "empty": "empty file",
    "crc": "fails its CRC check",
    "random": "not an .npz archive",
    "text": "not an .npz archive",
}


@pytest.mark.parametrize("how", list(NPZ_DAMAGE))
def test_load_npz_names_the_file_and_the_damage(tmp_path, how):
    path = damage(good_npz(tmp_path / "weights.npz"), how)
    with pytest.raises(FileFormatError, match=NPZ_DAMAGE[how]) as err:
        files.load_npz(path)
    assert err.value.path == path and str(path) in str(err.value)


def test_load_npz_with_an_offset_before_the_file_start(tmp_path):
    """(Found by fuzzing.) A central directory whose member offset points before the
    start of the file made zipfile's seek fail with OSError EINVAL."""
    path = good_npz(tmp_path / "weights.npz")
    data = bytearray(path.read_bytes())
    end = data.index(b"PK\x05\x06")  # the end record: where the central directory is
    (offset,) = struct.unpack("<I", data[end + 16 : end + 20])
    data[end + 16 : end + 20] = struct.pack("<I", offset + 100)  # members 100 bytes early
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="an offset in it is invalid") as err:
        files.load_npz(path)
    assert str(path) in str(err.value)
    fuzzed = Path(__file__).parent / "fuzz" / "corpus" / "files" / "found-npz-offset-before-start"
    path.write_bytes(fuzzed.read_bytes()[1:])  # (its first byte picks the npz loader)
    with pytest.raises(FileFormatError, match="not a readable"):
        files.load_npz(path)


def test_load_npz_with_a_header_claiming_more_than_it_holds(tmp_path):
    """NumPy allocates what an .npy header claims before it reads: a (CRC-valid)
    member claiming 4 TiB must be an error about the file, not a MemoryError."""
    member = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (2**40,)}
    np.lib.format.write_array_header_1_0(member, header)
    member.write(b"\0" * 16)
    path = tmp_path / "weights.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.npy", member.getvalue())
    with pytest.raises(FileFormatError, match=r"array 'a': its header says \(1099511627776,\)"):
        files.load_npz(path)


def test_load_npz_with_a_zip_feature_no_npz_uses(tmp_path):
    """(Found by fuzzing.) zipfile raises NotImplementedError for flag bit 5
    (compressed patched data) and unknown compression methods."""
    path = good_npz(tmp_path / "weights.npz")
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x20  # the first member's general-purpose flags: bit 5
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"not a readable \.npz archive: compressed patched"):
        files.load_npz(path)
    for flag, method, problem in [
        (0x1, None, "is encrypted"),
        (0, 99, "uses zip compression method 99"),
    ]:
        data = bytearray(good_npz(path).read_bytes())
        central = data.index(b"PK\x01\x02")
        data[central + 8] |= flag
        if method is not None:
            data[central + 10 : central + 12] = struct.pack("<H", method)
        path.write_bytes(bytes(data))
        with pytest.raises(FileFormatError, match=rf"member 'a.npy' {problem}"):
            files.load_npz(path)


def test_load_npz_never_unpickles_object_arrays(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(FileFormatError, match="holds Python objects"):
        files.load_npz(path)


def net_and_weights(tmp_path: Path) -> tuple[cf.nn.Module, Path]:
    model = cf.models.get("lenet5", seed=0)
    return model, files.save_weights(model, tmp_path / "final.npz")


def test_load_weights_is_all_or_nothing(tmp_path):
    model, path = net_and_weights(tmp_path)
    state = files.load_npz(path)
    last = sorted(state)[-1]
    bad = {k: v + 1 for k, v in state.items()}  # every array different...
    bad[last] = np.zeros((*np.asarray(state[last]).shape, 2), np.float32)  # ...the last wrong
    files.save_npz(path, bad)
    before = model.state_dict()
    with pytest.raises(ValueError, match=rf"{path}.*{last} has shape"):
        files.load_weights(model, path)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before), "half-loaded"
    with pytest.raises(ValueError, match="dtype"):
        model.load_state_dict({**state, last: np.full(state[last].shape, "x")})
    assert all(np.array_equal(before[k], model.state_dict()[k]) for k in before)


def test_optimizer_load_state_dict_is_all_or_nothing():
    model = cf.models.get("lenet5", seed=0)
    opt = cf.optim.Adam(model.parameters())
    model(cf.tensor(np.zeros((2, 1, 28, 28), np.float32))).sum().backward()
    opt.step()
    state = opt.state_dict()
    before = {k: np.array(v) for k, v in opt.state_dict().items()}
    slot = sorted(k for k in state if k.startswith("state."))[-1]
    broken = {k: np.asarray(v) * 2 for k, v in state.items()}
    broken[slot] = np.zeros((1, 2, 3))
    with pytest.raises(ValueError, match=rf"{slot} has shape"):
        opt.load_state_dict(broken)
    assert all(np.array_equal(before[k], np.asarray(v)) for k, v in opt.state_dict().items())
    with pytest.raises(ValueError, match="for parameter 99"):
        opt.load_state_dict({"state.99.m": np.zeros(3)})


def test_keras_weights_and_models(tmp_path):
    from cnnfast.keras.layers import Dense, Flatten
    from cnnfast.keras.models import Sequential, load_model

    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.save(tmp_path / "m.keras.npz")
    model.save_weights(tmp_path / "w.hdf5")
    for name in ("m.keras.npz", "w.hdf5"):
        damage(tmp_path / name, "truncated")
    with pytest.raises(FileFormatError, match=r"m\.keras\.npz"):
        load_model(tmp_path / "m.keras.npz")
    with pytest.raises(FileFormatError, match=r"w\.hdf5"):
        model.load_weights(tmp_path / "w.hdf5")

    # A config that names something other than a layer (a module, a function).
    model.save(tmp_path / "m2.npz")
    arrays = files.load_npz(tmp_path / "m2.npz")
    config = json.loads(str(arrays["__keras_model_config__"]))
    for name in ("np", "Sequential", "_Windowed", "NoSuchLayer"):
        config["layers"][0]["class_name"] = name
        arrays["__keras_model_config__"] = np.asarray(json.dumps(config))
        files.save_npz(tmp_path / "m3.npz", arrays)
        with pytest.raises(FileFormatError, match=rf"m3.npz.*{name}.*not a cnnfast.keras layer"):
            load_model(tmp_path / "m3.npz")
    arrays["__keras_model_config__"] = np.asarray('{"name": "x", "layers": [')
    files.save_npz(tmp_path / "m4.npz", arrays)
    with pytest.raises(FileFormatError, match=r"m4\.npz: not a readable saved Keras model"):
        load_model(tmp_path / "m4.npz")


# --- the data sets' files ---------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_mnist_dir(d: Path, n_train: int = 64, n_test: int = 32) -> Path:
    rng = np.random.default_rng(0)
    d.mkdir(parents=True, exist_ok=True)
    write_idx(d / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(d / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train))
    write_idx(d / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(d / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, n_test))
    return d


def test_idx_files_cut_short_name_the_file(tmp_path):
    d = write_mnist_dir(tmp_path / "mnist")
    labels = d / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(raw[:6]))  # inside the header
    with pytest.raises(FileFormatError, match=rf"{labels}: IDX header cut short"):
        cf.data.load_mnist(d)
    labels.write_bytes(gzip.compress(raw[:-5]))  # inside the body
    with pytest.raises(FileFormatError, match=r"IDX header says \(64,\).*holds 59"):
        cf.data.load_mnist(d)
    labels.write_bytes(gzip.compress(raw)[:-12])  # the gzip stream itself cut
    with pytest.raises(
        FileFormatError, match=rf"{labels}: not a readable IDX file: it is truncated"
    ):
        cf.data.load_mnist(d)
    labels.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(FileFormatError, match=str(labels)):
        cf.data.load_mnist(d)
    # (found by fuzzing) an empty array whose other dimensions NumPy cannot hold
    dims = (0, 2**25, 3 * 2**24, 2**26 + 258, 2**25, 2**26)
    labels.write_bytes(struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + struct.pack(">6I", *dims))
    with pytest.raises(FileFormatError, match=rf"{labels}: IDX header says .*more than an array"):
        cf.data.load_mnist(d)


def test_mnist_pickle_damage_names_the_file(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    rng = np.random.default_rng(0)
    split = [(rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in (5, 2, 3)]
    payload = gzip.compress(pickle.dumps(tuple(split), protocol=2))
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(FileFormatError, match=rf"{path}: not a readable MNIST pickle.*truncated"):
        cf.data.load_mnist(tmp_path)
    path.write_bytes(gzip.compress(pickle.dumps(("not", "three splits"), protocol=2)))
    with pytest.raises(FileFormatError, match=rf"{path}: not a readable MNIST pickle"):
        cf.data.load_mnist(tmp_path)
    # (found by fuzzing) a length field claiming 2**40 bytes, which pickle allocates first
    path.write_bytes(gzip.compress(b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc"))
    with pytest.raises(FileFormatError, match=rf"{path}: .*more memory than can be allocated"):
        cf.data.load_mnist(tmp_path)
    # (found by fuzzing) a pickle asking _codecs.encode for an encoding that does not exist
    path.write_bytes(
        gzip.compress(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00matin1\x86R.")
    )
    with pytest.raises(FileFormatError, match=rf"{path}: not a readable MNIST pickle.*matin1"):
        cf.data.load_mnist(tmp_path)


def test_malformed_cifar_batches_name_the_file(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 2]}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))
    (d / "data_batch_3").write_bytes(pickle.dumps([1, 2, 3], protocol=2))  # a list, no keys
    with pytest.raises(
        FileFormatError, match=r"data_batch_3: not a readable CIFAR-10 python batch"
    ):
        cf.data.load_cifar10(tmp_path)
    (d / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros(5, np.uint8), b"labels": [1]}))
    with pytest.raises(FileFormatError, match="data_batch_3"):
        cf.data.load_cifar10(tmp_path)
    (d / "data_batch_3").write_bytes(pickle.dumps({"labels": [1]}, protocol=2))
    with pytest.raises(FileFormatError, match="no 'data' and 'labels'"):
        cf.data.load_cifar10(tmp_path)

    b = tmp_path / "bin" / "cifar-10-batches-bin"
    b.mkdir(parents=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (b / name).write_bytes(rng.integers(0, 256, 2 * 3073, dtype=np.uint8).tobytes())
    (b / "test_batch.bin").write_bytes(b"\x00" * 3000)
    with pytest.raises(FileFormatError, match=r"test_batch\.bin: not a CIFAR-10 binary batch"):
        cf.data.load_cifar10(tmp_path / "bin")


def test_the_message_names_the_reader_problem_not_only_the_type(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(b"\x80\x02}q\x00(")  # a pickle cut off
    with pytest.raises(
        FileFormatError, match=rf"{path}: not a readable data pickle: it is truncated"
    ):
        data_files.load_data_pickle(path)


# --- runs: evaluate, ensemble, --resume ---------------------------------------------------

RUN = ["--epochs", "1", "--batch-size", "32", "--verbose", "0", "--seed", "1"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    data = write_mnist_dir(root / "mnist")
    out = root / "run"
    assert main(["train", "lenet5", "--data-dir", str(data), "--out", str(out), *RUN]) == 0
    return data, out


def copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


@pytest.mark.parametrize("how", ["truncated", "empty", "crc", "random"])
def test_cli_evaluate_and_ensemble_say_which_file(tmp_path, trained_run, capsys, how):
    _, run = trained_run
    broken = copy_run(run, tmp_path / "broken")
    damage(broken / "final.npz", how)
    capsys.readouterr()
    assert main(["evaluate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cnnfast evaluate: error: ") and str(broken / "final.npz") in err, err
    assert "Traceback" not in err
    assert main(["ensemble", str(run), str(broken)]) == 1
    assert str(broken / "final.npz") in capsys.readouterr().err


def test_cli_evaluate_with_a_truncated_config(tmp_path, trained_run, capsys):
    _, run = trained_run
    broken = copy_run(run, tmp_path / "broken")
    text = (broken / "config.json").read_text()
    (broken / "config.json").write_text(text[: len(text) // 2])
    assert main(["evaluate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken / 'config.json'}: not a readable run config" in err, err
    (broken / "config.json").write_text('{"model": "lenet5", "colour": "blue"}')
    assert main(["evaluate", str(broken)]) == 1
    assert "colour" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["truncated", "crc", "random"])
def test_resume_from_a_damaged_checkpoint_says_so(tmp_path, trained_run, capsys, how):
    data, run = trained_run
    broken = copy_run(run, tmp_path / "broken")
    damage(broken / "checkpoint.npz", how)
    args = ["train", "lenet5", "--data-dir", str(data), "--out", str(broken), *RUN]
    assert main([*args, "--epochs", "2", "--resume"]) == 1
    err = capsys.readouterr().err
    assert f"cnnfast train: error: {broken / 'checkpoint.npz'}" in err, err


def test_resume_checks_the_whole_checkpoint_before_loading(tmp_path, trained_run, capsys):
    """A checkpoint whose optimizer part does not fit: nothing of it is loaded (the
    model would otherwise be left with the checkpoint's weights)."""
    _, run = trained_run
    broken = copy_run(run, tmp_path / "broken")
    state = files.load_npz(broken / "checkpoint.npz")
    slot = sorted(k for k in state if k.startswith("optim.state."))[-1]
    state[slot] = np.zeros((7, 7))
    files.save_npz(broken / "checkpoint.npz", state)
    model = cf.models.get("lenet5", seed=1)
    opt = cf.optim.Adam(model.parameters())
    before = model.state_dict()
    from cnnfast.training.run import read_checkpoint

    with pytest.raises(FileFormatError, match=rf"checkpoint.npz.*{slot[len('optim.') :]}"):
        read_checkpoint(broken / "checkpoint.npz", model, opt)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_resume_removes_temporaries_a_killed_run_left(tmp_path, trained_run, capsys):
    data, run = trained_run
    d = copy_run(run, tmp_path / "killed")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    left = [
        d / f".checkpoint.npz.{dead_pid}.abcd1234.tmp",
        d / f".best.npz.{dead_pid}.x_y_z_12.tmp",
    ]
    kept = [
        d / f".checkpoint.npz.{os.getpid()}.qwerty12.tmp",  # a live writer's (this process)
        d / f".notes.txt.{dead_pid}.abcd1234.tmp",  # not a file runs write
        d / "checkpoint.npz.tmp",  # not our pattern
    ]
    for p in left + kept:
        p.write_bytes(b"half a write")
    args = ["train", "lenet5", "--data-dir", str(data), "--out", str(d), *RUN]
    assert main([*args, "--epochs", "2", "--resume", "--verbose", "1"]) == 0
    assert "removed 2 temporary file(s)" in capsys.readouterr().out
    assert not any(p.exists() for p in left)
    assert all(p.exists() for p in kept)


def test_a_failed_write_says_so_and_keeps_the_previous_file(tmp_path, trained_run):
    """A file-size limit stands in for a full disk: the checkpoint of epoch 2 cannot
    be written; the run stops with an error naming it, and the checkpoint of epoch
    1 is still whole (and loads)."""
    data, run = trained_run
    d = copy_run(run, tmp_path / "full")
    before = (d / "checkpoint.npz").read_bytes()
    code = textwrap.dedent(
        f"""
        import resource, sys
        from cnnfast.cli import main
        limit = 300_000  # config.json fits, a checkpoint (~1 MB) does not
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        sys.exit(main(["train", "lenet5", "--data-dir", {str(data)!r}, "--out", {str(d)!r},
                       "--epochs", "2", "--batch-size", "32", "--verbose", "0", "--seed", "1",
                       "--resume"]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert f"could not write {d}" in out.stderr and "previous" in out.stderr, out.stderr
    assert "File too large" in out.stderr or "file-size limit" in out.stderr, out.stderr
    assert (d / "checkpoint.npz").read_bytes() == before
    assert int(files.load_npz(d / "checkpoint.npz")["epoch"]) == 0
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]


def test_save_npz_failure_removes_its_temporary(tmp_path, monkeypatch):
    path = good_npz(tmp_path / "w.npz")
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(
        OSError, match=r"could not write .*w.npz: No space left on device .*unchanged"
    ):
        files.save_npz(path, {"a": np.zeros(3)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


def test_zip_damage_helper_really_damages(tmp_path):
    """(The CRC case above must be a CRC failure, not a broken zip structure.)"""
    path = damage(good_npz(tmp_path / "w.npz"), "crc")
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is not None
