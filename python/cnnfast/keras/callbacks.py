"""keras.callbacks with Keras's signatures, over cnnfast.training's callbacks (the
same rules): ModelCheckpoint (filepath may hold '{epoch:02d}'-style fields; it writes
the whole model, or with save_weights_only the weights, as Sequential.save and
save_weights do: Keras's HDF5 for an '.hdf5' name), EarlyStopping, ReduceLROnPlateau.
They may monitor 'acc'/'val_acc' as well as 'accuracy'/'val_accuracy'.

`Callback` is Keras's base class for one's own callbacks (on_epoch_end(epoch, logs)
and the rest, `self.model`, `self.params`, `self.model.stop_training`), and
`LambdaCallback` builds one from functions; fit() runs them through `EngineAdapter`.
On that base, as Keras has them: History (what fit returns), CSVLogger,
LearningRateScheduler, TerminateOnNaN, and TensorBoard (tensorboard.py; the
`tensorboard` extra, tensorboardX).

The epoch logs are Keras's BaseLogger averages: each figure the mean over the
epoch's samples (a short last batch weighs what it holds), the validation figures
over the whole validation set.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import comm
from ..training import callbacks as engine
from ..training.files import atomic_write
from ..training.history import History as EngineHistory


class Callback:
    """Keras's callback base class: override any of the hooks below. fit() sets
    `self.model` (the keras model) and `self.params` ({'epochs', 'steps', 'verbose'});
    setting `self.model.stop_training = True` ends training after the epoch. Epoch
    logs hold 'loss', the metric, the validation figures and 'lr'; batch logs the
    epoch's running 'loss' and metric."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        pass

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)  # Keras 2.3's name; the old one stays the hook


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_end(epoch, logs), on_batch_end(batch, logs),
    on_epoch_begin(epoch, logs), on_train_begin(logs), on_train_end(logs)."""

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_batch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        noop = lambda *args, **kwargs: None  # noqa: E731
        self.on_epoch_begin = on_epoch_begin or noop  # type: ignore[method-assign]
        self.on_epoch_end = on_epoch_end or noop  # type: ignore[method-assign]
        self.on_batch_end = on_batch_end or noop  # type: ignore[method-assign]
        self.on_train_begin = on_train_begin or noop  # type: ignore[method-assign]
        self.on_train_end = on_train_end or noop  # type: ignore[method-assign]


class EngineAdapter(engine.Callback):
    """Runs a Keras-signature Callback inside cnnfast's loop. The logs are shown under
    the model's metric name ('acc' or 'accuracy'), without the loop's 'seconds'."""

    def __init__(self, callback: Callback, model: Any, params: dict[str, Any], names: Any) -> None:
        self.callback, self.model, self.names = callback, model, names
        callback.set_model(model)
        callback.set_params(params)

    def on_train_begin(self, state: dict[str, Any]) -> None:
        self.callback.on_train_begin({})  # (fit clears model.stop_training before)

    def on_epoch_begin(self, epoch: int, state: dict[str, Any]) -> None:
        self.callback.on_epoch_begin(epoch, {})

    def on_batch_end(self, batch: int, logs: dict[str, float], state: dict[str, Any]) -> None:
        self.callback.on_train_batch_end(batch, {"batch": batch, **self.names(logs)})
        if self.model.stop_training:  # (as Keras: the epoch ends after this batch)
            state["stop_training"] = True

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        shown = self.names(logs)
        self.callback.on_epoch_end(epoch, shown)
        logs.update({k: v for k, v in shown.items() if k not in logs})  # keys it added
        return bool(self.model.stop_training)

    def on_train_end(self, state: dict[str, Any]) -> None:
        self.callback.on_train_end({})


class History(EngineHistory, Callback):
    """What fit() returns, as Keras's History: `history` (each figure's list, one per
    epoch), `epoch` (the epoch indices of the last fit), `params` and `model`. Passed
    in `callbacks` it is filled the same way; its lists run on across fits while
    `epoch` starts again, as Keras's do."""

    def __init__(self) -> None:
        EngineHistory.__init__(self)
        Callback.__init__(self)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.append(epoch, logs or {})
        if self.model is not None:
            self.model.history = self


