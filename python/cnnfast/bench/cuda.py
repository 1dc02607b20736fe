"""The CUDA backend on a GPU against PyTorch's cuBLAS and cuDNN calls: sgemm and the
three convolution passes on zoo layer shapes (float32).

    cnnfast bench cuda [--reps 20] [--json out.json]

Needs a GPU: without one it says so and times nothing (the host emulator that runs the
same kernels elsewhere is a correctness tool, not a performance target). Results are
checked against PyTorch (or the NumPy reference without PyTorch) before timing; each
peer then runs `reps` timed calls in turns, synchronising the device around each,
three rounds; the table shows the median of the last round (milliseconds).
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

# (name, x shape, w shape, padding): layers of the zoo's nets at batch 128.
CONV_LAYERS = [
    ("keras-mnist-2conv conv2", (128, 32, 26, 26), (64, 32, 3, 3), 0),
    ("udacity-cifar10 conv2", (128, 32, 32, 32), (64, 32, 3, 3), 1),
    ("lenet5 C3", (128, 6, 14, 14), (16, 6, 5, 5), 0),
]
GEMM_SIZES = [1024, 2048]


def median_ms(fn: Callable[[], Any], reps: int, sync: Callable[[], None]) -> float:
    fn()
    sync()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3


def _torch_cuda() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def peers(torch: Any) -> dict[str, dict[str, Callable[[], Any]]]:
    rng = np.random.default_rng(0)

    def dev(a: np.ndarray) -> Any:
        return cf.ops.to_device(a, "cuda")

    out: dict[str, dict[str, Callable[[], Any]]] = {}
    for n in GEMM_SIZES:
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        da, db = dev(a), dev(b)
        ours = cf.ops.matmul(da, db).numpy()
        np.testing.assert_allclose(ours, a @ b, rtol=1e-4, atol=1e-3 * n)
        out[f"sgemm {n}"] = {"cnnfast": lambda da=da, db=db: cf.ops.matmul(da, db)}
        if torch is not None:
            ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
            out[f"sgemm {n}"]["torch"] = lambda ta=ta, tb=tb: ta @ tb
    for name, xs, ws, pad in CONV_LAYERS:
        x, w = rng.standard_normal(xs, dtype=np.float32), rng.standard_normal(ws, dtype=np.float32)
        out.update(conv_peers(torch, name, x, w, pad, rng))
    return out


def conv_peers(
    torch: Any, name: str, x: np.ndarray, w: np.ndarray, pad: int, rng: np.random.Generator
) -> dict[str, dict[str, Callable[[], Any]]]:
    """Forward, and forward+backward, of one layer for each peer (checked first)."""
    xd, wd = cf.ops.to_device(x, "cuda"), cf.ops.to_device(w, "cuda")
    y = cf.ops.conv2d(xd, wd, padding=pad)
    expected = cf.reference.conv2d(x[:2], w, padding=pad)
    np.testing.assert_allclose(y.numpy()[:2], expected, rtol=1e-3, atol=1e-3)
    dy_host = rng.standard_normal(y.shape, dtype=np.float32)
    dy = cf.ops.to_device(dy_host, "cuda")
    fwd = {"cnnfast": lambda: cf.ops.conv2d(xd, wd, padding=pad)}
    both = {
        "cnnfast": lambda: cf.ops.conv2d_backward(xd, wd, dy, padding=pad, need_bias_grad=False)
    }
    if torch is not None:
        conv = torch.nn.functional.conv2d
        tx = torch.from_numpy(x).cuda().requires_grad_()
        tw = torch.from_numpy(w).cuda().requires_grad_()
        tdy = torch.from_numpy(dy_host).cuda()
        fwd["torch"] = lambda: conv(tx.detach(), tw.detach(), padding=pad)
        both["torch"] = lambda: torch.autograd.grad(conv(tx, tw, padding=pad), (tx, tw), tdy)
    return {f"{name} fwd": fwd, f"{name} fwd+bwd": both}


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(prog="cnnfast bench cuda", description=__doc__)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    print(machine_line())
    if not (cf.cuda.is_built() and cf.cuda.device_count() > 0) or cf.cuda.is_emulated():
        print("cnnfast bench cuda: no CUDA device here, nothing timed (the emulator is for tests)")
        return {}
    torch = _torch_cuda()
    print("devices:", ", ".join(cf.cuda.device_names()), "| torch CUDA:", "yes" if torch else "no")

    def sync() -> None:
        cf.cuda.synchronize()
        if torch is not None:
            torch.cuda.synchronize()

    fns = peers(torch)
    results: dict[str, dict[str, float]] = {}
    for _ in range(3):
        results = {
            op: {n: median_ms(fn, args.reps, sync) for n, fn in f.items()} for op, f in fns.items()
        }
    report_vs_torch(results, "ms", 40, args.json)
    return results
