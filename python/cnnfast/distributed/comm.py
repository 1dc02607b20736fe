"""The MPI world: start-up, who is who, and the collectives cnnfast needs.

MPI comes from mpi4py (`pip install "cnnfast[mpi]"`: mpi4py and the `mpich` wheel, or
a site MPI that mpi4py is built against), imported only when a run is distributed:
started by an MPI launcher with more than one rank (`mpiexec -n 4 ...`; `launched()`
reads the variables MPICH's, Open MPI's, PMIx's and MVAPICH's launchers set), or
asked for with `init()`. Otherwise the world is this process alone and every
function here answers for a world of size 1 without touching MPI.

`init()` also
- gives each rank its share of the node's cores as kernel threads (unless
  CNNFAST_NUM_THREADS or OMP_NUM_THREADS say otherwise): two ranks on two cores
  must not start two threads each;
- makes an uncaught exception on any rank abort the whole job (MPI_Abort), so the
  other ranks stop instead of waiting for it in a collective forever;
- silences stdout on ranks other than 0 (`quiet=False` keeps it), so a script
  launched under mpiexec prints once; stderr, where errors go, stays.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any

import numpy as np

# (variable holding the world size, variable holding this process's rank) per launcher
_LAUNCHER_VARIABLES = (
    ("PMI_SIZE", "PMI_RANK"),  # MPICH's hydra, Intel MPI
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),  # Open MPI
    ("PMIX_SIZE", "PMIX_RANK"),  # PMIx launchers
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),  # MVAPICH
)

INSTALL_HINT = (
    "cnnfast.distributed needs mpi4py and an MPI library: pip install 'cnnfast[mpi]' "
    "(mpi4py with the mpich wheel), or mpi4py built against your cluster's MPI"
)


class DistributedError(RuntimeError):
    """Ranks that cannot train together (they disagree, or MPI is missing)."""


class _World:
    """The initialised world: mpi4py's COMM_WORLD and the node-local communicator."""

    def __init__(self, mpi: Any) -> None:
        self.MPI = mpi
        self.comm = mpi.COMM_WORLD
        self.local = self.comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.comm.Get_rank())
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.local_rank = self.local.Get_rank()
        self.local_size = self.local.Get_size()


_world: _World | None = None


def launched() -> bool:
    """Whether an MPI launcher started this process as one of several ranks."""
    for size_var, _ in _LAUNCHER_VARIABLES:
        value = os.environ.get(size_var, "")
        if value.isdigit() and int(value) > 1:
            return True
    return False


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise DistributedError(INSTALL_HINT) from err
    return MPI


def init(threads: int | None = None, quiet: bool = True) -> None:
    """Join the MPI world (once; later calls do nothing). `threads`: kernel threads
    per rank (default: the cores this node's ranks may run on, shared among them)."""
    global _world
    if _world is not None:
        return
    _world = _World(_import_mpi())
    if _world.size > 1:
        _install_abort_on_exception()
        if quiet and _world.rank != 0:
            sys.stdout = open(os.devnull, "w")
    _set_threads(threads)


def is_initialized() -> bool:
    return _world is not None


def ensure_initialized() -> bool:
    """init() when a launcher started several ranks; whether the run is distributed
    (more than one rank). What fit() and the CLI call: a plain run stays plain."""
    if _world is None and launched():
        init()
    return size() > 1


def rank() -> int:
    return _world.rank if _world is not None else 0


def size() -> int:
    return _world.size if _world is not None else 1


def local_rank() -> int:
    return _world.local_rank if _world is not None else 0


def local_size() -> int:
    return _world.local_size if _world is not None else 1


def is_root() -> bool:
    """Whether this is rank 0, the rank that writes files and prints."""
    return rank() == 0


def world() -> _World:
    if _world is None:
        raise DistributedError("cnnfast.distributed.init() has not been called")
    return _world


def mpi() -> Any:
    """mpi4py's MPI module (the world must be initialised)."""
    return world().MPI


def barrier() -> None:
    if size() > 1:
        world().comm.Barrier()