class CSVLogger(Callback):
    """One row per epoch, 'epoch' then the logs' figures in sorted order (as Keras's
    CSVLogger writes them). append=True continues an existing file (without a second
    header). The file is rewritten whole, atomically, after every epoch: a crash leaves
    the rows of the epochs that ended. Under mpiexec rank 0 alone writes."""

    def __init__(self, filename: str | Path, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = Path(filename), str(separator), bool(append)
        self.keys: list[str] | None = None
        self._text, self._header = "", True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        existing = ""
        if self.append and self.filename.exists():
            existing = self.filename.read_text()
            if existing and not existing.endswith("\n"):
                existing += "\n"
        self._text, self.keys, self._header = existing, None, not existing

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(k for k in logs if k != "batch")
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.sep, lineterminator="\n")
        if self._header:
            writer.writerow(["epoch", *self.keys])
            self._header = False
        writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
        self._text += out.getvalue()
        if comm.is_root():
            text = self._text
            atomic_write(self.filename, lambda f: f.write(text.encode()))


class LearningRateScheduler(Callback):
    """At each epoch's start sets the optimizer's rate to schedule(epoch, lr) (or
    schedule(epoch), for a one-argument schedule), as Keras's does; verbose > 0 prints
    Keras's line. The rate is in the epoch's logs as 'lr'."""

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, int(verbose)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.lr))
        except TypeError:  # (Keras's fallback: a schedule of the epoch alone)
            lr = self.schedule(epoch)
        if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (int, float, np.floating)):
            raise ValueError(
                f"LearningRateScheduler: the schedule must return a float, got {lr!r} "
                f"for epoch {epoch}"
            )
        if not math.isfinite(float(lr)) or float(lr) < 0:
            raise ValueError(f"LearningRateScheduler: a rate of {lr!r} for epoch {epoch}")
        optimizer.lr = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to {lr}.")


class TerminateOnNaN(Callback):
    """Stops training after the first batch whose loss is NaN or infinite, as Keras's
    does (under mpiexec, at the end of that epoch: the ranks stop together)."""

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if _invalid_loss(logs):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if _invalid_loss(logs) and not self.model.stop_training:  # (the ranks' mean)
            print(f"Epoch {epoch + 1}: Invalid loss, terminating training")
            self.model.stop_training = True


def _invalid_loss(logs: dict[str, Any] | None) -> bool:
    loss = (logs or {}).get("loss")
    return loss is not None and not math.isfinite(float(loss))


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
        self.save_weights_only = bool(save_weights_only)
        self.keras_model: Any = None  # fit() sets it: the file is then the keras model's

    def _save(self, model: Any) -> None:
        """As Keras: the whole model (model.save) or, with save_weights_only, its
        weights, in the format the name asks for (an '.hdf5' name: Keras's HDF5)."""
        if self.keras_model is None:  # (run by cnnfast.training.fit directly)
            super()._save(model)
        elif self.save_weights_only:
            self.keras_model.save_weights(self.path)
        else:
            self.keras_model.save(self.path)

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
        super().__init__(monitor, factor, patience, min_delta, cooldown, min_lr, mode)
        self.verbose = int(verbose)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        before = state["optimizer"].lr
        super().on_epoch_end(epoch, logs, state)
        if self.verbose and state["optimizer"].lr != before:
            lr = state["optimizer"].lr
            print(f"\nEpoch {epoch + 1:05d}: ReduceLROnPlateau reducing learning rate to {lr:g}.")
        return False


from .tensorboard import TensorBoard  # noqa: E402  (it builds on Callback above)

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "EngineAdapter",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
