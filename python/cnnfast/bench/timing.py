"""How every suite times its peers: in turns, medians, with the BLAS threads settled."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

# The zoo nets the step suites time (nets, accelerate, distributed): the lectures' nets,
# trained; and the two too slow to train at batch 128 here, inferred at these batches.
TRAIN_NETS = [
    "lenet5",
    "keras-mnist-1conv",
    "keras-mnist-2conv",
    "tf-deep-cnn",
    "horzyk-mnist",
    "udacity-cifar10",
    "horzyk-cifar10",
    "resnet-blocks",  # (batch norm and residual blocks: the zoo's building-block demo)
]
LECTURE_NETS = [n for n in TRAIN_NETS if n != "resnet-blocks"]
INFER_ONLY = {"alexnet": 8, "alphago-policy": 16}


def time_peers(
    peers: dict[str, Callable[[], Any]], reps: int, block: int = 3, pause: float = 0.0
) -> dict[str, float]:
    """Median seconds per peer. Peers take turns, `reps` rounds of `block` timed calls
    each; every turn starts with one untimed call (caches and the thread pool warm up
    again after the other peer ran) and ends with `pause` seconds of sleep (for a peer
    whose threads spin on after its calls, as ONNX Runtime's do)."""
    samples: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(reps):
        for name, fn in peers.items():
            fn()
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
            if pause:
                time.sleep(pause)
    return {name: statistics.median(s) for name, s in samples.items()}


def settle() -> None:
    """Wait until OpenBLAS's worker threads, which a NumPy BLAS call woke, stop
    spinning (they busy-wait ~0.1 s after each call and would steal both cores from
    whatever is timed next)."""
    time.sleep(0.3)


def cpu_vector_isa() -> str:
    """The widest x86 vector extension the CPU has, as NumPy's dispatcher found it
    ('avx512f', 'avx2', 'sse4_2'; '' when NumPy does not say). On an AVX-512 CPU the
    peers' kernels (OpenBLAS, ONNX Runtime, oneDNN) issue FMAs twice as wide as
    cnnfast's AVX2 ones and its measured peak, so every comparison names it: one such
    machine gave OpenBLAS 2x cnnfast's GEMM on the same shapes."""
    try:  # NumPy 2 (numpy._core) or 1 (numpy.core): not public, hence the guard
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return ""
    return next((n.lower() for n in ("AVX512F", "AVX2", "SSE4_2") if features.get(n)), "")


def machine_line() -> str:
    import platform

    import numpy as np

    import cnnfast as cf

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    cpu = cpu_vector_isa()
    return (
        f"cnnfast {cf.__version__} ({cf.info()['isa']}), threads {cf.get_num_threads()}, "
        f"torch {torch_version}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}{f' with {cpu}' if cpu else ''}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}"
    )


def report_vs_torch(
    results: dict[str, dict[str, float]], unit: str, width: int, json_path: str | None
) -> None:
    """The table of cnnfast's and PyTorch's times per op, with the ratio, and the
    results as JSON (with the machine line) when json_path is given."""
    import json

    print(f"{'op':{width}s} {'cnnfast ' + unit:>10s} {'torch ' + unit:>9s} {'vs torch':>8s}")
    digits = 3 if unit == "ms" else 2
    for op, r in results.items():
        t = r.get("torch")
        ratio = f"{t / r['cnnfast']:.2f}x" if t else "-"
        shown = t if t else float("nan")
        print(f"{op:{width}s} {r['cnnfast']:10.{digits}f} {shown:9.{digits}f} {ratio:>8s}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"meta": machine_line(), "rows": results}, f, indent=1)


def cnnfast_step(model: Any, opt: Any, x: Any, y: Any) -> None:
    """One cnnfast training step as the suites time it: forward, cross-entropy,
    backward, optimizer step."""
    import cnnfast as cf

    model.train()
    opt.zero_grad()
    loss = cf.nn.functional.cross_entropy(model(cf.tensor(x)), y)
    loss.backward()
    opt.step()


def add_step_arguments(p: Any, nets: list[str]) -> None:
    """The options of the suites that time steps of the zoo's nets (nets, accelerate)."""
    import cnnfast as cf

    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--nets", default=",".join(nets))
