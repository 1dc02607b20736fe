"""How every suite times its peers: in turns, medians, with the BLAS threads settled."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def time_peers(peers: dict[str, Callable[[], Any]], reps: int, block: int = 3) -> dict[str, float]:
    """Median seconds per peer. Peers take turns, `reps` rounds of `block` timed calls
    each; every turn starts with one untimed call (caches and the thread pool warm up
    again after the other peer ran)."""
    samples: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(reps):
        for name, fn in peers.items():
            fn()
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(s) for name, s in samples.items()}


def settle() -> None:
    """Wait until OpenBLAS's worker threads, which a NumPy BLAS call woke, stop
    spinning (they busy-wait ~0.1 s after each call and would steal both cores from
    whatever is timed next)."""
    time.sleep(0.3)


def machine_line() -> str:
    import platform

    import numpy as np

    import cnnfast as cf

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    return (
        f"cnnfast {cf.__version__} ({cf.info()['isa']}), threads {cf.get_num_threads()}, "
        f"torch {torch_version}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
