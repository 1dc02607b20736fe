"""Each pass of each zoo layer against this machine's two ceilings: convolutions as
GFLOP/s against the FMA peak, the memory-bound passes (pooling, ReLU, dropout, batch
norm) as GB/s against the bandwidth of a plain copy, both measured in this process.

    cnnfast bench roofline [--threads 2] [--reps 5] [--nets lenet5,...] [--json out.json]

Method: the FMA peak is bench/peak.py's loop; a memory-bound pass is set against
`np.copyto` moving as many bytes as the pass must (CopyCeiling: one thread or split
between the threads, whichever is faster), so a layer whose arrays sit in a cache is
held to the cache's bandwidth and a large one to memory's. A layer's bytes are its
compulsory traffic: every input array read once, every output written once (float32;
max pooling's argmax one byte an output) - what a pass could not move less of, so
the fraction is of the best it could do.
Convolutions count direct-equivalent FLOPs (2 per multiply-add of the plain
definition, whatever algorithm runs). Every kernel is checked against the NumPy
reference on the layer's shape (two images) before it is timed; medians of `reps`
rounds of three calls.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import checks

from . import peak as peak_suite
from .ops import ZOO_NETS, ConvShape, PoolShape, conv_passes, verify, zoo_layer_shapes
from .timing import machine_line, settle, time_peers

F32 = 4


class CopyCeiling:
    """GB/s of a plain copy that moves a given number of bytes (half read, half
    written), timed as the passes are (medians): the best of one thread copying it
    all, `threads` Python threads each copying a share (NumPy's copy releases the
    GIL), and `threads` times what one thread does with one share - the threads'
    copies as if they cost nothing to start and shared nothing, an upper bound where
    each core's own cache holds its share (Python's thread hand-off, tens of
    microseconds, would otherwise make the copy slower than the passes it bounds). A
    pass is set against a copy of its own size: a layer whose arrays fit in a cache
    is measured against the cache's bandwidth, a large one against memory's."""

    def __init__(self, threads: int, reps: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.threads, self.reps = threads, reps
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.cache: dict[int, float] = {}

    def __call__(self, nbytes: int) -> float:
        n = max(nbytes // (2 * F32), 1024)
        key = 1 << (n - 1).bit_length()  # (sizes rounded up to a power of two)
        if key not in self.cache:
            src, dst = np.ones(key, np.float32), np.zeros(key, np.float32)
            peers: dict[str, Callable[[], Any]] = {"1": lambda: np.copyto(dst, src)}
            if self.pool is not None:
                bounds = [key * t // self.threads for t in range(self.threads + 1)]
                parts = [slice(bounds[t], bounds[t + 1]) for t in range(self.threads)]

                def threaded() -> None:
                    jobs = [self.pool.submit(np.copyto, dst[p], src[p]) for p in parts]
                    for job in jobs:
                        job.result()

                peers["threads"] = threaded
                share = parts[0]
                peers["one share"] = lambda: np.copyto(dst[share], src[share])
            times = time_peers(peers, self.reps)
            if "one share" in times:  # (that share's copy, by every thread at once)
                times["one share"] *= key / (share.stop - share.start)
                times["one share"] /= self.threads
            self.cache[key] = 2 * src.nbytes / min(times.values()) / 1e9
        return self.cache[key]


def _time(fn: Callable[[], Any], reps: int) -> float:
    settle()
    return time_peers({"cnnfast": fn}, reps)["cnnfast"]


def conv_rows(s: ConvShape, reps: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    kw = dict(stride=s.stride, padding=s.padding, groups=s.groups)
    probe = (min(2, s.x[0]), *s.x[1:])
    verify(checks.check_conv2d(rng, np.float32, probe, s.w, s.stride, s.padding, 1, s.groups))
    x = rng.standard_normal(s.x).astype(np.float32)
    w = (rng.standard_normal(s.w) / np.sqrt(np.prod(s.w[1:]))).astype(np.float32)
    dy = rng.standard_normal(cf.ops.conv2d(x, w, **kw).shape).astype(np.float32)
    passes = {f"conv2d {name}": fn for name, fn in conv_passes(x, w, dy, kw).items()}
    flops = s.flops()
    shape = f"{s.net} x{s.x} w{s.w}" + (f" s{s.stride}" if s.stride != 1 else "")
    return [
        {"op": op, "shape": shape, "flops": flops, "seconds": _time(fn, reps)}
        for op, fn in passes.items()
    ]


def pool_rows(s: PoolShape, reps: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    kw = dict(kernel_size=s.kernel, stride=s.stride, padding=s.padding)
    probe = (min(2, s.x[0]), *s.x[1:])
    check = checks.check_max_pool2d if s.kind == "max" else checks.check_avg_pool2d
    verify(check(rng, np.float32, probe, **kw))
    x = rng.standard_normal(s.x).astype(np.float32)
    shape = f"{s.net} x{s.x} k{s.kernel}" + (f" s{s.stride}" if s.stride else "")
    if s.kind == "max":
        y, code = cf.ops.max_pool2d_argmax(x, **kw)
        dy = np.ones_like(y)
        forward = lambda: cf.ops.max_pool2d_argmax(x, **kw)  # noqa: E731
        backward = lambda: cf.ops.max_pool2d_backward_argmax(code, dy, x.shape, **kw)  # noqa: E731
        # forward: x in, y and the byte codes out; backward: codes and dy in, dx out
        fwd_bytes = x.nbytes + y.nbytes + code.nbytes
        bwd_bytes = code.nbytes + dy.nbytes + x.nbytes
    else:
        y = cf.ops.avg_pool2d(x, **kw)
        dy = np.ones_like(y)
        forward = lambda: cf.ops.avg_pool2d(x, **kw)  # noqa: E731
        backward = lambda: cf.ops.avg_pool2d_backward(x, dy, **kw)  # noqa: E731
        fwd_bytes = x.nbytes + y.nbytes
        bwd_bytes = dy.nbytes + x.nbytes
    op = f"{s.kind}_pool2d"
    return [
        {
            "op": f"{op} forward",
            "shape": shape,
            "bytes": fwd_bytes,
            "seconds": _time(forward, reps),
        },
        {
            "op": f"{op} backward",
            "shape": shape,
            "bytes": bwd_bytes,
            "seconds": _time(backward, reps),
        },
    ]


def elementwise_rows(
    net: str, shape: tuple[int, ...], reps: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """ReLU and dropout on a convolution's output (what follows it in the zoo)."""
    x = rng.standard_normal(shape).astype(np.float32)
    dy = np.ones_like(x)
    np.testing.assert_array_equal(cf.ops.relu(x[:2]), cf.reference.relu(x[:2]))
    np.testing.assert_allclose(
        cf.ops.dropout(x[:2], 0.25, 7), cf.reference.dropout(x[:2], 0.25, 7), rtol=1e-6
    )
    name = f"{net} x{shape}"
    n = x.nbytes
    passes = {
        "relu forward": (lambda: cf.ops.relu(x), 2 * n),
        "relu backward": (lambda: cf.ops.relu_backward(x, dy), 3 * n),
        "dropout forward": (lambda: cf.ops.dropout(x, 0.25, 7), 2 * n),
        "dropout backward": (lambda: cf.ops.dropout_backward(dy, 0.25, 7), 2 * n),
    }
    return [
        {"op": op, "shape": name, "bytes": b, "seconds": _time(fn, reps)}
        for op, (fn, b) in passes.items()
    ]


