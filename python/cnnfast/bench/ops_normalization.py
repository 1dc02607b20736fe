"""The normalising ops' rows of `cnnfast bench ops`: softmax with cross-entropy at
every zoo net's output, batch norm (training: statistics, normalisation and the
backward) at every BatchNorm layer, and local response normalisation at every LRN
layer, side by side with PyTorch on the same shapes and thread count.

Each shape comes from the zoo's nets as built (a forward pass traces the output
shape of every module, nested ones included) and is verified against the
reference with cnnfast.checks before it is timed, as the conv and pooling rows are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import checks

from .ops import ZOO_BATCH, Row, time_op, verify

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # PyTorch is optional
    torch = None

# The nets whose layers these rows take: the training nets of `bench ops`, and the
# zoo's building-block net with batch norm.
NETS = [
    "lenet5",
    "keras-mnist-2conv",
    "udacity-cifar10",
    "horzyk-cifar10",
    "alexnet",
    "alphago-policy",
    "resnet-blocks",
]


@dataclass(frozen=True)
class NormShape:
    net: str
    kind: str  # "cross_entropy", "batch_norm" or "lrn"
    x: tuple[int, ...]
    size: int = 0  # LRN's window


def zoo_norm_shapes(nets: list[str] = NETS) -> list[NormShape]:
    """Every distinct (kind, shape) of the nets' outputs, BatchNorm and LRN layers,
    named after the first net that has it, at the batch `bench ops` uses."""
    found: dict[tuple[Any, ...], NormShape] = {}
    for name in nets:
        spec = cf.models.spec(name)
        model = cf.models.get(name, seed=0)
        batch = ZOO_BATCH.get(name, 128)
        traced = model.trace_shapes((1, *spec.input_shape))
        rows = [NormShape(name, "cross_entropy", (batch, spec.classes))]
        for module, shape in traced:
            if isinstance(module, cf.nn.BatchNorm2d):
                rows.append(NormShape(name, "batch_norm", (batch, *shape[1:])))
            elif isinstance(module, cf.nn.LocalResponseNorm):
                rows.append(NormShape(name, "lrn", (batch, *shape[1:]), module.size))
        for r in rows:
            found.setdefault((r.kind, r.x, r.size), r)
    return list(found.values())


def bench_norm(s: NormShape, reps: int, rng: np.random.Generator, quick: bool) -> list[Row]:
    probe = (min(2, s.x[0]), *s.x[1:])
    name = f"{s.net} x{s.x}" + (f" size{s.size}" if s.size else "")
    if s.kind == "cross_entropy":
        verify(checks.check_cross_entropy(rng, np.float32, *s.x))
        peers = _cross_entropy_peers(s, rng)
    elif s.kind == "batch_norm":
        verify(checks.check_batch_norm(rng, np.float32, probe))
        peers = _batch_norm_peers(s, rng)
    else:
        verify(checks.check_lrn(rng, np.float32, probe, s.size))
        peers = _lrn_peers(s, rng)
    return [
        Row(op, name, 0.0, time_op(ours, theirs, None if quick else ref, reps))
        for op, (ours, theirs, ref) in peers.items()
    ]


Peers = dict[str, tuple[Callable[[], Any], Callable[[], Any] | None, Callable[[], Any]]]


def _cross_entropy_peers(s: NormShape, rng: np.random.Generator) -> Peers:
    """What a training step runs at the output: the loss and its gradient."""
    logits = (3 * rng.standard_normal(s.x)).astype(np.float32)
    labels = rng.integers(0, s.x[1], s.x[0])

    def ours() -> Any:
        cf.ops.cross_entropy(logits, labels)
        return cf.ops.cross_entropy_backward(logits, labels)

    def ref() -> Any:
        cf.reference.cross_entropy(logits, labels)
        return cf.reference.cross_entropy_backward(logits, labels)

    theirs = None
    if torch is not None:
        tl = torch.from_numpy(logits).requires_grad_(True)
        tt = torch.from_numpy(labels)

        def theirs() -> Any:
            return torch.autograd.grad(F.cross_entropy(tl, tt), tl)

    return {"cross_entropy fwd+bwd": (ours, theirs, ref)}


def _batch_norm_peers(s: NormShape, rng: np.random.Generator) -> Peers:
    """Training mode: batch statistics and normalisation, then the backward."""
    C = s.x[1]
    x = (2 * rng.standard_normal(s.x) + 0.5).astype(np.float32)
    dy = rng.standard_normal(s.x).astype(np.float32)
    g, b = rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)

    def forward() -> Any:
        return cf.ops.batch_norm_train(x, g, b)

    def forward_backward() -> Any:
        _, mean, invstd = cf.ops.batch_norm_train(x, g, b)
        return cf.ops.batch_norm_backward(x, dy, mean, invstd, g)

    def ref_forward() -> Any:
        return cf.reference.batch_norm_train(x, g, b)

    def ref_forward_backward() -> Any:
        _, mean, invstd = cf.reference.batch_norm_train(x, g, b)
        return cf.reference.batch_norm_backward(x, dy, mean, invstd, g)

    t_fwd = t_fwd_bwd = None
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_(True)
        tg = torch.from_numpy(g).requires_grad_(True)
        tb = torch.from_numpy(b).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def t_fwd() -> Any:
            with torch.no_grad():
                return F.batch_norm(tx, None, None, tg, tb, training=True)

        def t_fwd_bwd() -> Any:
            y = F.batch_norm(tx, None, None, tg, tb, training=True)
            return torch.autograd.grad(y, (tx, tg, tb), tdy)

    return {
        "batch_norm forward": (forward, t_fwd, ref_forward),
        "batch_norm fwd+bwd": (forward_backward, t_fwd_bwd, ref_forward_backward),
    }


def _lrn_peers(s: NormShape, rng: np.random.Generator) -> Peers:
    x = (4 * rng.standard_normal(s.x)).astype(np.float32)
    dy = rng.standard_normal(s.x).astype(np.float32)
    kw = dict(size=s.size, alpha=1e-4, beta=0.75, k=2.0)  # AlexNet's

    def forward_backward() -> Any:
        cf.ops.local_response_norm(x, **kw)
        return cf.ops.local_response_norm_backward(x, dy, **kw)

    def ref_forward_backward() -> Any:
        cf.reference.local_response_norm(x, **kw)
        return cf.reference.local_response_norm_backward(x, dy, **kw)

    t_fwd = t_fwd_bwd = None
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_(True)
        tdy = torch.from_numpy(dy)

        def t_fwd() -> Any:
            with torch.no_grad():
                return F.local_response_norm(tx, **kw)

        def t_fwd_bwd() -> Any:
            return torch.autograd.grad(F.local_response_norm(tx, **kw), tx, tdy)

    return {
        "lrn forward": (
            lambda: cf.ops.local_response_norm(x, **kw),
            t_fwd,
            lambda: cf.reference.local_response_norm(x, **kw),
        ),
        "lrn fwd+bwd": (forward_backward, t_fwd_bwd, ref_forward_backward),
    }
