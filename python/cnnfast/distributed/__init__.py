"""cnnfast.distributed: synchronous data-parallel training over MPI (mpi4py).

Launch the MPI way, `mpiexec -n 4 cnnfast train keras-mnist-2conv` or
`mpiexec -n 4 python script.py`: fit(), `cnnfast train` and the Keras front end's
model.fit notice the launcher and train one replica per rank, each on its shard of
every global batch, with gradients averaged by DistributedOptimizer while backward
runs. A plain run is a world of one rank and never imports mpi4py.
"""

from .comm import (
    DistributedError,
    abort,
    allgather_object,
    allgather_rows,
    allreduce,
    barrier,
    broadcast,
    broadcast_object,
    ensure_initialized,
    init,
    is_initialized,
    is_root,
    launched,
    local_rank,
    local_size,
    rank,
    shard_bounds,
    size,
)
from .optimizer import DEFAULT_BUCKET_BYTES, DistributedOptimizer, distributed
from .replicas import (
    broadcast_arrays,
    broadcast_optimizer_state,
    broadcast_parameters,
    check_agreement,
    training_facts,
)

__all__ = [
    "DEFAULT_BUCKET_BYTES",
    "DistributedError",
    "DistributedOptimizer",
    "abort",
    "allgather_object",
    "allgather_rows",
    "allreduce",
    "barrier",
    "broadcast",
    "broadcast_arrays",
    "broadcast_object",
    "broadcast_optimizer_state",
    "broadcast_parameters",
    "check_agreement",
    "distributed",
    "ensure_initialized",
    "init",
    "is_initialized",
    "is_root",
    "launched",
    "local_rank",
    "local_size",
    "rank",
    "shard_bounds",
    "size",
    "training_facts",
]
