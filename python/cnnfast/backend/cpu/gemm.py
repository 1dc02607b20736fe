"""C = op(A) op(B): csrc/gemm/ (the BLIS-style driver and its microkernels)."""

from ..._C import matmul

__all__ = ["matmul"]
