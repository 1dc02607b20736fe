"""Fuzz targets: each takes the fuzzer's bytes and raises only for a finding.

A finding is anything a user must never see: a crash (ASan/UBSan abort the
process), a hang (libFuzzer's -timeout), an exception other than the documented
ones, or a wrong answer (results compared with cnnfast.reference where the case is
small). The targets decode bytes with `Bytes`, not atheris's FuzzedDataProvider, so
that the kept corpus replays identically in the ordinary test suite
(tests/test_fuzz_corpus.py) without atheris or an instrumented build.

    ops           cnnfast.ops on small arrays with any arguments, huge ones included
    raw           cnnfast._C's kernel functions called directly (no Python checks)
    files         the file loaders on arbitrary bytes (npz, IDX, gzip, pickles, JSON)
    keras_config  keras.models.load_model with a fuzzed model config
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import _C, ops, reference
from cnnfast.errors import FileFormatError

# What a bad argument may raise: the documented errors, each naming the argument.
ARGUMENT_ERRORS = (ValueError, TypeError, OverflowError, MemoryError)


class Bytes:
    """Reads typed values off the front of the fuzzer's bytes (zeros once they run out)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out.ljust(n, b"\0")

    def u8(self) -> int:
        return self.take(1)[0]

    def pick(self, options: list[Any]) -> Any:
        return options[self.u8() % len(options)]

    def small(self, hi: int = 6) -> int:
        return self.u8() % (hi + 1)

    def integer(self) -> int:
        """Mostly small, sometimes at the edges where size arithmetic overflows."""
        kind = self.u8() % 8
        if kind < 5:
            return self.small(4)
        if kind == 5:
            return -self.small(3)
        return self.pick([2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, 2**63, 2**64])

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out

    def array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        n = int(np.prod(shape)) if shape else 1
        raw = np.frombuffer(self.take(n), np.uint8).astype(np.float64)
        values = (raw - 128) / 16
        special = self.u8()
        if special % 7 == 0 and n:  # a non-finite value somewhere
            values[special % n] = [np.nan, np.inf, -np.inf][special % 3]
        return values.reshape(shape).astype(dtype)


def _param(b: Bytes) -> Any:
    """An int, a pair, a 4-tuple, a string, or something that is not an int at all."""
    kind = b.u8() % 10
    if kind < 5:
        return b.integer()
    if kind < 7:
        return (b.integer(), b.integer())
    if kind == 7:
        return tuple(b.integer() for _ in range(4))
    if kind == 8:
        return b.pick(["same", "valid", "full"])
    return b.pick([2.0, True, None, np.int64(2), [1, 1], (1,)])


def _shape4(b: Bytes) -> tuple[int, int, int, int]:
    return (b.small(3), b.small(3), b.small(7), b.small(7))


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape}, the reference {want.shape}")
    both = np.isfinite(want)
    if not np.array_equal(np.isnan(got), np.isnan(want)) or not np.array_equal(
        np.isinf(got), np.isinf(want)
    ):
        raise AssertionError(f"{what}: non-finite values differ from the reference")
    scale = max(1.0, float(np.abs(want[both]).max(initial=0.0)))
    if both.any() and float(np.abs(got[both] - want[both]).max()) > 1e-9 * scale:
        raise AssertionError(f"{what}: off from the reference by more than 1e-9 of its scale")


def _mask_worth_making(shape: Any) -> bool:
    """A dropout mask small enough to make quickly, or too large to be made at all:
    sizes in between fill gigabytes, which is not a fuzz case."""
    n = int(np.prod([max(d, 0) for d in shape], dtype=object)) if len(shape) else 1
    return n <= 2**20 or n > 2**59


