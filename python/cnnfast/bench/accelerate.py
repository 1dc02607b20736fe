"""PyTorch models on cnnfast's kernels: a training step (and inference) of the lecture
nets written in torch.nn, plain PyTorch eager against the same model after
`cnnfast.torch.accelerate`, against `torch.compile` of it, and against cnnfast's own
engine; and what the custom-operator path costs per call.

    cnnfast bench accelerate [--threads 2] [--nets lenet5,...] [--inference]
                             [--no-compile] [--own-pool] [--json FILE]

Method: each zoo net is translated into torch.nn with its weights (bench/nets.py);
the accelerated copy's outputs are checked against the plain model's before anything
is timed. Peers alternate in one process (timing.time_peers), each turn starting with
an untimed step; the table shows medians. `torch.compile` uses its default (inductor)
backend and is left out where it does not compile here. All peers share PyTorch's
OpenMP threads (accelerate puts cnnfast's kernels on them), as a user's process does;
`--own-pool` adds a peer with cnnfast's kernels on cnnfast's pool instead, to show
what the sharing gives.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import cnnfast as cf

from .nets import to_torch, torch_step
from .timing import LECTURE_NETS, add_step_arguments, cnnfast_step, machine_line, time_peers
from .tiny import median_call_us


def _compiled(model: Any, fn: Callable[[], Any]) -> Callable[[], Any] | None:
    """fn after its first call compiled the model, or None where it does not compile."""
    try:
        fn()
        fn()
        return fn
    except Exception as e:  # (inductor needs a working C++ toolchain and may refuse a graph)
        print(f"  torch.compile failed here: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
        return None


def _on_own_pool(fn: Callable[[], Any]) -> Callable[[], Any]:
    """fn with cnnfast's kernels on its own pool for the call (then back on PyTorch's
    OpenMP runtime): the peer that shows what sharing the threads gives."""
    runtime = cf.shared_openmp_runtime()

    def run() -> None:
        cf.share_openmp_runtime(None)
        try:
            fn()
        finally:
            cf.share_openmp_runtime(runtime)

    return run


def bench(
    name: str,
    batch: int,
    train: bool,
    steps: int,
    rounds: int,
    compile_: bool,
    own_pool: bool = False,
) -> dict:
    import torch

    import cnnfast.torch as ct

    spec = cf.models.spec(name)
    model = cf.models.get(name, seed=0)
    plain = to_torch(model, spec.input_shape)
    fast = ct.accelerate(copy.deepcopy(plain))
    rng = np.random.default_rng(0)
    x = rng.random((batch, *spec.input_shape), dtype=np.float32)
    y = rng.integers(0, spec.classes, batch)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    plain.eval(), fast.eval()
    with torch.no_grad():  # verify before timing
        ours, theirs = fast(tx[:8]).numpy(), plain(tx[:8]).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3 * max(1, np.abs(theirs).max()))
    fns: dict[str, Callable[[], Any]] = {}
    if train:
        for label, m in (("torch", plain), ("accelerate", fast)):
            opt = torch.optim.Adam(m.parameters(), lr=1e-3)
            fns[label] = lambda m=m, opt=opt: torch_step(m, opt, tx, ty)
        if own_pool:
            fns["accelerate, own pool"] = _on_own_pool(fns["accelerate"])
        if compile_:
            cm = copy.deepcopy(plain)
            copt = torch.optim.Adam(cm.parameters(), lr=1e-3)
            compiled = torch.compile(cm)
            fn = _compiled(cm, lambda: torch_step(compiled, copt, tx, ty))
            if fn:
                fns["compile"] = fn
        copt_cf = cf.optim.Adam(model.parameters())
        fns["cnnfast"] = lambda: cnnfast_step(model, copt_cf, x, y)
    else:
        model.eval()

        def infer(m: Any) -> Callable[[], Any]:
            def run() -> None:
                with torch.inference_mode():
                    m(tx)

            return run

        fns["torch"], fns["accelerate"] = infer(plain), infer(fast)
        if own_pool:
            fns["accelerate, own pool"] = _on_own_pool(fns["accelerate"])
        if compile_:
            compiled = torch.compile(copy.deepcopy(plain))
            fn = _compiled(compiled, infer(compiled))
            if fn:
                fns["compile"] = fn

        def cf_infer() -> None:
            with cf.no_grad():
                model(cf.tensor(x))

        fns["cnnfast"] = cf_infer
    for fn in fns.values():  # (first steps allocate optimizer state)
        fn()
    times = time_peers(fns, rounds, block=steps)
    return {
        "net": name,
        "mode": "train" if train else "inference",
        "batch": batch,
        "images_per_s": {k: batch / v for k, v in times.items()},
    }


def overhead(calls: int = 2000) -> dict[str, float]:
    """Microseconds per call on a 1x1x8x8 input (3x3 filter, 2x2 pool), where the
    kernel itself takes little: what each path adds (the median single call, as
    `cnnfast bench tiny` times it)."""
    import torch
    import torch.nn.functional as F

    import cnnfast.torch as ct

    x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    gx, gw = tx.clone().requires_grad_(), tw.clone().requires_grad_()
    cases = {
        "cnnfast.ops.conv2d (NumPy)": lambda: cf.ops.conv2d(x, w),
        "torch.ops.cnnfast.conv2d": lambda: torch.ops.cnnfast.conv2d(
            tx, tw, None, [1, 1], [0, 0, 0, 0], [1, 1], 1
        ),
        "cnnfast.torch.conv2d, no grad": lambda: ct.conv2d(tx, tw),
        "F.conv2d, no grad": lambda: F.conv2d(tx, tw),
        "cnnfast.torch.conv2d fwd+bwd": lambda: ct.conv2d(gx, gw).sum().backward(),
        "F.conv2d fwd+bwd": lambda: F.conv2d(gx, gw).sum().backward(),
        "cnnfast.ops.max_pool2d (NumPy)": lambda: cf.ops.max_pool2d(x, 2),
        "cnnfast.torch.max_pool2d, no grad": lambda: ct.max_pool2d(tx, 2),
        "F.max_pool2d, no grad": lambda: F.max_pool2d(tx, 2),
        "cnnfast.torch.max_pool2d fwd+bwd": lambda: ct.max_pool2d(gx, 2).sum().backward(),
        "F.max_pool2d fwd+bwd": lambda: F.max_pool2d(gx, 2).sum().backward(),
    }

    out = {}
    for label, fn in cases.items():
        with torch.no_grad() if "no grad" in label else contextlib.nullcontext():
            out[label] = median_call_us(fn, calls)
    return out


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(
        prog="cnnfast bench accelerate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_step_arguments(p, LECTURE_NETS)
    p.add_argument("--inference", action="store_true", help="also time inference")
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument(
        "--own-pool",
        action="store_true",
        help="also time accelerate with cnnfast's kernels on cnnfast's own pool",
    )
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        raise SystemExit("cnnfast bench accelerate needs PyTorch (pip install torch)") from None
    torch.set_num_threads(args.threads)
    cf.set_num_threads(args.threads)
    print(f"{machine_line()}, median of {args.steps}x{args.rounds} steps")
    rows = []
    for name in args.nets.split(","):
        modes = (True, False) if args.inference else (True,)
        for train in modes:
            rows.append(
                bench(name, args.batch, train, args.steps, args.rounds, args.compile, args.own_pool)
            )
            r = rows[-1]["images_per_s"]
            print(f"  {name} {'train' if train else 'inference'}: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in r.items()), flush=True)  # fmt: skip
    peers = ["torch", "accelerate", "compile", "cnnfast"]
    if args.own_pool:
        peers.insert(2, "accelerate, own pool")
    print(f"{'net':<20} {'mode':<9} " + " ".join(f"{k + ' img/s':>16}" for k in peers)
          + f" {'accel/torch':>11} {'accel/compile':>13}")  # fmt: skip
    for r in rows:
        ips = r["images_per_s"]
        cells = " ".join(f"{ips[k]:16.0f}" if k in ips else f"{'-':>16}" for k in peers)
        vs_c = f"{ips['accelerate'] / ips['compile']:12.2f}x" if "compile" in ips else f"{'-':>13}"
        print(f"{r['net']:<20} {r['mode']:<9} {cells} "
              f"{ips['accelerate'] / ips['torch']:10.2f}x {vs_c}")  # fmt: skip
    costs = overhead()
    print("\nper call, 1x1x8x8 input (us):")
    for label, us in costs.items():
        print(f"  {label:<36} {us:8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": machine_line(), "rows": rows, "overhead_us": costs}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
