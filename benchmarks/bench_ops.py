"""conv2d and pooling on the zoo's layer shapes: `cnnfast bench ops` (see cnnfast/bench/ops.py)."""

from cnnfast.bench.ops import main

if __name__ == "__main__":
    main()
