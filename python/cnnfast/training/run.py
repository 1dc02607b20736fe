"""A training run on disk: what `cnnfast train / evaluate / ensemble` do.

A run directory holds config.json, checkpoint.npz (written after every epoch: model,
optimizer, history and random states, so --resume continues exactly), final.npz and
best.npz weights, history.json/.csv, metrics.json, classification_report.txt/.json
and the PNG plots. Every file is written atomically.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import data as datasets
from .. import models, optim
from .. import random as cf_random
from ..data.image_splits import is_split_folder
from ..distributed import comm
from ..errors import DataError, reading
from .callbacks import ModelCheckpoint
from .files import (
    load_json,
    load_npz,
    load_weights,
    remove_stale_temporaries,
    save_json,
    save_npz,
    save_text,
    save_weights,
)
from .history import History
from .loop import fit, logits_metrics, predict_logits
from .reports import classification_report, confusion_matrix


@dataclass
class RunConfig:
    model: str
    dataset: str = ""
    epochs: int = 12
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float | None = None
    seed: int = 0
    val_split: float = 0.0
    limit_train: int = 0
    limit_test: int = 0
    data_dir: str | None = None
    download: bool = False
    augment: bool = False
    device: str = "cpu"
    weight_decay: float = 0.0
    shift: float = 0.1  # the largest random shift, a fraction of the side (with augment)
    flip: bool = False  # random left-right flips (with augment; always for CIFAR-10)
    image_size: list[int] | None = None  # resize a --data-dir image folder's images
    classes: int = 0  # the net's outputs when not its own (a folder's class count)


def config_for(model: str, **given: Any) -> RunConfig:
    """A RunConfig for `model`: what is given (None: not given), else the net's recipe
    (models.Recipe: how its lecture trained it), else RunConfig's defaults."""
    recipe = models.spec(model).recipe
    fields = {k: v for k, v in given.items() if v is not None}
    for name in (
        "optimizer",
        "lr",
        "batch_size",
        "epochs",
        "weight_decay",
        "augment",
        "shift",
        "flip",
    ):
        fields.setdefault(name, getattr(recipe, name))
    return RunConfig(model=model, **fields)


def _folder_dataset(cfg: RunConfig) -> bool:
    """Whether the run reads a --data-dir of train/ and test/ image folders (no --dataset)."""
    return not cfg.dataset and cfg.data_dir is not None and is_split_folder(cfg.data_dir)


def dataset_name(cfg: RunConfig) -> str:
    """What the run trains on: the --data-dir image folder, or a data set's name."""
    if _folder_dataset(cfg):
        return str(cfg.data_dir)
    return cfg.dataset or models.spec(cfg.model).dataset


