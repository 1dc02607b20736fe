"""Making the ranks' replicas one: rank 0's parameters, buffers and optimizer state on
every rank, and a start-up check that the ranks are running the same thing.

Arrays go by MPI_Bcast into buffers of the announced shape and dtype (never pickled:
an optimizer's state can be hundreds of MB); only their names, shapes and dtypes
travel as Python objects.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import numpy as np

from . import comm


def broadcast_arrays(arrays: dict[str, np.ndarray], root: int = 0) -> dict[str, np.ndarray]:
    """Root's dict of arrays on every rank (the others' `arrays` are ignored)."""
    if comm.size() == 1:
        return arrays
    layout = comm.broadcast_object(
        [(k, np.asarray(v).shape, np.asarray(v).dtype.str) for k, v in arrays.items()]
        if comm.rank() == root
        else None,
        root,
    )
    out = {}
    for key, shape, dtype in layout:
        buf = (
            np.require(arrays[key], requirements="C")  # (ascontiguousarray makes 0-d 1-d)
            if comm.rank() == root
            else np.empty(shape, np.dtype(dtype))
        )
        out[key] = comm.broadcast(buf, root)
    return out


def broadcast_parameters(model: Any, root: int = 0) -> None:
    """Root's parameters and buffers (batch norm's running statistics) into `model` on
    every rank; the ranks must hold the same architecture (check_agreement says)."""
    if comm.size() > 1:
        # (the live arrays, not state_dict()'s copies: only root's are read, once)
        model.load_state_dict(broadcast_arrays(model._own_arrays(), root))


def broadcast_optimizer_state(optimizer: Any, root: int = 0) -> None:
    """Root's optimizer state (hyper-parameters, step count, slots) on every rank."""
    if comm.size() > 1:
        inner = getattr(optimizer, "optimizer", optimizer)  # a DistributedOptimizer's
        state = broadcast_arrays(inner.state_dict(), root)
        # (a rank whose slots are not created yet has fewer entries: start from none)
        for slots in inner.state:
            slots.clear()
        inner.load_state_dict(state)


def _architecture(model: Any) -> str:
    """A digest of the model's parameter and buffer names, shapes and dtypes."""
    parts = [f"{k}:{tuple(v.shape)}:{v.dtype.str}" for k, v in model._own_arrays().items()]
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def _sample_digest(x: np.ndarray) -> str:
    """A CRC of up to 64 evenly spaced samples of x: equal data sets agree, and one
    that differs (another file, another order, another preprocessing) rarely does."""
    if not len(x):
        return "empty"
    picks = np.unique(np.linspace(0, len(x) - 1, num=min(64, len(x))).astype(np.int64))
    return f"{zlib.crc32(np.ascontiguousarray(x[picks]).tobytes()):08x}"


def check_agreement(**facts: Any) -> None:
    """Raise DistributedError on every rank, naming each fact and the ranks that
    differ from rank 0, when the ranks were not started on the same thing. What fit()
    passes: cnnfast's version, the model's architecture, the data's size, shape and
    digest, the batch size and the epochs."""
    if comm.size() == 1:
        return
    everyone = comm.allgather_object(facts)
    differences = []
    for key, value in everyone[0].items():
        others = {r: f.get(key) for r, f in enumerate(everyone) if f.get(key) != value}
        if others:
            shown = ", ".join(f"rank {r}: {v!r}" for r, v in others.items())
            differences.append(f"{key} (rank 0: {value!r}; {shown})")
    if differences:
        raise comm.DistributedError(
            "the ranks were not started on the same run: " + "; ".join(differences)
        )


def training_facts(model: Any, x: np.ndarray, y: np.ndarray, **more: Any) -> dict[str, Any]:
    """What check_agreement compares for a training run."""
    from .. import __version__

    return {
        "cnnfast version": __version__,
        "model": f"{type(model).__name__} {_architecture(model)}",
        "training samples": len(x),
        "sample shape": tuple(x.shape[1:]),
        "data digest": _sample_digest(x) + "/" + _sample_digest(np.asarray(y)),
        **more,
    }
