"""A CIFAR-10 (JPEG) training epoch with its input pipeline: decoding the image folder,
augmenting every batch (lecture 004's shifts of up to 10% and left-right flips), and
the training steps of lecture 004's CNN (udacity-cifar10, batch 32, Adam), cnnfast
against PyTorch with torchvision's ImageFolder + transforms on the same images and
net, same thread count, in one process.

    cnnfast bench images [--data-dir DIR] [--images 50000] [--threads 2] [--workers 0,2]

Rows, each timed over the same `images` (the first of the train folder's files in
their sorted order, a fixed random sample when fewer than all):
  folder decode   cnnfast.data.load_image_pixels without its cache (decoding, in
                  worker processes), then with it (the second load of a run)
  epoch           data + steps, images/s, and the share of the epoch spent waiting
                  for a batch (decode/augment time not hidden behind compute):
                  cnnfast: ImageDataGenerator(width_shift_range=0.1,
                  height_shift_range=0.1, horizontal_flip=True) over the decoded
                  pixels, as fit does it (one batch ahead in a thread; and without
                  that, to show what it hides); torch: ImageFolder(transform=Compose(
                  [RandomAffine(0, translate=(0.1, 0.1)), RandomHorizontalFlip(),
                  ToTensor()])) in a DataLoader with each --workers count (0: in the
                  training process; >0: worker processes, overlapping the steps but
                  sharing the cores)
  steps only      the same steps on batches already in memory: the epoch's floor
The peers alternate, `rounds` times; medians. Without torchvision the torch rows are
left out (torchvision's PyPI wheels link CUDA's torch; see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import cnnfast as cf

from .nets import to_torch, torch_step
from .timing import cnnfast_step, machine_line

try:
    import torch
    import torchvision
except (ImportError, RuntimeError):  # (RuntimeError: a torchvision built for another torch)
    torch = torchvision = None

NET = "udacity-cifar10"


def cifar_train_folder(data_dir: str | None) -> Path:
    from cnnfast.data.image_splits import dataset_dirs, find_cifar10_jpeg

    for d in [Path(data_dir)] if data_dir else dataset_dirs():
        found = find_cifar10_jpeg(d)
        if found is not None:
            return found / "train"
    raise SystemExit(
        "cnnfast bench images: no CIFAR-10 (JPEG) folders; pass --data-dir or set "
        "CNNFAST_DATASETS (e.g. ../shared/datasets)"
    )


def epoch_timing(batches: Iterator[tuple[Any, Any]], step: Callable[[Any, Any], None]) -> dict:
    """Run one epoch: time waiting for each batch and each step."""
    wait = compute = 0.0
    images = 0
    t = time.perf_counter()
    for xb, yb in batches:
        t1 = time.perf_counter()
        wait += t1 - t
        step(xb, yb)
        t = time.perf_counter()
        compute += t - t1
        images += len(yb)
    total = wait + compute
    return {"images_per_s": images / total, "waiting": wait / total, "seconds": total}


def cnnfast_epoch(
    x_nhwc: np.ndarray, y: np.ndarray, batch: int, seed: int, ahead: bool
) -> Iterator:
    """What cnnfast.keras's fit does with a flow: a shuffled order, each batch augmented
    (keras.preprocessing.image) and moved to the engine's layout, one batch ahead in a
    background thread (cnnfast.data.prefetch, as the training loop does) or not."""
    from cnnfast.data.prefetch import prefetch
    from cnnfast.keras.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
    rng = np.random.default_rng(seed)

    def batches() -> Iterator:
        order = rng.permutation(len(x_nhwc))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            xb = gen.augment(x_nhwc[idx], rng)
            yield np.ascontiguousarray(xb.transpose(0, 3, 1, 2)) / np.float32(255), y[idx]

    return prefetch(batches()) if ahead else batches()


def torch_loader(root: Path, files: list[str], batch: int, workers: int, seed: int) -> Any:
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    t = transforms.Compose(
        [
            transforms.RandomAffine(0, translate=(0.1, 0.1)),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
        ]
    )
    chosen = {str(root / f) for f in files}
    data = ImageFolder(str(root), transform=t, is_valid_file=lambda p: p in chosen)
    return torch.utils.data.DataLoader(
        data,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        generator=torch.Generator().manual_seed(seed),
        persistent_workers=workers > 0,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="cnnfast bench images", description=__doc__)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--images", type=int, default=50000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--workers", default="0,2", help="torch DataLoader worker counts")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(machine_line())
    from cnnfast.data.images import decode_all, load_image_pixels, scan_image_folder

    root = cifar_train_folder(args.data_dir)
    found = scan_image_folder(root)
    if args.images < len(found.files):
        keep = np.sort(np.random.default_rng(0).permutation(len(found.files))[: args.images])
        found = type(found)(
            found.root, [found.files[i] for i in keep], found.labels[keep], found.classes, 0
        )
    n = len(found.files)
    rows: dict[str, Any] = {}
    t0 = time.perf_counter()
    pixels = decode_all(found, None, "rgb", "bilinear", args.threads)
    cold = time.perf_counter() - t0
    rows["folder decode (cnnfast, no cache)"] = {"seconds": cold, "images_per_s": n / cold}
    if n == len(scan_image_folder(root).files):
        load_image_pixels(root)  # (fills the cache, if it was not)
        t0 = time.perf_counter()
        load_image_pixels(root)
        warm = time.perf_counter() - t0
        rows["folder load (cnnfast, cached)"] = {"seconds": warm, "images_per_s": n / warm}
    y = found.labels
    model = cf.models.get(NET, seed=0)
    opt = cf.optim.Adam(model.parameters())

    def step(xb: Any, yb: Any) -> None:
        cnnfast_step(model, opt, xb, yb)

    peers: dict[str, Callable[[int], dict]] = {
        "epoch cnnfast": lambda r: epoch_timing(
            cnnfast_epoch(pixels, y, args.batch, r, True), step
        ),
        "epoch cnnfast (no prefetch)": lambda r: epoch_timing(
            cnnfast_epoch(pixels, y, args.batch, r, False), step
        ),
    }
    fixed = np.ascontiguousarray(pixels[: args.batch * 50].transpose(0, 3, 1, 2)) / np.float32(255)
    fixed_y = y[: len(fixed)]

    def in_memory(step_fn: Callable[[Any, Any], None], to: Callable[[Any], Any]) -> dict:
        chunks = [
            (to(fixed[i : i + args.batch]), to(fixed_y[i : i + args.batch]))
            for i in range(0, len(fixed), args.batch)
        ]
        return epoch_timing(iter(chunks), step_fn)

    peers["steps only cnnfast"] = lambda r: in_memory(step, lambda a: a)
    if torch is not None:
        tmodel = to_torch(model, (3, 32, 32))
        topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)

        def tstep(xb: Any, yb: Any) -> None:
            torch_step(tmodel, topt, xb, yb)

        for w in (int(v) for v in args.workers.split(",")):
            loader = torch_loader(root, found.files, args.batch, w, 0)
            peers[f"epoch torch (workers={w})"] = lambda r, ld=loader: epoch_timing(iter(ld), tstep)
        peers["steps only torch"] = lambda r: in_memory(tstep, torch.from_numpy)
    results: dict[str, list[dict]] = {k: [] for k in peers}
    for r in range(args.rounds):
        for name, run in peers.items():
            results[name].append(run(r))
    for name, runs in results.items():
        rows[name] = {
            "images_per_s": statistics.median(x["images_per_s"] for x in runs),
            "waiting": statistics.median(x["waiting"] for x in runs),
        }
    print(f"{n} CIFAR-10 (JPEG) images from {root}, {NET}, batch {args.batch}")
    print(f"{'row':38s} {'images/s':>10s} {'waiting':>8s} {'seconds':>8s}")
    for name, row in rows.items():
        waiting = f"{row['waiting']:.1%}" if "waiting" in row else "-"
        seconds = f"{row['seconds']:.1f}" if "seconds" in row else "-"
        print(f"{name:38s} {row['images_per_s']:10.0f} {waiting:>8s} {seconds:>8s}")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": machine_line(), "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
