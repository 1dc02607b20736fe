// Tiled SGEMM kernel, row-major: C = alpha * A (M x K) @ B (K x N) + beta * C.
// A block of 16 x 16 threads computes a 64 x 64 tile of C, each thread a 4 x 4
// register block; 64 x 16 panels of A and 16 x 64 panels of B are staged in shared
// memory (A transposed, so a thread's 4 rows are contiguous), zero-filled past the
// matrix edges. beta == 0 means C is not read.
// Written once for nvcc and the host emulator (compat.h); included by
// cuda/emulated.cpp and, in CUDA builds, cuda/device.cu.
#pragma once

#include "cuda/compat.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

constexpr int kGemmTile = 64, kGemmDepth = 16, kGemmThreads = 16, kGemmPerThread = 4;

CNNFAST_GLOBAL void sgemm_tiled(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                                float beta, float* C, int ldc) {
  CNNFAST_SHARED float As[kGemmDepth][kGemmTile];  // As[k][m]
  CNNFAST_SHARED float Bs[kGemmDepth][kGemmTile];  // Bs[k][n]
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int tid = ty * kGemmThreads + tx, team = kGemmThreads * kGemmThreads;
  const int row0 = static_cast<int>(blockIdx.y) * kGemmTile, col0 = static_cast<int>(blockIdx.x) * kGemmTile;
  float acc[kGemmPerThread][kGemmPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kGemmDepth) {
    for (int i = tid; i < kGemmTile * kGemmDepth; i += team) {
      const int m = i / kGemmDepth, k = i % kGemmDepth, gm = row0 + m, gk = k0 + k;
      As[k][m] = (gm < M && gk < K) ? A[gm * lda + gk] : 0.0f;
    }
    for (int i = tid; i < kGemmDepth * kGemmTile; i += team) {
      const int k = i / kGemmTile, n = i % kGemmTile, gk = k0 + k, gn = col0 + n;
      Bs[k][n] = (gk < K && gn < N) ? B[gk * ldb + gn] : 0.0f;
    }
    CNNFAST_SYNC();  // the panels are complete before anyone reads them
    for (int k = 0; k < kGemmDepth; ++k) {
      float a[kGemmPerThread], b[kGemmPerThread];
      for (int i = 0; i < kGemmPerThread; ++i) a[i] = As[k][ty * kGemmPerThread + i];
      for (int j = 0; j < kGemmPerThread; ++j) b[j] = Bs[k][tx * kGemmPerThread + j];
      for (int i = 0; i < kGemmPerThread; ++i)
        for (int j = 0; j < kGemmPerThread; ++j) acc[i][j] += a[i] * b[j];
    }
    CNNFAST_SYNC();  // everyone is done with the panels before they are overwritten
  }
  for (int i = 0; i < kGemmPerThread; ++i)
    for (int j = 0; j < kGemmPerThread; ++j) {
      const int r = row0 + ty * kGemmPerThread + i, c = col0 + tx * kGemmPerThread + j;
      if (r < M && c < N) C[r * ldc + c] = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * C[r * ldc + c]);
    }
}

// Launches sgemm_tiled over C's 64 x 64 tiles (pointers on the device, or host
// memory for the emulator).
inline void launch_sgemm(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                         float* C, int ldc) {
  const dim3 grid((N + kGemmTile - 1) / kGemmTile, (M + kGemmTile - 1) / kGemmTile);
  const dim3 block(kGemmThreads, kGemmThreads);
  CNNFAST_LAUNCH(sgemm_tiled, grid, block)(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