def load_dataset(
    cfg: RunConfig,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    spec = models.spec(cfg.model)
    if _folder_dataset(cfg):
        channels = spec.input_shape[0]
        if channels not in (1, 3):
            raise DataError(f"{cfg.model} takes {channels}-channel inputs, not images")
        size = tuple(cfg.image_size) if cfg.image_size else None
        (x, y), (xt, yt), names = datasets.load_image_split(
            cfg.data_dir,  # type: ignore[arg-type]
            size,  # type: ignore[arg-type]
            "rgb" if channels == 3 else "grayscale",
        )
        if x.shape[1:] != spec.input_shape:
            raise DataError(
                f"{cfg.model} takes inputs {spec.input_shape} but the images in "
                f"{cfg.data_dir} are {x.shape[1:]}; pass --image-size "
                f"{spec.input_shape[1]} {spec.input_shape[2]} to resize them"
            )
        name = str(cfg.data_dir)
    else:
        name = cfg.dataset or spec.dataset
        if not name:
            raise DataError(f"{cfg.model} has no data set of its own here; pass --dataset")
        if cfg.image_size:
            raise DataError("--image-size resizes a --data-dir image folder; not for a data set")
        (x, y), (xt, yt) = datasets.load(name, cfg.data_dir, cfg.download)
        names = datasets.DATASETS[name][1]
        if x.shape[1:] != spec.input_shape:
            raise DataError(
                f"{cfg.model} takes inputs {spec.input_shape} but {name} images are {x.shape[1:]}"
            )
    if cfg.limit_train:
        x, y = x[: cfg.limit_train], y[: cfg.limit_train]
    if cfg.limit_test:
        xt, yt = xt[: cfg.limit_test], yt[: cfg.limit_test]
    return (x, y), (xt, yt), list(names)


def _checkpoint(
    model: Any,
    opt: optim.Optimizer,
    epoch: int,
    history: History,
    rng: np.random.Generator,
    cfg: RunConfig,
) -> dict[str, np.ndarray]:
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update({f"optim.{k}": v for k, v in opt.state_dict().items()})
    state["epoch"] = np.asarray(epoch)
    state["history"] = np.asarray(history.to_json())
    state["cnnfast_random"] = np.asarray(json.dumps(cf_random.get_state()))
    state["shuffle_rng"] = np.asarray(json.dumps(rng.bit_generator.state))
    state["config"] = np.asarray(json.dumps(asdict(cfg)))
    return state


def _split(state: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


# Every file a run writes (remove_stale_temporaries looks for their temporaries).
RUN_FILES = (
    "config.json",
    "checkpoint.npz",
    "best.npz",
    "final.npz",
    "history.json",
    "history.csv",
    "metrics.json",
    "classification_report.txt",
    "classification_report.json",
    "confusion_matrix.json",
)


@dataclass
class Checkpoint:
    config: dict[str, Any]
    model: dict[str, np.ndarray]
    optim: dict[str, np.ndarray]
    history: History
    epoch: int
    cnnfast_random: dict[str, Any]
    shuffle_rng: dict[str, Any]


def read_checkpoint(path: Path, model: Any, opt: optim.Optimizer) -> Checkpoint:
    """checkpoint.npz, every part of it checked against `model` and `opt` (and the
    random states against generators of their kind) before anything is loaded: a
    damaged or foreign checkpoint is a FileFormatError naming it, and the model, the
    optimizer and the random states are left as they were."""
    state = load_npz(path)
    with reading(path, "cnnfast checkpoint"):
        ckpt = Checkpoint(
            config=json.loads(str(state["config"])),
            model=_split(state, "model."),
            optim=_split(state, "optim."),
            history=History.from_json(str(state["history"])),
            epoch=int(state["epoch"]),
            cnnfast_random=json.loads(str(state["cnnfast_random"])),
            shuffle_rng=json.loads(str(state["shuffle_rng"])),
        )
        model.check_state_dict(ckpt.model)
        opt.check_state_dict(ckpt.optim)
        np.random.default_rng().bit_generator.state = ckpt.shuffle_rng
        np.random.default_rng().bit_generator.state = ckpt.cnnfast_random
        if not isinstance(ckpt.config.get("model"), str):
            raise ValueError("its config names no model")
    return ckpt


def train(cfg: RunConfig, out: Path, resume: bool = False, verbose: int = 1) -> dict[str, Any]:
    """Train cfg.model into `out` and return metrics.json's content. Under mpiexec
    every rank trains its shard (cnnfast.distributed) and rank 0 alone reads the
    checkpoint, prints and writes: the others get its state at the start of fit."""
    distributed = comm.ensure_initialized()
    root = comm.is_root()
    verbose = verbose if root else 0
    if root:
        out.mkdir(parents=True, exist_ok=True)
        stale = remove_stale_temporaries(out, RUN_FILES)
        if stale and verbose:
            print(f"removed {len(stale)} temporary file(s) an interrupted run left in {out}")
    (x, y), (xt, yt), names = load_dataset(cfg)
    if len(names) != models.spec(cfg.model).classes:
        cfg.classes = len(names)
    model = models.get(cfg.model, seed=cfg.seed, classes=cfg.classes or None).to(cfg.device)
    opt = optim.get(
        cfg.optimizer, model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay or None
    )
    rng = np.random.default_rng(cfg.seed)
    history, start_epoch = History(), 0
    ckpt_path = out / "checkpoint.npz"
    resumed = None
    if root and resume and ckpt_path.exists():
        ckpt = read_checkpoint(ckpt_path, model, opt)
        if ckpt.config["model"] != cfg.model:
            raise ValueError(f"{ckpt_path} is a run of {ckpt.config['model']}, not {cfg.model}")
        # Everything was checked: now it is loaded, all of it.
        model.load_state_dict(ckpt.model)
        opt.load_state_dict(ckpt.optim)
        history, start_epoch = ckpt.history, ckpt.epoch + 1
        cf_random.set_state(ckpt.cnnfast_random)
        rng.bit_generator.state = ckpt.shuffle_rng
        resumed = (history.to_json(), start_epoch)
        if verbose:
            print(f"resuming {cfg.model} from {ckpt_path} after epoch {start_epoch}")
    if distributed:
        # (the model, the optimizer and rng come from rank 0 when fit starts)
        resumed = comm.broadcast_object(resumed)
        if resumed is not None:
            history, start_epoch = History.from_json(resumed[0]), resumed[1]
    if root:
        save_json(out / "config.json", asdict(cfg))
    if cfg.val_split:
        (x, y), validation = datasets.train_val_split(
            x, y, cfg.val_split, np.random.default_rng(cfg.seed + 1)
        )
    else:
        validation = (xt, yt)  # as the lectures do: validate on the test set
    augment = None
    if cfg.augment:
        flip = cfg.flip or dataset_name(cfg) == "cifar10"
        augment = lambda xb, r: datasets.random_shift_flip(xb, r, cfg.shift, cfg.shift, flip)  # noqa: E731

    def checkpoint(epoch: int, hist: History, r: np.random.Generator) -> None:
        if root:
            save_npz(ckpt_path, _checkpoint(model, opt, epoch, hist, r, cfg))

    best = ModelCheckpoint(out / "best.npz", monitor="val_accuracy", save_best_only=True)
    if history.history.get("val_accuracy"):
        best.best = max(history.history["val_accuracy"])
    t0 = time.perf_counter()
    history = fit(
        model,
        opt,
        x,
        y,
        cfg.batch_size,
        cfg.epochs,
        validation_data=validation,
        callbacks=[best],
        verbose=verbose,
        augment=augment,
        initial_epoch=start_epoch,
        history=history,
        rng=rng,
        on_epoch_end=checkpoint,
    )
    train_seconds = sum(history.history.get("seconds", []))
    metrics = report(model, xt, yt, names, out, history)
    metrics.update(
        epochs=len(history),
        train_seconds=train_seconds,
        wall_seconds_this_session=time.perf_counter() - t0,
        images_per_second=len(x) * len(history) / train_seconds if train_seconds else None,
        model=cfg.model,
        dataset=dataset_name(cfg),
        ranks=comm.size(),
    )
    if root:
        save_weights(model, out / "final.npz")
        save_json(out / "history.json", json.loads(history.to_json()))
        save_text(out / "history.csv", history.to_csv())
        save_json(out / "metrics.json", metrics)
    return metrics


def report(
    model: Any,
    xt: np.ndarray,
    yt: np.ndarray,
    names: list[str],
    out: Path,
    history: History | None = None,
) -> dict[str, Any]:
    """Test metrics, confusion matrix, classification report and plots for `model`."""
    logits = predict_logits(model, xt)  # (on every rank: it gathers the ranks' parts)
    test_loss, test_acc = logits_metrics(logits, yt)
    metrics: dict[str, Any] = {"test_accuracy": test_acc, "test_loss": test_loss, "plots": []}
    if not comm.is_root():
        return metrics  # rank 0 alone writes the reports and plots
    pred = logits.argmax(axis=1)
    cm = confusion_matrix(yt, pred, len(names))
    text, rep = classification_report(cm, names)
    save_text(out / "classification_report.txt", text)
    save_json(out / "classification_report.json", rep)
    save_json(out / "confusion_matrix.json", cm.tolist())
    plots: list[str] = []
    try:
        from .reports import plot_confusion, plot_history, plot_misclassified

        if history is not None and len(history):
            plots += [str(p) for p in plot_history(history, out)]
        plots.append(str(plot_confusion(cm, names, out / "confusion_matrix.png")))
        plots.append(str(plot_misclassified(xt, yt, pred, names, out / "misclassified.png")))
    except ImportError:
        plots = []  # matplotlib is in the `train` extra; the numbers are written regardless
    metrics["plots"] = plots
    return metrics


def load_run(run_dir: Path, weights: str = "final") -> tuple[Any, RunConfig]:
    config_path = run_dir / "config.json"
    config = load_json(config_path, "run config (config.json)")
    with reading(config_path, "run config (config.json)"):
        cfg = RunConfig(**config)
    model = models.get(cfg.model, seed=None, classes=cfg.classes or None)
    load_weights(model, run_dir / f"{weights}.npz")
    return model, cfg


def export_onnx(
    run_dir: Path, weights: str = "final", out: str | Path | None = None, batch: int | None = None
) -> tuple[Path, tuple[int, ...]]:
    """The run's model as an ONNX file (RUN/<weights>.onnx by default), and the shape of
    one input sample."""
    from .. import onnx

    model, cfg = load_run(run_dir, weights)
    shape = models.spec(cfg.model).input_shape
    path = Path(out) if out is not None else run_dir / f"{weights}.onnx"
    return onnx.export(model, path, shape, batch), shape


def ensemble(run_dirs: list[Path], weights: str = "final") -> dict[str, Any]:
    """Average the predicted probabilities of several runs on their common test set."""
    from .. import ops

    results: dict[str, Any] = {"runs": {}}
    probs_sum = None
    yt = None
    for d in run_dirs:
        model, cfg = load_run(d, weights)
        _, (xt, yt_run), _ = load_dataset(cfg)
        if yt is not None and not np.array_equal(yt, yt_run):
            raise ValueError(f"{d} was tested on a different test set")
        yt = yt_run
        probs = ops.softmax(predict_logits(model, xt), axis=1)
        results["runs"][str(d)] = float((probs.argmax(axis=1) == yt).mean())
        probs_sum = probs if probs_sum is None else probs_sum + probs
    assert probs_sum is not None and yt is not None
    results["ensemble"] = float((probs_sum.argmax(axis=1) == yt).mean())
    return results
