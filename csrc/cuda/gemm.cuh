// The tiled GEMM kernel every matrix product of the CUDA backend runs on:
// C = A (M x K) @ B (K x N), where A, B and C are not arrays but accessors, so one
// kernel serves plain matrices (transposed or not) and the three convolution passes
// as implicit GEMMs (conv2d.cuh: the im2col matrix is gathered straight from the
// input into shared memory, never stored).
//
// A block of 16 x 16 threads computes a 64 x 64 tile of C, each thread a 4 x 4
// register block; 64 x 16 panels of A and 16 x 64 panels of B are staged in shared
// memory (A transposed, so a thread's 4 rows are contiguous), zero-filled past the
// edges. blockIdx.z is the group (grouped convolution: one GEMM per group).
// Written once for nvcc and the host emulator (compat.h).
#pragma once

#include "cuda/compat.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

constexpr int kGemmTile = 64, kGemmDepth = 16, kGemmThreads = 16, kGemmPerThread = 4;

// Accessors: a(g, i, k), b(g, k, j) read an element (only called in range);
// c(g, i, j, acc) stores a finished one.
template <class LoadA, class LoadB, class StoreC, class T>
CNNFAST_GLOBAL void gemm_tiled(int M, int N, int K, LoadA a, LoadB b, StoreC c, T /*dtype tag*/) {
  CNNFAST_SHARED T As[kGemmDepth][kGemmTile];  // As[k][m]
  CNNFAST_SHARED T Bs[kGemmDepth][kGemmTile];  // Bs[k][n]
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int tid = ty * kGemmThreads + tx, team = kGemmThreads * kGemmThreads;
  const int row0 = static_cast<int>(blockIdx.y) * kGemmTile, col0 = static_cast<int>(blockIdx.x) * kGemmTile;
  const int g = static_cast<int>(blockIdx.z);
  T acc[kGemmPerThread][kGemmPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kGemmDepth) {
    for (int i = tid; i < kGemmTile * kGemmDepth; i += team) {
      const int m = i / kGemmDepth, k = i % kGemmDepth, gm = row0 + m, gk = k0 + k;
      As[k][m] = (gm < M && gk < K) ? a(g, gm, gk) : T(0);
    }
    for (int i = tid; i < kGemmDepth * kGemmTile; i += team) {
      const int k = i / kGemmTile, n = i % kGemmTile, gk = k0 + k, gn = col0 + n;
      Bs[k][n] = (gk < K && gn < N) ? b(g, gk, gn) : T(0);
    }
    CNNFAST_SYNC();  // the panels are complete before anyone reads them
    for (int k = 0; k < kGemmDepth; ++k) {
      T av[kGemmPerThread], bv[kGemmPerThread];
      for (int i = 0; i < kGemmPerThread; ++i) av[i] = As[k][ty * kGemmPerThread + i];
      for (int j = 0; j < kGemmPerThread; ++j) bv[j] = Bs[k][tx * kGemmPerThread + j];
      for (int i = 0; i < kGemmPerThread; ++i)
        for (int j = 0; j < kGemmPerThread; ++j) acc[i][j] += av[i] * bv[j];
    }
    CNNFAST_SYNC();  // everyone is done with the panels before they are overwritten
  }
  for (int i = 0; i < kGemmPerThread; ++i)
    for (int j = 0; j < kGemmPerThread; ++j) {
      const int r = row0 + ty * kGemmPerThread + i, col = col0 + tx * kGemmPerThread + j;
      if (r < M && col < N) c(g, r, col, acc[i][j]);
    }
}

// Launches gemm_tiled over C's 64 x 64 tiles, `groups` GEMMs side by side.
template <class T, class LoadA, class LoadB, class StoreC>
void launch_gemm(int M, int N, int K, int groups, LoadA a, LoadB b, StoreC c) {
  if (M <= 0 || N <= 0 || groups <= 0) return;
  const dim3 grid((N + kGemmTile - 1) / kGemmTile, (M + kGemmTile - 1) / kGemmTile, groups);
  const dim3 block(kGemmThreads, kGemmThreads);
  auto* kernel = &gemm_tiled<LoadA, LoadB, StoreC, T>;
  CNNFAST_LAUNCH(kernel, grid, block)(M, N, K, a, b, c, T(0));
  CNNFAST_CHECK_LAUNCH();
}

// A row-major matrix, read as itself or transposed: element (i, k) of op(A).
template <class T>
struct MatrixRead {
  const T* p;
  int ld;
  bool trans;
  CNNFAST_DEVICE T operator()(int, int i, int k) const { return trans ? p[k * ld + i] : p[i * ld + k]; }
};

// C = alpha * acc + beta * C, row-major; beta == 0 does not read C.
template <class T>
struct MatrixUpdate {
  T* p;
  int ld;
  T alpha, beta;
  CNNFAST_DEVICE void operator()(int, int i, int j, T acc) const {
    T* out = p + i * ld + j;
    *out = beta == T(0) ? alpha * acc : alpha * acc + beta * *out;
  }
};

// C = alpha * op(A) @ op(B) + beta * C for row-major A, B, C with leading dimensions.
template <class T>
void launch_matmul(int M, int N, int K, T alpha, const T* A, int lda, bool trans_a, const T* B, int ldb,
                   bool trans_b, T beta, T* C, int ldc) {
  launch_gemm<T>(M, N, K, 1, MatrixRead<T>{A, lda, trans_a}, MatrixRead<T>{B, ldb, trans_b},
                 MatrixUpdate<T>{C, ldc, alpha, beta});
}

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
