"""fit / evaluate / predict: the Keras-style training loop over any nn.Module that
maps a batch (N, C, H, W) to logits."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import ops
from ..data.batches import batch_indices, train_val_split
from ..data.prefetch import prefetch
from ..distributed import comm
from ..distributed import training as parallel
from ..nn.functional import binary_cross_entropy, cross_entropy
from ..nn.module import Module
from ..optim import Optimizer
from ..random import numpy_rng
from ..tensor import Tensor, no_grad
from .callbacks import Callback
from .history import History

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _progress(total: int, desc: str, verbose: int) -> Any:
    """A tqdm bar when verbose == 1 and tqdm is installed (it honours TQDM_DISABLE and
    non-terminal output); otherwise None."""
    if verbose != 1:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total,
        desc=desc,
        unit="step",
        leave=False,
        dynamic_ncols=True,
        disable=None if os.environ.get("TQDM_DISABLE") is None else True,
    )


def _steps(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool,
    rng: np.random.Generator,
    steps: int,
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """`steps` batches from successive passes over (x, y), each pass in a fresh order:
    one pass when steps is ceil(len / batch_size); fewer or more otherwise (Keras's
    steps_per_epoch over a generator). Each comes with the size of its global batch:
    on several ranks a batch is this rank's part of it (distributed/training.py)."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    done = 0
    while done < steps and len(x):
        for idx in batch_indices(len(x), batch_size, shuffle, rng):
            lo, hi = comm.shard_bounds(len(idx))  # (all of it on one rank)
            part = idx[lo:hi]
            yield np.ascontiguousarray(x[part]), y[part], len(idx)
            done += 1
            if done == steps:
                return


def one_logit(logits: Any) -> bool:
    """Whether logits are (N, 1): a two-class net with one logit per sample, whose
    sigmoid is the probability of class 1 (else (N, C) logits under a softmax)."""
    return len(logits.shape) == 2 and logits.shape[1] == 1


def logits_loss(logits: Tensor, y: Tensor) -> Tensor:
    """A classifier's loss: the softmax cross-entropy of its logits (N, C); with one
    logit per sample (N, 1), a two-class net's sigmoid binary cross-entropy."""
    if one_logit(logits):
        return binary_cross_entropy(logits, y)
    return cross_entropy(logits, y)


def predicted_classes(logits: np.ndarray) -> np.ndarray:
    """The classes logits (N, C) vote for; with one logit, 1 where sigmoid(z) > 0.5 (as
    Keras's binary accuracy thresholds), i.e. z > 0."""
    logits = np.asarray(logits)
    if one_logit(logits):
        return (logits[:, 0] > 0).astype(np.int64)
    return logits.argmax(axis=1)


