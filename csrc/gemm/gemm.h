// General matrix multiply, row-major:  C = alpha * op(A) @ op(B) + beta * C
//
// op(A) is (M, K): A itself (M, K) with row stride lda, or A^T with A (K, M).
// op(B) is (K, N): B itself (K, N) with row stride ldb, or B^T with B (N, K).
// C is (M, N) with row stride ldc. beta == 0 means C is write-only (it may
// hold garbage or NaN), as in BLAS.
//
// Structure follows BLIS: the driver (gemm.cpp) owns cache blocking, packing
// and threads; a microkernel (gemm_ukernel.h) computes one MR x NR tile of C
// from packed panels, chosen at run time for the CPU.
#pragma once

#include "common.h"

namespace cnnfast {

template <class T>
void gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
          const T* B, index_t ldb, T beta, T* C, index_t ldc);

}  // namespace cnnfast
