"""The float32 FMA ceiling on this machine's kernel threads (an FMA loop with enough
independent chains to keep both FMA pipes busy, no memory traffic), so every GFLOP/s
figure can be read as a fraction of it.

    cnnfast bench peak [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import cnnfast as cf
from cnnfast import _C

from .timing import machine_line


def measure(seconds: float = 0.2, repeats: int = 5) -> dict[str, Any]:
    """{'gflops', 'seconds', 'threads', 'isa'}: the best of `repeats` runs."""
    return dict(_C.fma_peak(seconds, repeats))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="cnnfast bench peak", description=__doc__)
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    print(machine_line())
    peak = measure()
    print(
        f"FMA peak ({peak['isa']}, {peak['threads']} threads): {peak['gflops']:.1f} GFLOP/s "
        f"({peak['gflops'] / peak['threads']:.1f} per thread)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(peak, f, indent=1)
    return peak
