"""History: per-epoch metrics, as Keras's fit() returns them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any


class History:
    """`.history` maps a metric name ('loss', 'accuracy', 'val_loss', 'val_accuracy',
    'lr', 'seconds') to one value per epoch; `.epoch` lists the epoch indices."""

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __len__(self) -> int:
        return len(self.epoch)

    def to_json(self) -> str:
        return json.dumps({"epoch": self.epoch, "history": self.history})

    @classmethod
    def from_json(cls, text: str) -> History:
        h = cls()
        data: dict[str, Any] = json.loads(text)
        h.epoch = [int(e) for e in data["epoch"]]
        h.history = {k: [float(v) for v in vs] for k, vs in data["history"].items()}
        return h

    def to_csv(self) -> str:
        keys = sorted(self.history)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["epoch", *keys])
        for i, e in enumerate(self.epoch):
            w.writerow([e + 1, *(f"{self.history[k][i]:.6g}" for k in keys)])
        return out.getvalue()