def batch_norm_rows(
    shape: tuple[int, ...], reps: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    x = rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    gamma, beta = np.ones(c, np.float32), np.zeros(c, np.float32)
    _, mean, invstd = cf.ops.batch_norm_train(x, gamma, beta, 1e-5)
    want = cf.reference.batch_norm_train(x[:2], gamma, beta, 1e-5)[0]
    got = cf.ops.batch_norm_train(x[:2], gamma, beta, 1e-5)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    dy = np.ones_like(x)
    name = f"resnet-blocks x{shape}"
    return [
        {
            "op": "batch_norm train forward",
            "shape": name,
            "bytes": 2 * x.nbytes,
            "seconds": _time(lambda: cf.ops.batch_norm_train(x, gamma, beta, 1e-5), reps),
        },
        {
            "op": "batch_norm backward",
            "shape": name,
            "bytes": 3 * x.nbytes,
            "seconds": _time(lambda: cf.ops.batch_norm_backward(x, dy, mean, invstd, gamma), reps),
        },
    ]


def _batch_norm_shapes() -> list[tuple[int, ...]]:
    """The inputs of resnet-blocks' batch norms, at batch 128."""
    model = cf.models.get("resnet-blocks", seed=0).eval()
    shapes: list[tuple[int, ...]] = []

    def hook(module: Any, out: Any) -> None:
        if isinstance(module, cf.nn.Conv2d):
            s = (128, *out.shape[1:])
            if s not in shapes:
                shapes.append(s)

    from cnnfast.nn.module import _hooked  # (the hook Module.summary uses)

    with cf.no_grad(), _hooked(hook):
        model(cf.tensor(np.zeros((1, 3, 32, 32), np.float32)))
    return shapes


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(prog="cnnfast bench roofline", description=__doc__)
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--nets", default=",".join(ZOO_NETS), help="only these nets' layers")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    nets = set(args.nets.split(","))
    rng = np.random.default_rng(0)
    print(machine_line())
    fma = peak_suite.measure()["gflops"]
    copy = CopyCeiling(args.threads, args.reps)
    memory = copy(512 * 2**20)
    print(
        f"FMA peak {fma:.1f} GFLOP/s; a plain copy of 512 MB {memory:.1f} GB/s "
        f"({args.threads} threads); each memory-bound pass against a copy of its own bytes"
    )
    convs, pools = zoo_layer_shapes()
    rows: list[dict[str, Any]] = []
    for s in convs:
        if s.net.split()[0] in nets:
            rows += conv_rows(s, args.reps, rng)
            rows += elementwise_rows(s.net, s.y_shape(), args.reps, rng)
    for s in pools:
        if s.net.split()[0] in nets:
            rows += pool_rows(s, args.reps, rng)
    if "resnet-blocks" in nets:
        for shape in _batch_norm_shapes():
            rows += batch_norm_rows(shape, args.reps, rng)
    print(f"{'pass':<26} {'shape':<58} {'ms':>8} {'achieved':>13} {'copy':>10} {'of ceiling':>10}")
    for r in rows:
        if "flops" in r:
            r["gflops"] = r["flops"] / r["seconds"] / 1e9
            r["fraction"] = r["gflops"] / fma
            achieved, ceiling = f"{r['gflops']:7.1f} GFLOP/s", ""
        else:
            r["gb_per_s"] = r["bytes"] / r["seconds"] / 1e9
            r["copy_gb_per_s"] = copy(r["bytes"])
            r["fraction"] = r["gb_per_s"] / r["copy_gb_per_s"]
            achieved, ceiling = f"{r['gb_per_s']:8.1f} GB/s", f"{r['copy_gb_per_s']:5.1f} GB/s"
        print(
            f"{r['op']:<26} {r['shape'][:58]:<58} {r['seconds'] * 1e3:8.3f} "
            f"{achieved:>13} {ceiling:>10} {r['fraction']:9.0%}"
        )
    if args.json:
        with open(args.json, "w") as f:
            meta = {"machine": machine_line(), "fma_gflops": fma, "copy_512mb_gb_per_s": memory}
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