def target_ops(data: bytes) -> None:
    b = Bytes(data)
    dtype = b.pick([np.float64, np.float32])
    op = b.pick(["conv2d", "conv2d_backward", "max_pool2d", "avg_pool2d", "argmax", "matmul",
                 "dropout_mask", "pool_backward", "affine_sample",
                 "binary_cross_entropy"])  # fmt: skip
    x = b.array(_shape4(b), dtype)
    try:
        if op in ("conv2d", "conv2d_backward"):
            w = b.array((b.small(3), b.small(3), 1 + b.small(3), 1 + b.small(3)), dtype)
            kw = dict(stride=_param(b), padding=_param(b), dilation=_param(b), groups=_param(b))
            y = ops.conv2d(x, w, **kw)
            if dtype == np.float64 and y.size <= 4096:
                _close(y, reference.conv2d(x, w, **kw), f"conv2d {x.shape} {w.shape} {kw}")
            if op == "conv2d_backward":
                dy = b.array(y.shape, dtype)
                got = ops.conv2d_backward(x, w, dy, **kw)
                if dtype == np.float64 and x.size + y.size <= 4096:
                    for g, r, n in zip(got, reference.conv2d_backward(x, w, dy, **kw), "xwb"):
                        _close(g, r, f"conv2d_backward d{n} {x.shape} {w.shape} {kw}")
        elif op in ("max_pool2d", "avg_pool2d", "pool_backward"):
            kw = dict(kernel_size=_param(b), stride=_param(b), padding=_param(b),
                      ceil_mode=b.pick([False, True]))  # fmt: skip
            fn = ops.max_pool2d if op != "avg_pool2d" else ops.avg_pool2d
            y = fn(x, **kw)
            if dtype == np.float64 and y.size <= 4096:
                ref = reference.max_pool2d if fn is ops.max_pool2d else reference.avg_pool2d
                _close(y, ref(x, **kw), f"{op} {x.shape} {kw}")
            if op == "pool_backward":
                dy = b.array(y.shape, dtype)
                got = ops.max_pool2d_backward(x, dy, **kw)
                if dtype == np.float64 and x.size <= 4096:
                    _close(got, reference.max_pool2d_backward(x, dy, **kw), f"pool bwd {kw}")
        elif op == "argmax":
            kw = dict(kernel_size=_param(b), stride=_param(b), padding=_param(b))
            y, code = ops.max_pool2d_argmax(x, **kw, relu=b.pick([False, True]))
            ops.max_pool2d_backward_argmax(code, b.array(y.shape, dtype), x.shape, **kw)
        elif op == "matmul":
            a = b.array((b.small(5), b.small(5)), dtype)
            c = b.array((b.small(5), b.small(5)), dtype)
            got = ops.matmul(a, c, trans_a=b.pick([False, True]), trans_b=b.pick([False, True]))
            del got
        elif op == "dropout_mask":
            shape = tuple(b.integer() for _ in range(b.small(3)))
            if _mask_worth_making(shape):
                ops.dropout_mask(shape, 0.5, b.u8())
        elif op == "affine_sample":
            maps = b.array((b.small(4), b.small(2), 3), np.float64) * b.pick([1, 1e3, 1e300])
            y = ops.affine_sample(x, maps)
            if maps.size and np.isfinite(maps).all() and y.size <= 4096:
                _close(y, reference.affine_sample(x, maps), f"affine_sample {x.shape}")
        elif op == "binary_cross_entropy":
            z = b.array((b.small(5), b.pick([1, 1, 2])), dtype) * b.pick([1, 100])
            t = b.pick([np.arange(len(z)) % 2, b.array((len(z),), dtype) / 8])
            loss = ops.binary_cross_entropy(z, t, "none")
            ops.binary_cross_entropy_backward(z, t, "none", np.ones(len(z)))
            if dtype == np.float64 and np.isfinite(z).all():
                _close(loss, reference.binary_cross_entropy(z, t, "none"), "bce")
    except ARGUMENT_ERRORS:
        pass


def target_raw(data: bytes) -> None:
    """_C takes what pybind11 can convert; its own checks must keep kernels in bounds."""
    b = Bytes(data)
    dtype = b.pick([np.float32, np.float64])
    x = b.array(_shape4(b), dtype)

    def pair() -> tuple[int, int]:
        return (b.integer(), b.integer())

    def quad() -> tuple[int, int, int, int]:
        return (b.integer(), b.integer(), b.integer(), b.integer())

    fn = b.pick(["conv", "conv_bi", "conv_bw", "max", "max_bwd", "avg", "argmax", "argmax_bwd",
                 "mask", "gap_bwd", "affine"])  # fmt: skip
    try:
        if fn.startswith("conv"):
            w = b.array((b.small(3), b.small(3), 1 + b.small(3), 1 + b.small(3)), dtype)
            args = (pair(), quad(), pair(), b.integer())
            if fn == "conv":
                _C.conv2d_forward(x, w, None, *args)
            elif fn == "conv_bi":
                dy = b.array(_shape4(b), dtype)
                _C.conv2d_backward_input(w, dy, list(x.shape), *args)
            else:
                dy = b.array(_shape4(b), dtype)
                _C.conv2d_backward_weight(x, dy, list(w.shape), *args)
        elif fn in ("max", "avg", "argmax"):
            args = (pair(), pair(), quad(), b.pick([False, True]))
            if fn == "max":
                _C.max_pool2d_forward(x, *args, b.pick([False, True]))
            elif fn == "avg":
                _C.avg_pool2d_forward(x, *args, b.pick([False, True]))
            else:
                _C.max_pool2d_forward_argmax(x, *args, b.pick([False, True]))
        elif fn == "max_bwd":
            _C.max_pool2d_backward(x, b.array(_shape4(b), dtype), pair(), pair(), quad(), False)
        elif fn == "argmax_bwd":
            code = np.frombuffer(b.take(int(np.prod(x.shape))), np.uint8).reshape(x.shape)
            shape = [b.small(3), b.small(3), b.small(9), b.small(9)]
            _C.max_pool2d_backward_argmax(code.copy(), x, shape, pair(), pair(), quad(), False)
        elif fn == "mask":
            shape = [b.integer() for _ in range(b.small(3))]
            if _mask_worth_making(shape):
                (_C.dropout_mask_float32 if dtype == np.float32 else _C.dropout_mask_float64)(
                    shape, 0.5, b.u8()
                )
        elif fn == "affine":
            maps = b.array((b.small(4), b.small(3), b.small(4)), np.float64) * b.pick([1, 1e300])
            _C.affine_sample(x, maps)
        else:
            _C.global_avg_pool2d_backward(x[:, :, :1, :1].copy(), [b.integer() for _ in range(4)])
    except ARGUMENT_ERRORS:
        pass
    except RuntimeError as err:  # pybind11's "incompatible function arguments" etc.
        if "incompatible" not in str(err) and "Unable to cast" not in str(err):
            raise


