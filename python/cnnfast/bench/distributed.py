"""Data-parallel training over MPI: what a step costs on 1, 2, ... ranks here, what the
allreduce costs, how much of it backward hides, and what that predicts for N machines.

    cnnfast bench distributed [--ranks 1,2,3,4] [--nets lenet5,...] [--rounds 2]

Needs the mpi extra. The suite launches `mpiexec -n N` of itself (--worker) once per
rank count per round, rounds interleaving the counts; more ranks than cores is marked
oversubscribed (ranks then share cores: a measure of the code path, not of scaling).
Each worker, on the global batch `--batch` split over its ranks:

- allreduce: the median time of MPI_Allreduce (sum, float32) per message size,
  latency (8 B) and bandwidth (algorithm bytes / time; bus bandwidth x 2(N-1)/N);
- per net, alternating: a step with DistributedOptimizer (Adam) and a step of a
  twin replica with plain Adam and no communication, on the same shard; the
  gradient's bytes reduced alone, bucket by bucket, blocking; and the time step()
  waited for the reductions on the rank that reached it last (the exposed
  communication: the other ranks' waits include waiting for that one). Hidden fraction =
  1 - wait / communication alone; overhead = reduced step - local step (packing,
  hooks, the wait: noisier, since the ranks share this machine's cores);
- on one rank, the compute of a step at batch 128, 32, 8, 2 (all cores; AlexNet and
  AlphaGo only at their small batch, taken as linear in the batch), and
  from the two-rank run the share of backward that comes after the first bucket is
  ready (the window in which communication can hide).

The model (`model_rows`): a step on N machines of this kind, one rank each,
  strong scaling (global batch B):  t(N) = c(B/N) + max(0, T(N) - w c(B/N))
  weak scaling (B per machine):     t(N) = c(B) + max(0, T(N) - w c(B))
with the ring allreduce T(N) = 2(N-1) a k + 2 (N-1)/N * bytes / bandwidth over a link
of the stated bandwidth and per-message latency a (k buckets), and efficiency
c(B) / (N t(N)) (strong) or c(B) / t(N) (weak).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import cnnfast as cf

from ..distributed.optimizer import DEFAULT_BUCKET_BYTES
from .timing import INFER_ONLY, LECTURE_NETS, cnnfast_step, machine_line, time_peers

NETS = [*LECTURE_NETS, *INFER_ONLY]
# nets too slow to train at batch 128 on two cores: timed at this global batch, their
# compute scaled linearly to 128 for the model (said in the table)
SMALL_BATCH = {"alexnet": 8, "alphago-policy": 32}
SIZES = [8 << (2 * k) for k in range(13)]  # 8 B .. 128 MiB, x4 each
LINKS = {"10 Gbit/s": (1.25e9, 20e-6), "100 Gbit/s": (12.5e9, 5e-6)}  # bytes/s, latency
NODES = (4, 16, 64)


# --- the worker (one rank of `mpiexec -n N`) --------------------------------------------


def _median_time(fn: Any, reps: int) -> float:
    """The median of `reps` timed calls after an untimed one (timing.time_peers)."""
    return time_peers({"fn": fn}, 1, block=reps)["fn"]


def _allreduce_sweep() -> list[dict[str, float]]:
    from cnnfast.distributed import comm

    world = comm.world()
    rows = []
    for nbytes in SIZES:
        buf = np.ones(max(nbytes // 4, 1), np.float32)
        reps = max(3, min(200, (64 << 20) // max(nbytes, 1)))

        def reduce(buf: np.ndarray = buf) -> None:
            world.comm.Allreduce(world.MPI.IN_PLACE, buf, world.MPI.SUM)

        world.comm.Barrier()
        t = _median_time(reduce, reps)
        t = comm.allreduce(np.asarray([t]), average=False)[0] / comm.size()  # ranks' mean
        n = comm.size()
        rows.append({"bytes": nbytes, "seconds": t, "bus_GBps": nbytes / t * 2 * (n - 1) / n / 1e9})
    return rows


def _net_rows(name: str, batch: int, steps: int, bucket_mb: float) -> dict[str, Any]:
    from cnnfast import distributed as dist

    spec = cf.models.spec(name)
    batch = min(batch, SMALL_BATCH.get(name, batch))
    lo, hi = dist.shard_bounds(batch)
    rng = np.random.default_rng(dist.rank())
    x = rng.random((hi - lo, *spec.input_shape), dtype=np.float32)
    y = rng.integers(0, spec.classes, hi - lo)
    row: dict[str, Any] = {"net": name, "batch": batch, "part": hi - lo}
    local = cf.models.get(name, seed=0)
    local_opt = cf.optim.Adam(local.parameters())
    row["params"] = sum(p.data.size for p in local.parameters())
    row["grad_bytes"] = sum(p.data.nbytes for p in local.parameters())
    if dist.size() == 1:
        # c(128 / parts); a SMALL_BATCH net only at its batch (the model scales it)
        for parts in (1,) if name in SMALL_BATCH else (1, 4, 16, 64):
            b = batch // parts
            row[f"compute_{parts}"] = _median_time(
                lambda b=b: cnnfast_step(local, local_opt, x[:b], y[:b]), steps
            )
        return row
    model = cf.models.get(name, seed=0)
    opt = dist.DistributedOptimizer(
        cf.optim.Adam(model.parameters()),
        model,
        bucket_bytes=int(bucket_mb * 2**20),
        record_events=True,
    )

    def reduced() -> None:
        opt.events.clear()
        cnnfast_step(model, opt, x, y)

    def alone() -> None:
        cnnfast_step(local, local_opt, x, y)

    def comm_only() -> None:
        world = dist.comm.world()
        for b in opt.buckets:
            buf = b.pack(1.0)
            world.comm.Allreduce(world.MPI.IN_PLACE, buf, world.MPI.SUM)

    samples: dict[str, list[float]] = {"reduced": [], "local": [], "comm": [], "wait": []}
    windows = []
    for fn in (reduced, alone, reduced, alone):
        fn()  # (warm-up: Adam's slots, caches, the first buckets)
    for _ in range(steps):
        for key, fn in (("reduced", reduced), ("local", alone), ("comm", comm_only)):
            dist.barrier()
            t0 = time.perf_counter()
            fn()
            dist.barrier()  # (each includes waiting for the slowest rank, as a step does)
            samples[key].append(time.perf_counter() - t0)
            if key == "reduced":
                # the last rank to arrive waits for the communication alone; the
                # others' waits also hold the time they waited for it
                world = dist.comm.world()
                samples["wait"].append(world.comm.allreduce(opt.wait_seconds, world.MPI.MIN))
                starts = [t for kind, i, t in opt.events if kind == "start" and i == 0]
                grads = [t for kind, _, t in opt.events if kind == "grad"]
                if starts and grads:
                    windows.append(max(0.0, max(grads) - starts[0]))
    for key, s in samples.items():
        row[key] = statistics.median(s)
    row["buckets"] = len(opt.buckets)
    row["window"] = statistics.median(windows) if windows else 0.0
    row["overhead"] = row["reduced"] - row["local"]
    row["hidden_fraction"] = min(1.0, max(0.0, 1 - row["wait"] / row["comm"]))
    opt.remove_hooks()
    return row


def worker(args: argparse.Namespace) -> None:
    from cnnfast import distributed as dist

    dist.init()
    result: dict[str, Any] = {"ranks": dist.size(), "threads": cf.get_num_threads()}
    if dist.size() > 1:
        result["allreduce"] = _allreduce_sweep()
    result["nets"] = [
        _net_rows(n, args.batch, args.steps, args.bucket_mb) for n in args.nets.split(",")
    ]
    if dist.is_root():
        Path(args.worker).write_text(json.dumps(result))


# --- the driver -------------------------------------------------------------------------


def _launch(n: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    cmd = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(n)]
    cmd += [sys.executable, "-m", "cnnfast.bench.distributed", "--worker", str(out)]
    cmd += ["--nets", args.nets, "--batch", str(args.batch), "--steps", str(args.steps)]
    cmd += ["--bucket-mb", str(args.bucket_mb)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of every number in the runs of one rank count."""
    merged = dict(runs[0])
    if "allreduce" in merged:
        merged["allreduce"] = [
            {**rows[0], "seconds": statistics.median(r["seconds"] for r in rows)}
            for rows in zip(*(run["allreduce"] for run in runs))
        ]
        for row in merged["allreduce"]:
            n = merged["ranks"]
            row["bus_GBps"] = row["bytes"] / row["seconds"] * 2 * (n - 1) / n / 1e9
    merged["nets"] = []
    for rows in zip(*(run["nets"] for run in runs)):
        row = dict(rows[0])
        for key, value in rows[0].items():
            if isinstance(value, float):
                row[key] = statistics.median(r[key] for r in rows)
        merged["nets"].append(row)
    return merged


