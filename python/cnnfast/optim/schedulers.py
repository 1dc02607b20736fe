"""Learning-rate schedules."""

from __future__ import annotations

from .optimizers import Optimizer


class ReduceLROnPlateau:
    """Multiply the learning rate by `factor` when a monitored value has not improved by
    more than `min_delta` for `patience` epochs (Keras's callback of the same name)."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: bool = False,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.optimizer, self.mode, self.factor = optimizer, mode, factor
        self.patience, self.min_delta, self.cooldown, self.min_lr = (
            patience,
            min_delta,
            cooldown,
            min_lr,
        )
        self.verbose = verbose
        self.best: float | None = None
        self.wait = 0
        self.cooldown_left = 0

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float) -> bool:
        """Feed one epoch's value; returns True when the learning rate was reduced."""
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        if self.wait < self.patience or self.cooldown_left > 0:
            return False
        new_lr = max(self.optimizer.lr * self.factor, self.min_lr)
        reduced = new_lr < self.optimizer.lr
        if reduced and self.verbose:
            print(f"ReduceLROnPlateau: learning rate {self.optimizer.lr:.3g} -> {new_lr:.3g}")
        self.optimizer.lr = new_lr
        self.cooldown_left, self.wait = self.cooldown, 0
        return reduced
