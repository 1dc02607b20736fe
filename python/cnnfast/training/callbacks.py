"""Callbacks run at the end of every epoch: early stopping, best-so-far checkpoints,
learning-rate reduction on a plateau (Keras's names and meanings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import comm
from ..optim import Optimizer
from ..optim import ReduceLROnPlateau as _Plateau
from .files import save_weights


class Callback:
    """on_epoch_end gets the epoch index, its logs, and the training state (model,
    optimizer); returning True stops training. on_epoch_begin and on_batch_end (after
    each optimizer step, with the epoch's running 'loss' and 'accuracy') serve
    progress displays."""

    def on_train_begin(self, state: dict[str, Any]) -> None:
        pass

    def on_epoch_begin(self, epoch: int, state: dict[str, Any]) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict[str, float], state: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        return False

    def on_train_end(self, state: dict[str, Any]) -> None:
        pass


def _mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def _better(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _monitored(logs: dict[str, float], monitor: str) -> float:
    if monitor not in logs:
        raise KeyError(f"callback monitors {monitor!r} but the epoch logs have {sorted(logs)}")
    return logs[monitor]


class EarlyStopping(Callback):
    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        value = _monitored(logs, self.monitor)
        if _better(value, self.best, self.mode, self.min_delta):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_state = state["model"].state_dict()
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            if self.best_state is not None:
                state["model"].load_state_dict(self.best_state)
            return True
        return False


class ModelCheckpoint(Callback):
    """Save the weights (.npz, atomically) after each epoch, or only when `monitor`
    improves with save_best_only (best-so-far)."""

    def __init__(
        self,
        path: str | Path,
        monitor: str = "val_loss",
        save_best_only: bool = True,
        mode: str = "auto",
    ) -> None:
        self.path = Path(path)
        self.monitor, self.save_best_only = monitor, save_best_only
        self.mode = _mode(monitor, mode)
        self.best: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        if not self.save_best_only:
            self._save(state["model"])
            return False
        value = _monitored(logs, self.monitor)
        if _better(value, self.best, self.mode):
            self.best = value
            self._save(state["model"])
        return False

    def _save(self, model: Any) -> None:
        # (on several ranks every replica is the same model: rank 0 alone writes it)
        if comm.is_root():
            save_weights(model, self.path)


class ReduceLROnPlateau(Callback):
    """Keras's callback over cnnfast.optim.ReduceLROnPlateau (monitoring an epoch metric)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        mode: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.monitor = monitor
        self.kwargs = dict(
            mode=_mode(monitor, mode),
            factor=factor,
            patience=patience,
            min_delta=min_delta,
            cooldown=cooldown,
            min_lr=min_lr,
            verbose=verbose,
        )
        self.scheduler: _Plateau | None = None

    def on_train_begin(self, state: dict[str, Any]) -> None:
        optimizer: Optimizer = state["optimizer"]
        if self.scheduler is None or self.scheduler.optimizer is not optimizer:
            self.scheduler = _Plateau(optimizer, **self.kwargs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        assert self.scheduler is not None
        self.scheduler.step(_monitored(logs, self.monitor))
        return False
