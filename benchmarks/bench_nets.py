"""Training steps and inference of the lecture nets: `cnnfast bench nets` (bench/nets.py)."""

from cnnfast.bench.nets import main

if __name__ == "__main__":
    main()
