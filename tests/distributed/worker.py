"""What tests/test_distributed.py runs under `mpiexec -n N` (and alone, for the
single-process twin). `python worker.py MODE OUT [options]`; rank 0 writes OUT."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np

import cnnfast as cf
from cnnfast import distributed as dist
from cnnfast import nn, optim
from cnnfast.training import fit


def small_net(dtype: str) -> nn.Module:
    """conv, relu, max-pool, conv, relu, flatten, linear: every kind of gradient sum."""
    cf.manual_seed(3)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 3),
    )
    return net.astype(dtype)


def data(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.standard_normal((n, 1, 8, 8)).astype(dtype), rng.integers(0, 3, n)


def make_optimizer(name: str, net: nn.Module) -> optim.Optimizer:
    if name == "sgd":
        return optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    return optim.Adam(net.parameters(), lr=0.01)


def train(args: argparse.Namespace) -> None:
    """fit() on N samples in global batches of B (a remainder batch at the end); rank
    0 writes the parameters, and every rank's digest of them."""
    net = small_net(args.dtype)
    x, y = data(args.samples, args.dtype)
    opt = make_optimizer(args.optimizer, net)
    fit(net, opt, x, y, batch_size=args.batch, epochs=args.epochs, seed=11, verbose=0)
    params = {f"p{i}": p.data for i, p in enumerate(net.parameters())}
    mine = hashlib.sha256(b"".join(p.tobytes() for p in params.values())).hexdigest()
    digests = dist.allgather_object(mine)
    if dist.is_root():
        np.savez(args.out, ranks=dist.size(), same=all(d == digests[0] for d in digests), **params)


def overlap(args: argparse.Namespace) -> None:
    """One backward through a net whose parameters make several buckets: the events
    the DistributedOptimizer recorded, in order."""
    dist.init()
    cf.manual_seed(5)
    net = nn.Sequential(
        *[m for _ in range(4) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())],
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 10),
    )
    opt = dist.DistributedOptimizer(
        optim.SGD(net.parameters(), lr=0.1), net, bucket_bytes=3000, record_events=True
    )
    x = np.random.default_rng(dist.rank()).standard_normal((16, 8, 8, 8)).astype(np.float32)
    loss = nn.functional.cross_entropy(net(cf.Tensor(x)), cf.Tensor(np.zeros(16, np.int64)))
    opt.zero_grad()
    loss.backward()
    opt.events.append(("backward returned", -1, time.perf_counter()))
    opt.step()
    if dist.is_root():
        with open(args.out, "w") as f:
            json.dump({"buckets": len(opt.buckets), "events": opt.events}, f)


def fails(args: argparse.Namespace) -> None:
    """Rank 1 raises in the middle of training; the others are in a collective."""
    dist.init()
    net = small_net("float32")
    x, y = data(4000, "float32")
    opt = make_optimizer("sgd", net)

    class Boom(cf.training.Callback):
        def on_batch_end(self, step, logs, state):
            if dist.rank() == 1 and step == 20:
                raise RuntimeError("rank 1 gives up")

    fit(net, opt, x, y, batch_size=8, epochs=100, callbacks=[Boom()], verbose=0)


def disagree(args: argparse.Namespace) -> None:
    """Rank 1 has one sample fewer than the others."""
    dist.init()
    net = small_net("float32")
    x, y = data(64 - (dist.rank() == 1), "float32")
    try:
        fit(net, make_optimizer("sgd", net), x, y, batch_size=8, epochs=1, verbose=0)
    except dist.DistributedError as err:
        print(f"rank {dist.rank()}: {err}", file=sys.stderr)
        raise SystemExit(3) from None


def threads(args: argparse.Namespace) -> None:
    dist.init()
    got = dist.allgather_object(cf.get_num_threads())
    if dist.is_root():
        with open(args.out, "w") as f:
            json.dump(got, f)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "overlap", "fails", "disagree", "threads"])
    p.add_argument("out")
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()
    globals()[args.mode](args)


if __name__ == "__main__":
    main()
