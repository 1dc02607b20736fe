"""C = op(A) op(B) on the device: csrc/cuda/gemm.cuh."""

from __future__ import annotations

from ._common import DeviceArray, backend, out


def matmul(a: DeviceArray, b: DeviceArray, trans_a: bool, trans_b: bool) -> DeviceArray:
    M, K = (a.shape[1], a.shape[0]) if trans_a else a.shape
    N = b.shape[0] if trans_b else b.shape[1]
    c = out((M, N), a)
    backend().matmul(a.dtype.name, M, N, K, a.ptr, trans_a, b.ptr, trans_b, c.ptr)
    return c


__all__ = [
    "matmul",
]
