"""Time cnnfast's conv2d (forward, backward-input, backward-weight) and pooling on the
lecture nets' layer shapes, side by side with the NumPy reference and, when installed,
PyTorch on the same thread count.

    cnnfast bench ops [--threads 2] [--reps 7] [--json out.json] [--quick]

Method: every cnnfast result is first verified against cnnfast.reference (on the first
two images of the batch, same layer shape otherwise); after a pause that lets
OpenBLAS's threads (woken by the reference) go idle, cnnfast and PyTorch take turns,
`reps` rounds of one untimed and three timed calls each; the table shows medians. The
NumPy reference is timed afterwards, apart, and only where one call takes under ~2 s
(it is a checker, not a peer that anyone would train with).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import checks
from cnnfast._args import resolve_padding

from .timing import machine_line, settle, time_peers

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # PyTorch is optional
    torch = None


@dataclass(frozen=True)
class ConvShape:
    net: str
    x: tuple[int, int, int, int]
    w: tuple[int, int, int, int]
    stride: int = 1
    padding: Any = 0

    def flops(self) -> float:
        y = cf.ops.conv2d(
            np.zeros((1, *self.x[1:]), np.float32),
            np.zeros(self.w, np.float32),
            stride=self.stride,
            padding=self.padding,
        )
        K, Cg, R, S = self.w
        return 2.0 * self.x[0] * K * y.shape[2] * y.shape[3] * Cg * R * S


@dataclass(frozen=True)
class PoolShape:
    net: str
    x: tuple[int, int, int, int]
    kernel: int
    stride: int | None = None
    padding: Any = 0


CONV_SHAPES = [
    ConvShape("lenet5 c1", (128, 1, 32, 32), (6, 1, 5, 5)),
    ConvShape("lenet5 c3", (128, 6, 14, 14), (16, 6, 5, 5)),
    ConvShape("lenet5 c5", (128, 16, 5, 5), (120, 16, 5, 5)),
    ConvShape("keras-mnist conv1", (128, 1, 28, 28), (32, 1, 3, 3)),
    ConvShape("keras-mnist-2conv conv2", (128, 32, 13, 13), (64, 32, 3, 3)),
    ConvShape("keras-mnist-example conv2", (128, 32, 26, 26), (64, 32, 3, 3)),
    ConvShape("tf-deep-cnn conv2", (128, 32, 14, 14), (64, 32, 3, 3), 1, "same"),
    ConvShape("tf-deep-cnn conv3", (128, 64, 7, 7), (128, 64, 3, 3), 1, "same"),
    ConvShape("udacity-cifar10 conv1", (128, 3, 32, 32), (16, 3, 2, 2), 1, "same"),
    ConvShape("udacity-cifar10 conv2", (128, 16, 16, 16), (32, 16, 2, 2), 1, "same"),
    ConvShape("horzyk-cifar10 conv1", (128, 3, 32, 32), (64, 3, 3, 3)),
    ConvShape("horzyk-cifar10 conv3", (128, 64, 14, 14), (128, 64, 3, 3), 1, "same"),
    ConvShape("alexnet conv1", (8, 3, 227, 227), (96, 3, 11, 11), 4),
    ConvShape("alexnet conv3", (8, 256, 13, 13), (384, 256, 3, 3), 1, 1),
    ConvShape("alphago conv1", (16, 48, 19, 19), (192, 48, 5, 5), 1, 2),
    ConvShape("alphago conv2-12", (16, 192, 19, 19), (192, 192, 3, 3), 1, 1),
]

POOL_SHAPES = [
    PoolShape("keras-mnist pool1", (128, 32, 26, 26), 2),
    PoolShape("keras-mnist-2conv pool2", (128, 64, 11, 11), 2),
    PoolShape("tf-deep-cnn pool1 (SAME)", (128, 32, 28, 28), 2, 2, "same"),
    PoolShape("horzyk-cifar10 pool1", (128, 64, 30, 30), 2),
    PoolShape("alexnet pool1", (8, 96, 55, 55), 3, 2),
]


@dataclass
class Row:
    op: str
    shape: str
    gflop: float
    times: dict[str, float] = field(default_factory=dict)  # peer -> median seconds

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "shape": self.shape, "gflop": self.gflop, "median_s": self.times}


def time_op(
    ours: Callable[[], Any],
    theirs: Callable[[], Any] | None,
    ref: Callable[[], Any] | None,
    reps: int,
) -> dict[str, float]:
    """cnnfast and PyTorch take turns; the NumPy reference is timed apart, afterwards."""
    settle()
    peers = {"cnnfast": ours} if theirs is None else {"cnnfast": ours, "torch": theirs}
    times = time_peers(peers, reps)
    if ref is not None and reference_is_affordable(ref):
        times["numpy-ref"] = time_peers({"numpy-ref": ref}, max(1, reps // 2))["numpy-ref"]
    return times


def reference_is_affordable(fn: Callable[[], Any], budget_s: float = 2.0) -> bool:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0 < budget_s


def verify(results: list[checks.Result]) -> None:
    bad = [str(r) for r in results if not r.ok]
    if bad:
        raise SystemExit("cnnfast disagrees with the reference:\n" + "\n".join(bad))


def bench_conv(s: ConvShape, reps: int, rng: np.random.Generator, quick: bool) -> list[Row]:
    kw = dict(stride=s.stride, padding=s.padding)
    probe = (min(2, s.x[0]), *s.x[1:])
    verify(checks.check_conv2d(rng, np.float32, probe, s.w, s.stride, s.padding))
    x = rng.standard_normal(s.x).astype(np.float32)
    w = (rng.standard_normal(s.w) / np.sqrt(np.prod(s.w[1:]))).astype(np.float32)
    y = cf.ops.conv2d(x, w, **kw)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    name = (
        f"{s.net} x{s.x} w{s.w[0]}x{s.w[1]}x{s.w[2]}x{s.w[3]}"
        + (f" s{s.stride}" if s.stride != 1 else "")
        + (f" p={s.padding}" if s.padding else "")
    )
    gflop = s.flops() / 1e9
    ops = {
        "forward": lambda: cf.ops.conv2d(x, w, **kw),
        "backward_input": lambda: cf.ops.conv2d_backward(
            x, w, dy, **kw, need_weight_grad=False, need_bias_grad=False
        ),
        "backward_weight": lambda: cf.ops.conv2d_backward(
            x, w, dy, **kw, need_input_grad=False, need_bias_grad=False
        ),
    }
    refs = {
        "forward": lambda: cf.reference.conv2d(x, w, **kw),
        "backward_input": lambda: cf.reference.conv2d_backward(
            x, w, dy, **kw, need_weight_grad=False, need_bias_grad=False
        ),
        "backward_weight": lambda: cf.reference.conv2d_backward(
            x, w, dy, **kw, need_input_grad=False, need_bias_grad=False
        ),
    }
    torch_ops: dict[str, Callable[[], Any]] = {}
    if torch is not None:
        torch_ops = torch_conv_peers(s, x, w, dy)
        np.testing.assert_allclose(torch_ops["forward"]().numpy(), y, rtol=1e-3, atol=1e-3)
    return [
        Row(
            f"conv2d {op}",
            name,
            gflop,
            time_op(ops[op], torch_ops.get(op), None if quick else refs[op], reps),
        )
        for op in ops
    ]


def torch_conv_peers(
    s: ConvShape, x: np.ndarray, w: np.ndarray, dy: np.ndarray
) -> dict[str, Callable[[], Any]]:
    """What a PyTorch user writes for this layer. Asymmetric padding (TensorFlow's SAME
    with an even kernel) has no conv2d argument: the input is padded with F.pad first,
    as Keras-on-PyTorch code does, and that pad is part of the timed work."""
    t, b, l, r = resolve_padding("bench", s.padding, s.x[2:], s.w[2:], (s.stride, s.stride))
    tx, tw, tdy = (torch.from_numpy(a) for a in (x, w, dy))
    w_shape = list(s.w)
    if t == b and l == r:
        kw = dict(stride=s.stride, padding=(t, l))
        return {
            "forward": lambda: F.conv2d(tx, tw, **kw),
            "backward_input": lambda: torch.nn.grad.conv2d_input(list(s.x), tw, tdy, **kw),
            "backward_weight": lambda: torch.nn.grad.conv2d_weight(tx, w_shape, tdy, **kw),
        }
    pads = (l, r, t, b)
    padded = [s.x[0], s.x[1], s.x[2] + t + b, s.x[3] + l + r]
    H, W = s.x[2:]
    return {
        "forward": lambda: F.conv2d(F.pad(tx, pads), tw, stride=s.stride),
        "backward_input": lambda: torch.nn.grad.conv2d_input(padded, tw, tdy, stride=s.stride)[
            :, :, t : t + H, l : l + W
        ],
        "backward_weight": lambda: torch.nn.grad.conv2d_weight(
            F.pad(tx, pads), w_shape, tdy, stride=s.stride
        ),
    }


def bench_pool(s: PoolShape, reps: int, rng: np.random.Generator, quick: bool) -> list[Row]:
    kw = dict(kernel_size=s.kernel, stride=s.stride, padding=s.padding)
    verify(checks.check_max_pool2d(rng, np.float32, (min(2, s.x[0]), *s.x[1:]), **kw))
    x = rng.standard_normal(s.x).astype(np.float32)
    y = cf.ops.max_pool2d(x, **kw)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    name = (
        f"{s.net} x{s.x} k{s.kernel}"
        + (f" s{s.stride}" if s.stride else "")
        + (f" p={s.padding}" if s.padding else "")
    )

    def forward_backward() -> Any:
        """What a training step runs: the byte-argmax forward, then its backward."""
        _, code = cf.ops.max_pool2d_argmax(x, **kw)
        return cf.ops.max_pool2d_backward_argmax(code, dy, x.shape, **kw)

    ops = {
        "max_pool2d forward": lambda: cf.ops.max_pool2d(x, **kw),
        "max_pool2d fwd+bwd": forward_backward,
    }
    refs = {
        "max_pool2d forward": lambda: cf.reference.max_pool2d(x, **kw),
        "max_pool2d fwd+bwd": lambda: cf.reference.max_pool2d_backward(x, dy, **kw),
    }
    torch_ops: dict[str, Callable[[], Any]] = {}
    if torch is not None and not isinstance(s.padding, str):
        tx = torch.from_numpy(x).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def torch_backward() -> Any:
            out = F.max_pool2d(tx, s.kernel, s.stride, s.padding)
            return torch.autograd.grad(out, tx, tdy)

        torch_ops = {
            "max_pool2d forward": lambda: F.max_pool2d(tx.detach(), s.kernel, s.stride, s.padding),
            "max_pool2d fwd+bwd": torch_backward,
        }
    return [
        Row(op, name, 0.0, time_op(ops[op], torch_ops.get(op), None if quick else refs[op], reps))
        for op in ops
    ]


def print_table(rows: list[Row]) -> None:
    print(
        f"{'op':<22} {'shape':<62} {'cnnfast ms':>10} {'GFLOP/s':>8} {'torch ms':>9} "
        f"{'vs torch':>8} {'numpy ms':>9} {'vs numpy':>9}"
    )
    for r in rows:
        t = r.times
        ours = t["cnnfast"]
        gf = f"{r.gflop / ours:8.1f}" if r.gflop else f"{'':8}"
        tt = (
            f"{t['torch'] * 1e3:9.2f} {t['torch'] / ours:7.2f}x"
            if "torch" in t
            else f"{'-':>9} {'-':>8}"
        )
        nt = (
            f"{t['numpy-ref'] * 1e3:9.1f} {t['numpy-ref'] / ours:8.1f}x"
            if "numpy-ref" in t
            else f"{'-':>9} {'-':>9}"
        )
        print(f"{r.op:<22} {r.shape:<62} {ours * 1e3:10.2f} {gf} {tt} {nt}")


def main(argv: Sequence[str] | None = None) -> list[Row]:
    p = argparse.ArgumentParser(
        prog="cnnfast bench ops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--quick", action="store_true", help="3 reps, skip the NumPy reference peer")
    p.add_argument("--only", default="", help="only shapes whose name contains this text")
    args = p.parse_args(argv)
    reps = 3 if args.quick else args.reps
    cf.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{machine_line()}, reps {reps}")
    rows: list[Row] = []
    for s in CONV_SHAPES:
        if args.only in s.net:
            rows += bench_conv(s, reps, rng, args.quick)
    for s in POOL_SHAPES:
        if args.only in s.net:
            rows += bench_pool(s, reps, rng, args.quick)
    print_table(rows)
    if args.json:
        meta = {
            "cnnfast": cf.__version__,
            "info": cf.info(),
            "threads": args.threads,
            "torch": torch.__version__ if torch is not None else None,
            "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "reps": reps,
        }
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": [r.as_dict() for r in rows]}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
