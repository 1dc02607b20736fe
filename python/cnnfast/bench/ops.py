"""Time cnnfast's conv2d (forward, backward-input, backward-weight), pooling, and the
normalising ops (softmax with cross-entropy, batch norm, LRN: ops_normalization.py) on
the lecture nets' layer shapes, side by side with the NumPy reference and, when
installed, PyTorch on the same thread count.

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
    stride: Any = 1
    padding: Any = 0
    groups: int = 1

    def y_shape(self) -> tuple[int, ...]:
        """The layer's output shape over the whole batch."""
        y = cf.ops.conv2d(
            np.zeros((1, *self.x[1:]), np.float32),
            np.zeros(self.w, np.float32),
            stride=self.stride,
            padding=self.padding,
            groups=self.groups,
        )
        return (self.x[0], *y.shape[1:])

    def flops(self) -> float:
        _, K, P, Q = self.y_shape()
        _, Cg, R, S = self.w
        return 2.0 * self.x[0] * K * P * Q * Cg * R * S


@dataclass(frozen=True)
class PoolShape:
    net: str
    x: tuple[int, int, int, int]
    kernel: Any
    stride: Any = None
    padding: Any = 0
    kind: str = "max"  # or "avg"


# Batch per net: the lectures' 128 for the MNIST/CIFAR nets, smaller for the big ones.
ZOO_BATCH = {"alexnet": 8, "alphago-policy": 16, "typical-120x160": 32}
ZOO_NETS = [
    "lenet5",
    "keras-mnist-1conv",
    "keras-mnist-2conv",
    "keras-mnist-example",
    "tf-tutorial-cnn",
    "tf-deep-cnn",
    "horzyk-mnist",
    "udacity-cifar10",
    "horzyk-cifar10",
    "typical-120x160",
    "alexnet",
    "alphago-policy",
]


def zoo_layer_shapes() -> tuple[list[ConvShape], list[PoolShape]]:
    """Every distinct conv and pooling layer shape of the zoo's Sequential nets (the
    building-block demos are left out), found by running each net on one image and
    named after the first net and layer index that has it."""
    convs: dict[tuple[Any, ...], ConvShape] = {}
    pools: dict[tuple[Any, ...], PoolShape] = {}
    for name in ZOO_NETS:
        spec = cf.models.spec(name)
        model = cf.models.get(name, seed=0)
        batch = ZOO_BATCH.get(name, 128)
        x = cf.tensor(np.zeros((1, *spec.input_shape), np.float32))
        with cf.no_grad():
            for i, layer in enumerate(model):
                shape = (batch, *x.shape[1:])
                if isinstance(layer, cf.nn.Conv2d):
                    c = ConvShape(
                        f"{name} {i}",
                        shape,
                        layer.weight.shape,
                        layer.stride,
                        layer.padding,
                        layer.groups,
                    )
                    convs.setdefault((c.x[1:], c.w, str(c.stride), str(c.padding), c.groups), c)
                elif isinstance(layer, cf.nn.MaxPool2d | cf.nn.AvgPool2d):
                    kind = "max" if isinstance(layer, cf.nn.MaxPool2d) else "avg"
                    p = PoolShape(
                        f"{name} {i}", shape, layer.kernel_size, layer.stride, layer.padding, kind
                    )
                    pools.setdefault(
                        (p.x[1:], str(p.kernel), str(p.stride), str(p.padding), kind), p
                    )
                x = layer(x)
    return list(convs.values()), list(pools.values())


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


def conv_passes(
    x: np.ndarray, w: np.ndarray, dy: np.ndarray, kw: dict[str, Any]
) -> dict[str, Callable[[], Any]]:
    """A convolution's three passes as a training step runs them."""
    return {
        "forward": lambda: cf.ops.conv2d(x, w, **kw),
        "backward_input": lambda: cf.ops.conv2d_backward(
            x, w, dy, **kw, need_weight_grad=False, need_bias_grad=False
        ),
        "backward_weight": lambda: cf.ops.conv2d_backward(
            x, w, dy, **kw, need_input_grad=False, need_bias_grad=False
        ),
    }


