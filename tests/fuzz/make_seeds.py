"""Writes the starting inputs of tests/fuzz/corpus (run once; the files are kept):

    python tests/fuzz/make_seeds.py

ops and raw get byte strings that pick each op with small shapes; files gets a valid
file of each format behind its selector byte (so mutations start from the real
structure); keras_config gets a real saved model's config JSON.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import tempfile
from pathlib import Path

import numpy as np
from targets import CHECKPOINT_ENTRIES, _saved_model

HERE = Path(__file__).resolve().parent / "corpus"


def write(target: str, name: str, data: bytes) -> None:
    d = HERE / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def main() -> None:
    rng = np.random.default_rng(0)
    for i in range(8):  # op i, small shapes, then random arguments and values
        head = bytes([i % 2, i, 1, 2, 5, 5])
        write("ops", f"op{i}", head + rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
    for i in range(10):
        head = bytes([i % 2, 1, 2, 5, 5, i])
        write("raw", f"fn{i}", head + rng.integers(0, 256, 200, dtype=np.uint8).tobytes())

    buf = io.BytesIO()
    np.savez(buf, a=np.arange(6, dtype=np.float32), b=np.ones((2, 2)))
    write("files", "npz", b"\x00" + buf.getvalue())
    idx = struct.pack(">BBBB", 0, 0, 0x08, 2) + struct.pack(">2I", 3, 4) + bytes(range(12))
    write("files", "idx", b"\x01" + idx)
    write("files", "idx.gz", b"\x01" + gzip.compress(idx))
    split = [(np.zeros((n, 784), np.float32), np.zeros(n, np.int64)) for n in (2, 1, 1)]
    write("files", "pickle", b"\x02" + gzip.compress(pickle.dumps(tuple(split), protocol=2)))
    write("files", "json", b"\x03" + json.dumps({"model": "lenet5", "epochs": 3}).encode())
    for i, entry in enumerate(CHECKPOINT_ENTRIES):
        text = {"config": '{"model": "lenet5"}', "history": '{"epoch": [], "history": {}}'}
        write("files", f"checkpoint-{entry}", bytes([4, i]) + text.get(entry, "{}").encode())

    with tempfile.TemporaryDirectory() as d:
        config = str(_saved_model(d)["__keras_model_config__"])
    write("keras_config", "model", config.encode())
    write("keras_config", "empty", b"{}")


if __name__ == "__main__":
    main()
