"""DistributedOptimizer: gradients averaged over the ranks, reduced while backward runs.

The parameters are grouped into buckets of about `bucket_bytes` each, in reverse
order of creation (the order backward produces their gradients: last layer first)
and never mixing dtypes. Each parameter's post-accumulate-grad hook (cnnfast.tensor)
marks it ready; when every gradient of a bucket is ready the bucket is packed into
one buffer, scaled by this rank's weight, and its non-blocking MPI_Iallreduce (sum)
starts while backward goes on with the earlier layers. `step()` starts what has not
started (a parameter that got no gradient, or a rank with no samples this step,
sends zeros), waits for all, unpacks the sums into every .grad and steps the inner
optimizer.

Buckets start strictly in index order, so every rank issues the same collectives in
the same order: a run is deterministic for a given world size (no dynamic fusion).
MPICH progresses a non-blocking collective only inside MPI calls, so each hook also
calls MPI_Testall on the requests in flight.

The weight: with a global batch of B samples split into parts n_r, the global mean
loss's gradient is sum_r (n_r / B) * grad_r; set_weight(n_r / B) before backward
(fit does); the default 1 / size is the plain average.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import ops
from . import comm

# benchmarks/RESULTS.md, "The bucket size": here MPI_Allreduce is near its best
# bandwidth at 2-8 MiB; over a 10 Gbit/s link a 4 MiB bucket's transfer (3.4 ms) is
# well above the ring's per-message latency at 16 nodes (0.6 ms); and every lecture
# net with more than 4 MiB of gradients still gets several buckets to overlap.
DEFAULT_BUCKET_BYTES = 4 << 20


class _Bucket:
    def __init__(self, index: int, params: list[Any]) -> None:
        self.index = index
        self.params = params
        self.dtype = params[0].data.dtype
        self.offsets = np.concatenate([[0], np.cumsum([p.data.size for p in params])]).astype(
            np.int64
        )
        self.ready = 0
        self.buffer: np.ndarray | None = None
        self.request: Any = None

    def pack(self, weight: float) -> np.ndarray:
        buf = np.empty(int(self.offsets[-1]), self.dtype)
        for p, lo, hi in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            if p.grad is None:
                buf[lo:hi] = 0
            else:
                np.multiply(ops.to_device(p.grad, "cpu").reshape(-1), weight, out=buf[lo:hi])
        self.buffer = buf
        return buf

    def unpack(self) -> None:
        assert self.buffer is not None
        for p, lo, hi in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            p.grad = ops.to_device(self.buffer[lo:hi].reshape(p.data.shape), p.device)
        self.buffer = None


class DistributedOptimizer:
    """Wraps an optimizer so that step() uses gradients averaged over every rank.

    Use it as the optimizer itself: zero_grad(), backward, step(); lr, state_dict()
    and the rest are the inner optimizer's. One backward per step: a second backward
    before step() would add to gradients already sent, and raises. With a world of
    one rank nothing is reduced and it is the inner optimizer.
    """

    def __init__(
        self,
        optimizer: Any,
        model: Any = None,
        bucket_bytes: int = DEFAULT_BUCKET_BYTES,
        record_events: bool = False,
    ) -> None:
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already distributed")
        if bucket_bytes < 1:
            raise ValueError(f"DistributedOptimizer: bucket_bytes must be >= 1, got {bucket_bytes}")
        self.optimizer = optimizer
        params = list(optimizer.params)
        if model is not None:
            owned = {id(p) for p in model.parameters()}
            strangers = [i for i, p in enumerate(params) if id(p) not in owned]
            if strangers:
                raise ValueError(
                    f"DistributedOptimizer: optimizer parameters {strangers} are not the model's"
                )
        self.buckets = self._make_buckets(params, bucket_bytes)
        self._bucket_of = {id(p): b for b in self.buckets for p in b.params}
        self._seen: set[int] = set()
        self._next = 0  # the next bucket to start (they start in index order)
        self.weight = 1.0 / comm.size()
        self.record_events = record_events
        self.events: list[tuple[str, int, float]] = []
        self.wait_seconds = 0.0  # time step() spent waiting for the reductions
        self._handles = []
        if comm.size() > 1:
            self._handles = [p.register_post_accumulate_grad_hook(self._ready) for p in params]

    @staticmethod
    def _make_buckets(params: list[Any], bucket_bytes: int) -> list[_Bucket]:
        buckets: list[_Bucket] = []
        group: list[Any] = []
        nbytes = 0
        for p in reversed(params):
            if group and (nbytes >= bucket_bytes or p.data.dtype != group[0].data.dtype):
                buckets.append(_Bucket(len(buckets), group))
                group, nbytes = [], 0
            group.append(p)
            nbytes += p.data.nbytes
        if group:
            buckets.append(_Bucket(len(buckets), group))
        return buckets

    # --- the inner optimizer's face -----------------------------------------------------
    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = value

    def __getattr__(self, name: str) -> Any:
        # (only reached for what this class does not define: params, hyper, state, ...)
        inner = self.__dict__.get("optimizer")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.optimizer.load_state_dict(state)

    def check_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.optimizer.check_state_dict(state)

    # --- reduction ----------------------------------------------------------------------
    def set_weight(self, weight: float) -> None:
        """This rank's share of the next step's global mean (n_local / n_global)."""
        self.weight = float(weight)

    def _event(self, kind: str, index: int) -> None:
        if self.record_events:
            self.events.append((kind, index, time.perf_counter()))

    def _ready(self, p: Any) -> None:
        key = id(p)
        bucket = self._bucket_of[key]
        if key in self._seen:
            raise RuntimeError(
                "DistributedOptimizer: a second backward() before step(); its gradients "
                "were already sent (one backward per step)"
            )
        self._seen.add(key)
        self._event("grad", bucket.index)
        bucket.ready += 1
        while self._next < len(self.buckets):
            b = self.buckets[self._next]
            if b.ready < len(b.params):
                break
            self._start(b)
        self._progress()

    def _start(self, b: _Bucket) -> None:
        world = comm.world()
        b.request = world.comm.Iallreduce(world.MPI.IN_PLACE, b.pack(self.weight), world.MPI.SUM)
        self._event("start", b.index)
        self._next += 1

    def _progress(self) -> None:
        pending = [b.request for b in self.buckets[: self._next] if b.request is not None]
        if pending:
            comm.mpi().Request.Testall(pending)

    def synchronize(self) -> None:
        """Start every bucket not yet started, wait for all, and put the reduced
        gradients in .grad (step() calls it)."""
        if comm.size() == 1:
            return
        while self._next < len(self.buckets):
            self._start(self.buckets[self._next])
        t0 = time.perf_counter()
        comm.mpi().Request.Waitall([b.request for b in self.buckets])
        self.wait_seconds = time.perf_counter() - t0
        self._event("done", len(self.buckets))
        for b in self.buckets:
            b.unpack()
            b.request, b.ready = None, 0
        self._seen.clear()
        self._next = 0

    def step(self) -> None:
        self.synchronize()
        self.optimizer.step()
        self.weight = 1.0 / comm.size()

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def distributed(optimizer: Any, model: Any = None, **options: Any) -> Any:
    """`optimizer` made distributed (itself when it already is)."""
    if isinstance(optimizer, DistributedOptimizer):
        return optimizer
    return DistributedOptimizer(optimizer, model, **options)