def bench_conv(s: ConvShape, reps: int, rng: np.random.Generator, quick: bool) -> list[Row]:
    kw = dict(stride=s.stride, padding=s.padding, groups=s.groups)
    probe = (min(2, s.x[0]), *s.x[1:])
    verify(checks.check_conv2d(rng, np.float32, probe, s.w, s.stride, s.padding, 1, s.groups))
    x = rng.standard_normal(s.x).astype(np.float32)
    w = (rng.standard_normal(s.w) / np.sqrt(np.prod(s.w[1:]))).astype(np.float32)
    y = cf.ops.conv2d(x, w, **kw)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    name = (
        f"{s.net} x{s.x} w{s.w[0]}x{s.w[1]}x{s.w[2]}x{s.w[3]}"
        + (f" s{s.stride}" if s.stride != 1 else "")
        + (f" g{s.groups}" if s.groups != 1 else "")
        + (f" p={s.padding}" if s.padding else "")
    )
    gflop = s.flops() / 1e9
    ops = conv_passes(x, w, dy, kw)
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
        kw = dict(stride=s.stride, padding=(t, l), groups=s.groups)
        return {
            "forward": lambda: F.conv2d(tx, tw, **kw),
            "backward_input": lambda: torch.nn.grad.conv2d_input(list(s.x), tw, tdy, **kw),
            "backward_weight": lambda: torch.nn.grad.conv2d_weight(tx, w_shape, tdy, **kw),
        }
    pads = (l, r, t, b)
    padded = [s.x[0], s.x[1], s.x[2] + t + b, s.x[3] + l + r]
    H, W = s.x[2:]
    return {
        "forward": lambda: F.conv2d(F.pad(tx, pads), tw, stride=s.stride, groups=s.groups),
        "backward_input": lambda: torch.nn.grad.conv2d_input(
            padded, tw, tdy, stride=s.stride, groups=s.groups
        )[:, :, t : t + H, l : l + W],
        "backward_weight": lambda: torch.nn.grad.conv2d_weight(
            F.pad(tx, pads), w_shape, tdy, stride=s.stride, groups=s.groups
        ),
    }


def bench_pool(s: PoolShape, reps: int, rng: np.random.Generator, quick: bool) -> list[Row]:
    kw = dict(kernel_size=s.kernel, stride=s.stride, padding=s.padding)
    probe = (min(2, s.x[0]), *s.x[1:])
    check = checks.check_max_pool2d if s.kind == "max" else checks.check_avg_pool2d
    verify(check(rng, np.float32, probe, **kw))
    x = rng.standard_normal(s.x).astype(np.float32)
    fwd = cf.ops.max_pool2d if s.kind == "max" else cf.ops.avg_pool2d
    ref_fwd = cf.reference.max_pool2d if s.kind == "max" else cf.reference.avg_pool2d
    y = fwd(x, **kw)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    name = (
        f"{s.net} x{s.x} k{s.kernel}"
        + (f" s{s.stride}" if s.stride else "")
        + (f" p={s.padding}" if s.padding else "")
    )

    def forward_backward() -> Any:
        """What a training step runs (for max pooling: the byte-argmax pair)."""
        if s.kind == "avg":
            fwd(x, **kw)
            return cf.ops.avg_pool2d_backward(x, dy, **kw)
        _, code = cf.ops.max_pool2d_argmax(x, **kw)
        return cf.ops.max_pool2d_backward_argmax(code, dy, x.shape, **kw)

    def reference_backward() -> Any:
        ref_bwd = (
            cf.reference.max_pool2d_backward
            if s.kind == "max"
            else cf.reference.avg_pool2d_backward
        )
        return ref_bwd(x, dy, **kw)

    op = f"{s.kind}_pool2d"
    ops = {f"{op} forward": lambda: fwd(x, **kw), f"{op} fwd+bwd": forward_backward}
    refs = {f"{op} forward": lambda: ref_fwd(x, **kw), f"{op} fwd+bwd": reference_backward}
    torch_ops: dict[str, Callable[[], Any]] = {}
    if torch is not None and not isinstance(s.padding, str):
        tfwd = F.max_pool2d if s.kind == "max" else F.avg_pool2d
        tx = torch.from_numpy(x).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def torch_backward() -> Any:
            out = tfwd(tx, s.kernel, s.stride, s.padding)
            return torch.autograd.grad(out, tx, tdy)

        torch_ops = {
            f"{op} forward": lambda: tfwd(tx.detach(), s.kernel, s.stride, s.padding),
            f"{op} fwd+bwd": torch_backward,
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
    conv_shapes, pool_shapes = zoo_layer_shapes()
    for s in conv_shapes:
        if args.only in s.net:
            rows += bench_conv(s, reps, rng, args.quick)
    for s in pool_shapes:
        if args.only in s.net:
            rows += bench_pool(s, reps, rng, args.quick)
    # (imported here: those rows build on this module's Row and timing)
    from .ops_normalization import bench_norm, zoo_norm_shapes

    for s in zoo_norm_shapes():
        if args.only in s.net:
            rows += bench_norm(s, reps, rng, args.quick)
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
