"""sgemm against NumPy's BLAS (OpenBLAS in the PyPI wheel) and PyTorch, and as a
fraction of the measured FMA peak.

    cnnfast bench gemm [--sizes 512,1024,2048] [--reps 5] [--threads N] [--json out.json]

Each product is first checked against a float64 product with the error bound of
cnnfast.checks. NumPy's BLAS threads are left at their default (all cores; 2 here,
the same as cnnfast's) and are given time to stop spinning before the others run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import checks

from . import peak
from .timing import machine_line, settle, time_peers

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


def bench_size(n: int, reps: int, rng: np.random.Generator) -> dict[str, Any]:
    bad = [str(r) for r in checks.check_matmul(rng, np.float32, n, n, n) if not r.ok]
    if bad:
        raise SystemExit("cnnfast's sgemm disagrees with the reference:\n" + "\n".join(bad))
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ours: dict[str, Callable[[], Any]] = {"cnnfast": lambda: cf.ops.matmul(a, b)}
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        ours["torch"] = lambda: torch.mm(ta, tb)
    settle()
    times = time_peers(ours, reps)
    times["numpy"] = time_peers({"numpy": lambda: a @ b}, reps)["numpy"]
    settle()
    return {"n": n, "gflop": 2.0 * n**3 / 1e9, "median_s": times}


def print_table(rows: list[dict[str, Any]], peak_gflops: float) -> None:
    print(
        f"{'n':>6} {'cnnfast ms':>11} {'GFLOP/s':>8} {'of peak':>8} {'numpy ms':>9} "
        f"{'vs numpy':>9} {'torch ms':>9} {'vs torch':>9}"
    )
    for r in rows:
        t = r["median_s"]
        ours = t["cnnfast"]
        rate = r["gflop"] / ours
        torch_cols = (
            f"{t['torch'] * 1e3:9.2f} {t['torch'] / ours:8.2f}x"
            if "torch" in t
            else f"{'-':>9} {'-':>9}"
        )
        print(
            f"{r['n']:>6} {ours * 1e3:11.2f} {rate:8.1f} {rate / peak_gflops:7.0%} "
            f"{t['numpy'] * 1e3:9.2f} {t['numpy'] / ours:8.2f}x {torch_cols}"
        )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="cnnfast bench gemm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", default="512,1024,2048")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--json", default=None)
    p.add_argument("--quick", action="store_true", help="sizes 256,512 and 3 reps")
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    sizes = [256, 512] if args.quick else [int(s) for s in args.sizes.split(",")]
    reps = 3 if args.quick else args.reps
    print(machine_line())
    fma = peak.measure()
    print(f"FMA peak {fma['gflops']:.1f} GFLOP/s ({fma['isa']}, {fma['threads']} threads)")
    rng = np.random.default_rng(0)
    rows = [bench_size(n, reps, rng) for n in sizes]
    print_table(rows, fma["gflops"])
    result = {"machine": machine_line(), "peak": fma, "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result
