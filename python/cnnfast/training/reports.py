"""What the lectures show after training: accuracy/loss curves, a confusion matrix,
misclassified examples labelled true:predicted, a per-class precision/recall/F1 report.
Plots need matplotlib (the `train` extra) and use its Agg backend (no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .history import History


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j]: samples of class i predicted as j."""
    cm = np.zeros((classes, classes), np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def classification_report(cm: np.ndarray, names: list[str]) -> tuple[str, dict[str, Any]]:
    """Per-class precision, recall, F1 and support, plus accuracy and macro averages."""
    tp = np.diag(cm).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    support = cm.sum(axis=1)
    total = int(cm.sum())
    report: dict[str, Any] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support)
    }
    report["accuracy"] = float(tp.sum() / total) if total else float("nan")
    report["macro avg"] = {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "support": total,
    }
    width = max(12, *(len(n) for n in names))
    lines = [f"{'':>{width}} {'precision':>10} {'recall':>10} {'f1-score':>10} {'support':>10}", ""]
    for name, p, r, f, s in zip(names, precision, recall, f1, support):
        lines.append(f"{name:>{width}} {p:10.4f} {r:10.4f} {f:10.4f} {s:10d}")
    lines += [
        "",
        f"{'accuracy':>{width}} {'':>10} {'':>10} {report['accuracy']:10.4f} {total:10d}",
        f"{'macro avg':>{width}} {precision.mean():10.4f} {recall.mean():10.4f} "
        f"{f1.mean():10.4f} {total:10d}",
    ]
    return "\n".join(lines) + "\n", report


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    tmp.replace(path)  # atomic, like every result file
    return path


def plot_history(history: History, out_dir: Path) -> list[Path]:
    """accuracy.png and loss.png: training and validation curves per epoch."""
    plt = _pyplot()
    paths = []
    epochs = [e + 1 for e in history.epoch]
    for metric in ("accuracy", "loss"):
        fig, ax = plt.subplots(figsize=(6, 4))
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if key in history.history:
                ax.plot(epochs, history.history[key], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"model {metric}")
        ax.legend()
        ax.grid(alpha=0.3)
        paths.append(_save(fig, out_dir / f"{metric}.png"))
        plt.close(fig)
    return paths


def plot_confusion(cm: np.ndarray, names: list[str], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cm[i, j] > threshold else "black",
            )
    ax.set_title("confusion matrix (test)")
    out = _save(fig, path)
    plt.close(fig)
    return out


def plot_misclassified(
    x: np.ndarray, y: np.ndarray, pred: np.ndarray, names: list[str], path: Path, count: int = 25
) -> Path:
    """A grid of the first misclassified test images, titled true:predicted."""
    plt = _pyplot()
    wrong = np.flatnonzero(pred != y)[:count]
    cols = 5
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.2 * rows))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, i in zip(np.atleast_1d(axes).ravel(), wrong):
        img = x[i]
        ax.imshow(
            img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0),
            cmap="gray" if img.shape[0] == 1 else None,
        )
        ax.set_title(f"{names[y[i]]}:{names[pred[i]]}", fontsize=9)
    fig.suptitle("misclassified (true:predicted)")
    out = _save(fig, path)
    plt.close(fig)
    return out
