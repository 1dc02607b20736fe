"""Data-parallel steps over MPI and the N-machine model: `cnnfast bench distributed`
(bench/distributed.py)."""

from cnnfast.bench.distributed import main

if __name__ == "__main__":
    main()