# How long abort() lets the launcher forward this rank's stderr before MPI_Abort: the
# launcher kills the job at once and drops what it has not yet read from the rank's
# pipe (seen with MPICH's hydra: a traceback cut off, the message lost, about 1 in 16
# aborts with the cores busy).
ABORT_GRACE_SECONDS = 0.5


def abort(message: str, code: int = 1) -> None:
    """Print `message` on stderr and end every rank of the job (MPI_Abort)."""
    print(f"cnnfast.distributed: rank {rank()}: {message}", file=sys.stderr, flush=True)
    if _world is not None and _world.size > 1:
        time.sleep(ABORT_GRACE_SECONDS)
        _world.comm.Abort(code)
    raise SystemExit(code)


def _install_abort_on_exception() -> None:
    """An uncaught exception on one rank ends the job: without this the others would
    wait in their next collective for a rank that is gone (mpi4py's `-m mpi4py` does
    the same for scripts started that way)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        previous(kind, value, tb)
        message = "".join(traceback.format_exception_only(kind, value)).strip()
        abort(f"stopping every rank after an uncaught exception: {message}")

    sys.excepthook = hook


def _set_threads(threads: int | None) -> None:
    """Each rank's kernel threads: given, else the environment's, else the cores the
    node's ranks may run on divided among them (a rank bound to its own cores by the
    launcher keeps those)."""
    from .. import set_num_threads

    if threads is None:
        if os.environ.get("CNNFAST_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS"):
            return
        mine = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
        if not mine:
            mine = set(range(os.cpu_count() or 1))
        sets = world().local.allgather(sorted(mine)) if size() > 1 else [sorted(mine)]
        union = set().union(*map(set, sets))
        disjoint = sum(len(s) for s in sets) == len(union)
        threads = len(mine) if disjoint else max(1, len(union) // len(sets))
    set_num_threads(int(threads))


# --- collectives on NumPy arrays ------------------------------------------------------


def _host(array: Any) -> np.ndarray:
    from .. import ops

    return np.require(ops.to_device(array, "cpu"), requirements="C")  # (keeps 0-d 0-d)


def allreduce(array: Any, average: bool = True) -> np.ndarray:
    """The element-wise sum (average=True: mean) of `array` over every rank, as a new
    host array of the same dtype and shape. Every rank must pass the same shape."""
    a = _host(array)
    out = a.copy()
    if size() > 1:
        world().comm.Allreduce(mpi().IN_PLACE, out, op=mpi().SUM)
        if average:
            out /= size()
    return out


def broadcast(array: np.ndarray, root: int = 0) -> np.ndarray:
    """Overwrite `array` (a contiguous host array) with root's, in place; returns it."""
    if size() > 1:
        world().comm.Bcast(array, root=root)
    return array


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """Root's `obj` on every rank (pickled: small things only, never arrays of data)."""
    return world().comm.bcast(obj, root=root) if size() > 1 else obj


def allgather_object(obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (small things only)."""
    return world().comm.allgather(obj) if size() > 1 else [obj]


def allgather_rows(array: Any) -> np.ndarray:
    """Every rank's rows (same trailing shape and dtype, any row count each) joined in
    rank order: each rank's shard of a prediction made whole."""
    a = _host(array)
    if size() == 1:
        return a
    counts = world().comm.allgather(len(a))
    row = int(np.prod(a.shape[1:], dtype=np.int64))
    out = np.empty((sum(counts), *a.shape[1:]), a.dtype)
    world().comm.Allgatherv(a.reshape(-1), [out.reshape(-1), [c * row for c in counts]])
    return out


def shard_bounds(n: int, rank_: int | None = None, size_: int | None = None) -> tuple[int, int]:
    """[lo, hi) of this rank's part of n items: n // size each, the first n % size
    ranks one more (a part may be empty when n < size)."""
    r = rank() if rank_ is None else rank_
    s = size() if size_ is None else size_
    base, extra = divmod(n, s)
    lo = r * base + min(r, extra)
    return lo, lo + base + (1 if r < extra else 0)
