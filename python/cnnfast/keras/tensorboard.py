"""keras.callbacks.TensorBoard: the training curves as TensorBoard event files, written
with tensorboardX (the `tensorboard` extra), laid out as Keras writes them so that
`tensorboard --logdir LOG_DIR` shows them beside a Keras run's:

    LOG_DIR/train/events.out.tfevents.*        epoch_loss, epoch_accuracy, epoch_lr, ...
    LOG_DIR/validation/events.out.tfevents.*   epoch_loss, epoch_accuracy (val_ dropped)

with update_freq='batch' (or every N batches) also batch_loss, batch_accuracy in
train/, stepped by the batches seen; with histogram_freq=N each layer's weights as
histograms ('<layer>/<weight>') every N epochs. What a TensorFlow graph would hold
(write_graph, profile_batch, embeddings) is not written: cnnfast has no such graph.
Under mpiexec rank 0 alone writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import comm
from .callbacks import Callback


def _summary_writer() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "keras.callbacks.TensorBoard writes its event files with tensorboardX: "
            "pip install 'cnnfast[tensorboard]'"
        ) from err
    return SummaryWriter


class TensorBoard(Callback):
    def __init__(
        self,
        log_dir: str | Path = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: Any = 0,
        embeddings_freq: int = 0,
        **unused: Any,
    ) -> None:
        super().__init__()
        self._writer_class = _summary_writer()  # (a missing extra is said at once)
        if update_freq != "epoch" and update_freq != "batch":
            if isinstance(update_freq, bool) or not isinstance(update_freq, int):
                raise ValueError(
                    f"TensorBoard: update_freq must be 'epoch', 'batch' or a number of "
                    f"batches, got {update_freq!r}"
                )
            if update_freq < 1:
                raise ValueError(f"TensorBoard: update_freq must be >= 1, got {update_freq}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int):
            raise ValueError(f"TensorBoard: histogram_freq must be an int, got {histogram_freq!r}")
        self.log_dir = Path(log_dir)
        self.histogram_freq = histogram_freq
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers: dict[str, Any] = {}
        self._step = 0  # batches seen over the whole training (batch summaries' step)

    def _writer(self, kind: str) -> Any:
        if kind not in self._writers:
            self._writers[kind] = self._writer_class(str(self.log_dir / kind))
        return self._writers[kind]

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._step = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._step += 1
        if self.update_freq == "epoch" or self._step % self.update_freq or not comm.is_root():
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            if name != "batch":
                writer.add_scalar(f"batch_{name}", float(value), self._step)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not comm.is_root():
            return
        train = {k: v for k, v in (logs or {}).items() if not k.startswith("val_")}
        validation = {k[4:]: v for k, v in (logs or {}).items() if k.startswith("val_")}
        for kind, figures in (("train", train), ("validation", validation)):
            if figures:
                writer = self._writer(kind)
                for name, value in figures.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._histograms(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _histograms(self, epoch: int) -> None:
        writer = self._writer("train")
        state = self.model.engine.state_dict()
        for i, layer in enumerate(self.model.layers):
            if not sum(layer.params(self.model._in_shape(i))):
                continue  # (its prefix would be the next module's)
            prefix = self.model._module_prefix(i)
            for key, value in state.items():
                if key.startswith(prefix):
                    tag = f"{layer.name}/{key[len(prefix) :]}"
                    writer.add_histogram(tag, np.asarray(value, np.float64), epoch)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