def train_epoch(
    model: Module,
    optimizer: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    shuffle: bool = True,
    augment: Augment | None = None,
    desc: str = "",
    verbose: int = 1,
    callbacks: Sequence[Callback] = (),
    state: dict[str, Any] | None = None,
    steps: int | None = None,
) -> dict[str, float]:
    """One pass over (x, y), or `steps` batches: forward, loss (logits_loss), backward,
    optimizer step per batch, on the model's device (each batch is copied there; the
    loss and predictions come back for the progress figures). Each callback's
    on_batch_end sees the running loss and accuracy after every step; one that sets
    state["stop_training"] ends the epoch there (on one rank; see _fit_epochs)."""
    model.train()
    device = model.device
    steps = steps if steps is not None else -(-len(x) // batch_size)
    bar = _progress(steps, desc, verbose)
    loss_sum, correct, seen = 0.0, 0, 0
    state = state if state is not None else {"model": model, "optimizer": optimizer}
    batches = _steps(x, y, batch_size, shuffle, rng, steps)
    augment_rng = rng
    if comm.size() > 1:
        augment_rng = parallel.epoch_generator(rng)
    if augment is not None:
        # augmenting batch k + 1 overlaps the step on batch k (data/prefetch.py)
        batches = prefetch((augment(xb, augment_rng), yb, n) for xb, yb, n in batches)
    for step, (xb, yb, n_global) in enumerate(batches):
        optimizer.zero_grad()
        if len(xb):  # (a rank's part of a small last global batch may be empty)
            logits = model(Tensor(ops.to_device(xb, device)))
            loss = logits_loss(logits, Tensor(ops.to_device(yb, device)))
            if comm.size() > 1:
                optimizer.set_weight(len(xb) / n_global)
            loss.backward()
            loss_sum += float(loss.item()) * len(xb)
            correct += int((predicted_classes(np.asarray(logits.data)) == yb).sum())
            seen += len(xb)
        optimizer.step()
        if callbacks:
            running = {"loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1)}
            for cb in callbacks:
                cb.on_batch_end(step, running, state)
            # A callback's stop (TerminateOnNaN) ends the epoch after this batch, as in
            # Keras. On several ranks each rank's batch figures are its own, so the
            # epoch runs to its end, where the ranks agree (see _fit_epochs).
            if state.get("stop_training") and comm.size() == 1:
                break
        if bar is not None:
            bar.update(1)
            bar.set_postfix(
                loss=f"{loss_sum / max(seen, 1):.4f}", accuracy=f"{correct / max(seen, 1):.4f}"
            )
    if bar is not None:
        bar.close()
    if comm.size() > 1:  # the epoch's figures over every rank's samples
        parallel.average_buffers(model)
        loss_sum, correct, seen = parallel.reduce_sums(loss_sum, correct, seen)
    return {"loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1)}


def predict_logits(model: Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The logits of every sample of x, in eval mode. On several ranks each predicts
    its contiguous part and the parts are gathered: every rank gets them all."""
    if comm.size() > 1:
        lo, hi = comm.shard_bounds(len(x))
        part = _predict_logits(model, x[lo:hi], batch_size)
        if lo == hi:  # fewer samples than ranks: an empty part, as wide as the others
            part = _predict_logits(model, x[:1], 1)[:0]
        return comm.allgather_rows(part)
    return _predict_logits(model, x, batch_size)


def _predict_logits(model: Module, x: np.ndarray, batch_size: int) -> np.ndarray:
    model.eval()
    device = model.device
    outs = []
    with no_grad():
        for start in range(0, len(x), batch_size):
            xb = np.ascontiguousarray(x[start : start + batch_size])
            logits = model(Tensor(ops.to_device(xb, device)))
            outs.append(np.asarray(logits.data))
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def predict(model: Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (softmax of the logits; with one logit, its sigmoid: the
    probability of class 1), in eval mode."""
    logits = predict_logits(model, x, batch_size)
    if one_logit(logits):
        return ops.sigmoid(logits)
    return ops.softmax(logits, axis=1)


def logits_metrics(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of logits against labels (one logit per sample:
    the binary cross-entropy, see logits_loss)."""
    if not len(y):
        return float("nan"), float("nan")
    loss = (
        ops.binary_cross_entropy(logits, y) if one_logit(logits) else ops.cross_entropy(logits, y)
    )
    return float(loss), float((predicted_classes(logits) == y).mean())


def evaluate(
    model: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 256
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval mode."""
    return logits_metrics(predict_logits(model, x, batch_size), y)


def fit(
    model: Module,
    optimizer: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 32,
    epochs: int = 1,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float = 0.0,
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    seed: int | None = None,
    verbose: int = 1,
    augment: Augment | None = None,
    initial_epoch: int = 0,
    history: History | None = None,
    rng: np.random.Generator | None = None,
    on_epoch_end: Callable[[int, History, np.random.Generator], None] | None = None,
    steps_per_epoch: int | None = None,
) -> History:
    """Train for `epochs` epochs (starting at `initial_epoch`, continuing `history` when
    resuming) and return the History. verbose: 0 silent, 1 progress bar + a line per
    epoch, 2 a line per epoch. `rng` (or `seed`; else one drawn from cnnfast's generator,
    so cf.manual_seed makes the run repeatable) drives shuffling and augmentation;
    `on_epoch_end` runs after the callbacks (the CLI writes its checkpoint there).
    An epoch is one pass over x, or `steps_per_epoch` batches (drawn from as many
    passes as that takes)."""
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if len(x) == 0:
        raise ValueError("fit: x has no samples")
    if validation_split and validation_data is None:
        (x, y), validation_data = train_val_split(x, y, validation_split)
    rng = rng if rng is not None else numpy_rng(seed)
    history = history if history is not None else History()
    wrapped = None
    if comm.ensure_initialized():  # several ranks: see distributed/training.py
        wrapped = parallel.prepare(
            model, optimizer, x, y, rng, **{"batch size": batch_size, "epochs": epochs}
        )
        if wrapped is optimizer:
            wrapped = None  # (the caller's own DistributedOptimizer: its hooks stay)
        else:
            optimizer = wrapped
        verbose = verbose if comm.is_root() else 0
    try:
        return _fit_epochs(
            model, optimizer, x, y, batch_size, epochs, validation_data, callbacks, shuffle,
            verbose, augment, initial_epoch, history, rng, on_epoch_end, steps_per_epoch,
        )  # fmt: skip
    finally:
        if wrapped is not None:
            wrapped.remove_hooks()


def _fit_epochs(
    model: Module,
    optimizer: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    epochs: int,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    callbacks: Sequence[Callback],
    shuffle: bool,
    verbose: int,
    augment: Augment | None,
    initial_epoch: int,
    history: History,
    rng: np.random.Generator,
    on_epoch_end: Callable[[int, History, np.random.Generator], None] | None,
    steps_per_epoch: int | None,
) -> History:
    state = {"model": model, "optimizer": optimizer}
    for cb in callbacks:
        cb.on_train_begin(state)
    for epoch in range(initial_epoch, epochs):
        start = time.perf_counter()
        for cb in callbacks:
            cb.on_epoch_begin(epoch, state)
        logs = train_epoch(
            model,
            optimizer,
            x,
            y,
            batch_size,
            rng,
            shuffle,
            augment,
            desc=f"Epoch {epoch + 1}/{epochs}",
            verbose=verbose,
            callbacks=callbacks,
            state=state,
            steps=steps_per_epoch,
        )
        if validation_data is not None:
            logs["val_loss"], logs["val_accuracy"] = evaluate(model, *validation_data)
        logs["lr"] = optimizer.lr
        logs["seconds"] = time.perf_counter() - start
        stop = False
        for cb in callbacks:
            stop = cb.on_epoch_end(epoch, logs, state) or stop
        stop = stop or bool(state.get("stop_training"))
        if comm.size() > 1:  # every rank stops if any asked to (a batch's NaN is local)
            stop = parallel.reduce_sums(float(stop))[0] > 0
        history.append(epoch, logs)
        if verbose:
            shown = " - ".join(
                f"{k}: {v:.4f}" for k, v in logs.items() if k not in ("lr", "seconds")
            )
            print(
                f"Epoch {epoch + 1}/{epochs} - {logs['seconds']:.1f}s - {shown}",
                file=sys.stdout,
                flush=True,
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch, history, rng)
        if stop:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return history
