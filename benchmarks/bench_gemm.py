"""sgemm against NumPy's BLAS and PyTorch: `cnnfast bench gemm` (cnnfast/bench/gemm.py)."""

from cnnfast.bench.gemm import main

if __name__ == "__main__":
    main()