def _loaders(path: Path) -> dict[str, Callable[[], Any]]:
    from cnnfast.data import datasets, files
    from cnnfast.training import files as run_files

    return {
        "npz": lambda: run_files.load_npz(path),
        "idx": lambda: files.read_idx(path),
        "pickle": lambda: datasets.load_mnist_pickle(path),
        "json": lambda: run_files.load_json(path),
    }


# What loaders may raise on a damaged file: one FileFormatError naming it, and for a
# pickle that asks for code, pickle.UnpicklingError naming what it asked for.
FILE_ERRORS = (FileFormatError, pickle.UnpicklingError)
CHECKPOINT_ENTRIES = ["config", "history", "epoch", "cnnfast_random", "shuffle_rng"]


def _fuzzed_checkpoint(b: Bytes, path: Path) -> Callable[[], Any]:
    """A real checkpoint of a small net with one of its entries replaced by fuzzed text."""
    from cnnfast.training.history import History
    from cnnfast.training.run import RunConfig, _checkpoint, read_checkpoint

    model = cf.nn.Sequential(cf.nn.Conv2d(1, 2, 3), cf.nn.Flatten(), cf.nn.Linear(8, 3))
    opt = cf.optim.Adam(model.parameters())
    state = _checkpoint(model, opt, 0, History(), np.random.default_rng(0), RunConfig("lenet5"))
    state[b.pick(CHECKPOINT_ENTRIES)] = np.asarray(b.rest().decode("utf-8", errors="replace"))
    from cnnfast.training.files import save_npz

    save_npz(path, state)
    return lambda: read_checkpoint(path, model, opt)


def target_files(data: bytes) -> None:
    b = Bytes(data)
    which = b.pick(["npz", "idx", "pickle", "json", "checkpoint"])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzzed.{which}"
        if which == "checkpoint":
            load = _fuzzed_checkpoint(b, path)
        else:
            path.write_bytes(b.rest())
            load = _loaders(path)[which]
        try:
            load()
        except FILE_ERRORS as err:
            if isinstance(err, FileFormatError) and str(path) not in str(err):
                raise AssertionError(f"the error does not name the file: {err}") from err


def _saved_model(d: str) -> dict[str, np.ndarray]:
    from cnnfast.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from cnnfast.keras.models import Sequential
    from cnnfast.training.files import load_npz

    model = Sequential([Conv2D(2, 3, input_shape=(6, 6, 1)), MaxPooling2D(), Flatten(),
                        Dense(3, activation="softmax")])  # fmt: skip
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.save(os.path.join(d, "model.npz"))
    return load_npz(os.path.join(d, "model.npz"))


def target_keras_config(data: bytes) -> None:
    from cnnfast.keras.models import load_model
    from cnnfast.training.files import save_npz

    with tempfile.TemporaryDirectory() as d:
        arrays = _saved_model(d)
        # The fuzzed text replaces the saved model's config (the kept corpus starts from
        # real configs, so most inputs are JSON with mutated values); its weights stay.
        arrays["__keras_model_config__"] = np.asarray(data.decode("utf-8", errors="replace"))
        path = os.path.join(d, "fuzzed.npz")
        save_npz(path, arrays)
        try:
            load_model(path)
        except FileFormatError as err:
            if path not in str(err):
                raise AssertionError(f"the error does not name the file: {err}") from err


TARGETS: dict[str, Callable[[bytes], None]] = {
    "ops": target_ops,
    "raw": target_raw,
    "files": target_files,
    "keras_config": target_keras_config,
}

cf.set_num_threads(min(2, cf.get_num_threads()))
