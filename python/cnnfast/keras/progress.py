"""fit()'s display, as Keras prints it: 'Epoch 3/12', a progress bar redrawn while
the epoch runs (where the output can redraw a line) and the finished line with the
epoch's time and metrics."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

from ..training.callbacks import Callback


def _eta(seconds: float) -> str:
    """Keras's remaining-time field: '1:02:03', '2:03' or '45s'."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s}s"


def _per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    return f"{1e3 * seconds:.0f}ms/step" if seconds >= 1e-3 else f"{1e6 * seconds:.0f}us/step"


class KerasProgress(Callback):
    """Keras's display: 'Epoch 3/12', then with verbose=1 a bar that moves while the
    epoch runs (on a terminal or in a notebook; elsewhere only the finished line is
    written, so logs stay readable), ending as
    '469/469 [==============================] - 15s 32ms/step - loss: ... - acc: ...';
    with verbose=2 the finished line without the bar."""

    def __init__(
        self, epochs: int, steps: int, verbose: int, names: Callable[[dict], dict]
    ) -> None:
        self.epochs, self.steps, self.verbose, self.names = epochs, steps, verbose, names
        # A terminal or a Jupyter kernel (the lectures' notebooks) redraws the line on
        # '\r'; anything else (a file, a pipe, CI) gets the finished lines only.
        self.live = verbose == 1 and (sys.stdout.isatty() or "ipykernel" in sys.modules)
        self.start = self.shown = 0.0
        self.width = 0  # of the last in-place line, to blank its tail

    def on_epoch_begin(self, epoch: int, state: dict[str, Any]) -> None:
        print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self.start, self.shown = time.perf_counter(), -math.inf  # the first step is drawn

    def _bar(self, done: int) -> str:
        filled = 30 * done // self.steps
        arrow = ">" if done < self.steps else "="
        bar = ("=" * (filled - 1) + arrow if filled else "") + "." * (30 - filled)
        return f"{done:{len(str(self.steps))}d}/{self.steps} [{bar}]"

    def _metrics(self, logs: dict[str, float]) -> str:
        return " - ".join(f"{k}: {v:.4f}" for k, v in self.names(logs).items() if k != "lr")

    def _write(self, line: str, end: str = "") -> None:
        pad = " " * max(self.width - len(line), 0)
        self.width = len(line)
        sys.stdout.write(f"\r{line}{pad}{end}")
        sys.stdout.flush()

    def on_batch_end(self, batch: int, logs: dict[str, float], state: dict[str, Any]) -> None:
        now = time.perf_counter()
        done = batch + 1
        if not self.live or (now - self.shown < 0.05 and done < self.steps):
            return
        self.shown = now
        eta = (now - self.start) / done * (self.steps - done)
        self._write(f"{self._bar(done)} - ETA: {_eta(eta)} - {self._metrics(logs)}")

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        seconds = logs["seconds"]  # the loop's own timing of the epoch
        if self.verbose == 1:
            step = _per_step(seconds / max(self.steps, 1))
            line = f"{self._bar(self.steps)} - {seconds:.0f}s {step} - {self._metrics(logs)}"
        else:
            line = f"{self.steps}/{self.steps} - {seconds:.0f}s - {self._metrics(logs)}"
        if self.live:
            self._write(line, end="\n")
            self.width = 0
        else:
            print(line, flush=True)
        return False


__all__ = ["KerasProgress"]
