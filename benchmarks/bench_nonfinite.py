"""What conv2d's non-finite scans cost a training step: `cnnfast bench nonfinite`
(cnnfast/bench/nonfinite.py)."""

from cnnfast.bench.nonfinite import main

if __name__ == "__main__":
    main()