def model_rows(one: dict[str, Any], two: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The predicted scaling of each net (see the module's docstring)."""
    windows = {r["net"]: r for r in (two or {"nets": []})["nets"]}
    rows = []
    for r in one["nets"]:
        if r["net"] in SMALL_BATCH:  # (linear in the batch: measured at r["batch"] only)
            c = {parts: r["compute_1"] * 128 / parts / r["batch"] for parts in (1, *NODES)}
        else:
            c = {parts: r[f"compute_{parts}"] for parts in (1, 4, 16, 64)}
        peer = windows.get(r["net"])
        w = min(1.0, peer["window"] / peer["local"]) if peer else 0.0
        k = peer["buckets"] if peer else 1
        row = {"net": r["net"], "params": r["params"], "c128": c[1], "window": w, "cells": {}}
        for link, (bandwidth, latency) in LINKS.items():
            for n in NODES:
                comm = 2 * (n - 1) * latency * k + 2 * (n - 1) / n * r["grad_bytes"] / bandwidth
                strong = c[n] + max(0.0, comm - w * c[n])
                weak = c[1] + max(0.0, comm - w * c[1])
                row["cells"][(link, n)] = {
                    "comm": comm,
                    "strong": c[1] / (n * strong),
                    "weak": c[1] / weak,
                }
        rows.append(row)
    return rows


def _print(results: dict[int, dict[str, Any]], cores: int) -> None:
    for n, run in results.items():
        if "allreduce" in run:
            tag = " (oversubscribed)" if n > cores else ""
            print(f"\nMPI_Allreduce on {n} ranks{tag}, float32 sum:")
            print(f"{'bytes':>10} {'median us':>10} {'bus GB/s':>9}")
            for row in run["allreduce"]:
                print(f"{row['bytes']:>10} {row['seconds'] * 1e6:10.1f} {row['bus_GBps']:9.2f}")
    one = results.get(1)
    print(f"\n{'net':<18} {'ranks':>5} {'batch':>5} {'img/s':>8} {'vs 1':>6} {'overhead ms':>11} "
          f"{'comm ms':>8} {'wait ms':>8} {'hidden':>6} {'buckets':>7}")  # fmt: skip
    for n, run in results.items():
        tag = "*" if n > cores else ""
        for i, row in enumerate(run["nets"]):
            if n == 1:
                ips, base = row["batch"] / row["compute_1"], None
                print(f"{row['net']:<18} {n:>5} {row['batch']:>5} {ips:8.0f}")
                continue
            ips = row["batch"] / row["reduced"]
            base = one["nets"][i]["batch"] / one["nets"][i]["compute_1"] if one else None
            shown = f"{ips / base:5.2f}x" if base else "     -"
            print(
                f"{row['net']:<18} {str(n) + tag:>5} {row['batch']:>5} {ips:8.0f} {shown} "
                f"{row['overhead'] * 1e3:11.2f} {row['comm'] * 1e3:8.2f} "
                f"{row['wait'] * 1e3:8.2f} {row['hidden_fraction']:6.2f} {row['buckets']:>7}"
            )
    if one:
        print("\nModel: one rank per machine of this kind, ring allreduce; efficiency")
        print("strong = global batch 128 split over N; weak = 128 per machine")
        head = " ".join(f"{link[:3]}G N={n:<2}" for link in LINKS for n in NODES)
        print(f"{'net':<18} {'params':>9} {'c(128) ms':>9} {'window':>6}  {head}")
        for row in model_rows(one, results.get(2)):
            cells = " ".join(
                f"{row['cells'][(link, n)]['strong']:4.2f}/{row['cells'][(link, n)]['weak']:4.2f}"
                for link in LINKS
                for n in NODES
            )
            print(
                f"{row['net']:<18} {row['params']:>9} {row['c128'] * 1e3:9.1f} "
                f"{row['window']:6.2f}  {cells}"
            )


def main(argv: Sequence[str] | None = None) -> dict[int, dict[str, Any]]:
    p = argparse.ArgumentParser(
        prog="cnnfast bench distributed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ranks", default="1,2")
    p.add_argument("--nets", default=",".join(NETS))
    p.add_argument("--batch", type=int, default=128, help="the global batch")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--bucket-mb", type=float, default=DEFAULT_BUCKET_BYTES / 2**20, help="bucket size, MiB"
    )
    p.add_argument("--json", default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return {}
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise SystemExit("cnnfast bench distributed needs pip install 'cnnfast[mpi]'") from None
    counts = [int(n) for n in args.ranks.split(",")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{machine_line()}; {cores} cores; ranks {counts} (* oversubscribed)")
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for n in counts:
                runs[n].append(_launch(n, args, Path(tmp) / f"{n}.json"))
    results = {n: _merge(r) for n, r in runs.items()}
    _print(results, cores or 1)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": machine_line(), "results": results}))
    return results


if __name__ == "__main__":
    main()
