"""What fit() does differently on more than one rank (training/loop.py calls these).

- Start: the ranks check that they agree (check_agreement), then take rank 0's
  parameters, buffers, optimizer state and shuffling generator, and the optimizer
  becomes a DistributedOptimizer.
- Data: every rank draws the same permutation each epoch (the shared generator) and
  cuts the same global batches of batch_size; rank r trains on its part of each
  (shard_bounds: batch_size // size samples, the first batch_size % size ranks one
  more). The last global batch may be smaller, and is split the same way; a rank
  whose part is empty still joins the reduction, with zeros. Each rank's gradient is
  weighted by its share of the global batch, so a step is the one a single process
  takes on the whole global batch, up to the order of the sums.
- Randomness of one rank's own: augmentation and dropout masks come from
  generators seeded each epoch from the shared generator and the rank, so ranks
  draw different masks and shifts, and a resumed run draws what it drew before.
- Batch norm: each rank normalises with its shard's statistics (no synchronised
  batch norm); the running statistics are averaged over the ranks after each epoch,
  before validation and the checkpoint, so every replica evaluates the same model.
- Metrics: the epoch's training loss and accuracy are summed over the ranks;
  validation and test predictions are made on shards and gathered, so every rank
  computes the same numbers as one process would.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from .. import random as cf_random
from . import comm, replicas
from .optimizer import distributed


def prepare(
    model: Any, optimizer: Any, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, **facts: Any
) -> Any:
    """The start of a distributed fit: check, synchronise, wrap the optimizer."""
    replicas.check_agreement(**replicas.training_facts(model, x, y, **facts))
    replicas.broadcast_parameters(model)
    replicas.broadcast_optimizer_state(optimizer)
    rng.bit_generator.state = comm.broadcast_object(rng.bit_generator.state)
    return distributed(optimizer, model)


def epoch_generator(rng: np.random.Generator) -> np.random.Generator:
    """This rank's generator for the epoch's augmentation; reseeds cnnfast's own
    generator (dropout masks) for this rank too. Both follow from the shared
    generator's state, which they leave as it is: the epoch's permutation is the one
    a single process would draw, and a resumed run (whose checkpoint holds that state)
    draws the same masks and shifts again."""
    state = json.dumps(rng.bit_generator.state, sort_keys=True).encode()
    seed = int.from_bytes(hashlib.sha256(state).digest()[:8], "little")
    dropout_seed = np.random.SeedSequence([seed, comm.rank(), 1]).generate_state(2, np.uint64)
    cf_random.manual_seed(int(dropout_seed[0]) << 64 | int(dropout_seed[1]))
    return np.random.default_rng([seed, comm.rank(), 0])


def average_buffers(model: Any) -> None:
    """Batch norm's running statistics (every floating buffer) averaged over ranks."""
    for _, buf in model.named_buffers():
        if buf.dtype.kind == "f":
            buf[...] = comm.allreduce(buf, average=True)


def reduce_sums(*values: float) -> list[float]:
    """Each value summed over the ranks (one small allreduce)."""
    return [float(v) for v in comm.allreduce(np.asarray(values, np.float64), average=False)]
