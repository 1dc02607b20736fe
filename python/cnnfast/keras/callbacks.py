"""keras.callbacks with Keras's signatures, over cnnfast.training's callbacks (the
same rules): ModelCheckpoint (filepath may hold '{epoch:02d}'-style fields; the
weights are cnnfast's npz format under the name given, which Sequential.load_weights
reads), EarlyStopping, ReduceLROnPlateau. They may monitor 'acc'/'val_acc' as well as
'accuracy'/'val_accuracy'."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..training import callbacks as engine
from ..training.callbacks import Callback


class ModelCheckpoint(engine.ModelCheckpoint):
    def __init__(
        self,
        filepath: str | Path,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        period: int = 1,
    ) -> None:
        super().__init__(filepath, monitor=monitor, save_best_only=save_best_only, mode=mode)
        self.template, self.verbose, self.period = str(filepath), int(verbose), max(int(period), 1)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        if (epoch + 1) % self.period:
            return False
        self.path = Path(self.template.format(epoch=epoch + 1, **logs))
        before = self.best
        super().on_epoch_end(epoch, logs, state)
        if self.verbose:
            tag = f"\nEpoch {epoch + 1:05d}:"
            if not self.save_best_only:
                print(f"{tag} saving model to {self.path}")
            elif self.best != before:
                old = math.inf if before is None else before
                change = f"improved from {old:.5f} to {self.best:.5f}"
                print(f"{tag} {self.monitor} {change}, saving model to {self.path}")
            else:
                print(f"{tag} {self.monitor} did not improve from {before:.5f}")
        return False


class EarlyStopping(engine.EarlyStopping):
    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
    ) -> None:
        if baseline is not None:
            raise ValueError("EarlyStopping: baseline is not supported by cnnfast.keras")
        super().__init__(monitor, patience, min_delta, mode, restore_best_weights)
        self.verbose = int(verbose)


class ReduceLROnPlateau(engine.ReduceLROnPlateau):
    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(
            monitor, factor, patience, min_delta, cooldown, min_lr, mode, bool(verbose)
        )


__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"]
