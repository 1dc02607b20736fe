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

#include <stdexcept>

#include "cuda/compat.h"
#include "cuda/shapes.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

constexpr int kGemmTile = 64, kGemmDepth = 16, kGemmThreads = 16, kGemmPerThread = 4;
// The most blocks a launch may have along grid y and z (CUDA's limit; x allows 2^31 - 1).
constexpr cuda::index kMaxGridYZ = 65535;

using cuda::index;

// Accessors: a(g, i, k), b(g, k, j) read an element (only called in range);
// c(g, i, j, acc) stores a finished one. Indices are 64-bit: a convolution's
// N*P*Q columns, or a matrix's M*K elements, may pass 2^31.
template <class LoadA, class LoadB, class StoreC, class T>
CNNFAST_GLOBAL void gemm_tiled(index M, index N, index K, index row_tile0, index group0, LoadA a, LoadB b,
                               StoreC c, T /*dtype tag*/) {
  CNNFAST_SHARED T As[kGemmDepth][kGemmTile];  // As[k][m]
  CNNFAST_SHARED T Bs[kGemmDepth][kGemmTile];  // Bs[k][n]
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int tid = ty * kGemmThreads + tx, team = kGemmThreads * kGemmThreads;
  const index row0 = (row_tile0 + blockIdx.y) * kGemmTile, col0 = static_cast<index>(blockIdx.x) * kGemmTile;
  const index g = group0 + blockIdx.z;
  T acc[kGemmPerThread][kGemmPerThread] = {};
  for (index k0 = 0; k0 < K; k0 += kGemmDepth) {
    for (int i = tid; i < kGemmTile * kGemmDepth; i += team) {
      const int m = i / kGemmDepth, k = i % kGemmDepth;
      const index gm = row0 + m, gk = k0 + k;
      As[k][m] = (gm < M && gk < K) ? a(g, gm, gk) : T(0);
    }
    for (int i = tid; i < kGemmDepth * kGemmTile; i += team) {
      const int k = i / kGemmTile, n = i % kGemmTile;
      const index gk = k0 + k, gn = col0 + n;
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
      const index r = row0 + ty * kGemmPerThread + i, col = col0 + tx * kGemmPerThread + j;
      if (r < M && col < N) c(g, r, col, acc[i][j]);
    }
}

// Launches gemm_tiled over C's 64 x 64 tiles, `groups` GEMMs side by side. Rows of
// tiles and groups past CUDA's 65535 blocks along y and z go in further launches;
// columns of tiles must fit grid x (2^31 - 1 blocks: N < 2^37).
template <class T, class LoadA, class LoadB, class StoreC>
void launch_gemm(index M, index N, index K, index groups, LoadA a, LoadB b, StoreC c) {
  if (M <= 0 || N <= 0 || groups <= 0) return;
  const index col_tiles = (N + kGemmTile - 1) / kGemmTile, row_tiles = (M + kGemmTile - 1) / kGemmTile;
  if (col_tiles > 0x7fffffff) throw std::overflow_error("a CUDA GEMM with more than 2^37 columns");
  const dim3 block(kGemmThreads, kGemmThreads);
  auto* kernel = &gemm_tiled<LoadA, LoadB, StoreC, T>;
  for (index g0 = 0; g0 < groups; g0 += kMaxGridYZ)
    for (index r0 = 0; r0 < row_tiles; r0 += kMaxGridYZ) {
      const index rows = row_tiles - r0 < kMaxGridYZ ? row_tiles - r0 : kMaxGridYZ;
      const index gs = groups - g0 < kMaxGridYZ ? groups - g0 : kMaxGridYZ;
      const dim3 grid(static_cast<unsigned>(col_tiles), static_cast<unsigned>(rows),
                      static_cast<unsigned>(gs));
      CNNFAST_LAUNCH(kernel, grid, block)(M, N, K, r0, g0, a, b, c, T(0));
      CNNFAST_CHECK_LAUNCH();
    }
}

// A row-major matrix, read as itself or transposed: element (i, k) of op(A).
template <class T>
struct MatrixRead {
  const T* p;
  index ld;
  bool trans;
  CNNFAST_DEVICE T operator()(index, index i, index k) const { return trans ? p[k * ld + i] : p[i * ld + k]; }
};

// C = alpha * acc + beta * C, row-major; beta == 0 does not read C.
template <class T>
struct MatrixUpdate {
  T* p;
  index ld;
  T alpha, beta;
  CNNFAST_DEVICE void operator()(index, index i, index j, T acc) const {
    T* out = p + i * ld + j;
    *out = beta == T(0) ? alpha * acc : alpha * acc + beta * *out;
  }
};

// C = alpha * op(A) @ op(B) + beta * C for row-major A, B, C with leading dimensions.
template <class T>
void launch_matmul(index M, index N, index K, T alpha, const T* A, index lda, bool trans_a, const T* B,
                   index ldb, bool trans_b, T beta, T* C, index ldc) {
  launch_gemm<T>(M, N, K, 1, MatrixRead<T>{A, lda, trans_a}, MatrixRead<T>{B, ldb, trans_b},
                 MatrixUpdate<T>{C, ldc, alpha, beta});
}

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
