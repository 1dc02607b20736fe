"""The cost of one call on a tiny tensor, x (1, 1, 8, 8): what a small model or a
Python loop pays per op when the arithmetic is nothing. conv2d (3x3), max_pool2d
(2x2) and relu against PyTorch's eager calls, same thread count.

    cnnfast bench tiny [--threads 2] [--calls 20000] [--json out.json]

Method: results checked against the reference first; then each peer runs 1,000
untimed calls and `calls` individually timed ones, in turns, three rounds; the table
shows the median of the last round (microseconds).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import cnnfast as cf

from .timing import machine_line, report_vs_torch

try:
    import torch
except ImportError:  # the suite still times cnnfast alone
    torch = None


def median_call_us(fn: Callable[[], Any], calls: int) -> float:
    for _ in range(1000):
        fn()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1e3


def peers() -> dict[str, dict[str, Callable[[], Any]]]:
    rng = np.random.default_rng(0)
    x = rng.random((1, 1, 8, 8), dtype=np.float32)
    w = rng.random((1, 1, 3, 3), dtype=np.float32)
    for name, ours, ref in (
        ("conv2d", cf.ops.conv2d(x, w), cf.reference.conv2d(x, w)),
        ("max_pool2d", cf.ops.max_pool2d(x, 2), cf.reference.max_pool2d(x, 2)),
        ("relu", cf.ops.relu(x), cf.reference.relu(x)),
    ):
        if not np.allclose(ours, ref, rtol=1e-5, atol=1e-6):
            raise SystemExit(f"cnnfast bench tiny: {name} disagrees with the reference")
    out: dict[str, dict[str, Callable[[], Any]]] = {
        "conv2d 3x3": {"cnnfast": lambda: cf.ops.conv2d(x, w)},
        "max_pool2d 2x2": {"cnnfast": lambda: cf.ops.max_pool2d(x, 2)},
        "relu": {"cnnfast": lambda: cf.ops.relu(x)},
    }
    if torch is not None:
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        out["conv2d 3x3"]["torch"] = lambda: torch.nn.functional.conv2d(tx, tw)
        out["max_pool2d 2x2"]["torch"] = lambda: torch.nn.functional.max_pool2d(tx, 2)
        out["relu"]["torch"] = lambda: torch.relu(tx)
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(prog="cnnfast bench tiny", description=__doc__)
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--calls", type=int, default=20000)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(machine_line())
    results: dict[str, dict[str, float]] = {}
    ops = peers()
    for _ in range(3):  # the last round counts: caches, allocators and branch predictors warm
        results = {
            op: {name: median_call_us(fn, args.calls) for name, fn in fns.items()}
            for op, fns in ops.items()
        }
    report_vs_torch(results, "us", 16, args.json)
    return results
