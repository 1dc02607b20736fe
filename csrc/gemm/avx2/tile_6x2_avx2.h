// The register tile every AVX2 microkernel here is built on (BLIS's haswell
// shape): 6 rows x 2 vectors of accumulators (12 ymm), 2 ymm for a row of B and
// 1 for the broadcast A element: 15 of the 16 ymm registers. float: 6 x 16;
// double: 6 x 8. Include only from sources compiled with -mavx2 -mfma.
//
// The loops below have constant trip counts and the arrays constant indices, so
// GCC unrolls them and keeps every accumulator in a register (the microkernels
// run at the speed of the hand-unrolled originals, checked with perf).
#pragma once

#include <immintrin.h>

#include "common.h"

#define CNNFAST_TILE_INLINE inline __attribute__((always_inline))

namespace cnnfast {

template <class T>
struct Avx2Vec;

template <>
struct Avx2Vec<float> {
  using V = __m256;
  static constexpr int lanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};

template <>
struct Avx2Vec<double> {
  using V = __m256d;
  static constexpr int lanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double v) { return _mm256_set1_pd(v); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};

template <class T>
struct Tile6x2 {
  using Vec = Avx2Vec<T>;
  using V = typename Vec::V;
  static constexpr int width = 2 * Vec::lanes;  // NR
  V c[6][2];

  CNNFAST_TILE_INLINE Tile6x2() {
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) c[i][0] = c[i][1] = Vec::zero();
  }

  // c[i][:] += a[i] * b[:] for the 6 rows, b = one row of B (width elements).
  CNNFAST_TILE_INLINE void fma_row(const T* a, const T* b) {
    const V b0 = Vec::load(b), b1 = Vec::load(b + Vec::lanes);
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) {
      const V ai = Vec::broadcast(a + i);
      c[i][0] = Vec::fma(ai, b0, c[i][0]);
      c[i][1] = Vec::fma(ai, b1, c[i][1]);
    }
  }

  // The same with row i's A element at a_rows[i][at] (gathered, not packed).
  CNNFAST_TILE_INLINE void fma_row_gathered(const T* const a_rows[6], index_t at, const T* b) {
    const V b0 = Vec::load(b), b1 = Vec::load(b + Vec::lanes);
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) {
      const V ai = Vec::broadcast(a_rows[i] + at);
      c[i][0] = Vec::fma(ai, b0, c[i][0]);
      c[i][1] = Vec::fma(ai, b1, c[i][1]);
    }
  }

  // C = alpha * c + beta * C, row stride ldc; beta == 0: C is not read.
  CNNFAST_TILE_INLINE void store_scaled(T* C, index_t ldc, T alpha, T beta) const {
    const V va = Vec::set1(alpha), vb = Vec::set1(beta);
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) {
      T* ci = C + i * ldc;
      V lo = Vec::mul(va, c[i][0]), hi = Vec::mul(va, c[i][1]);
      if (beta != T(0)) {
        lo = Vec::fma(vb, Vec::load(ci), lo);
        hi = Vec::fma(vb, Vec::load(ci + Vec::lanes), hi);
      }
      Vec::store(ci, lo);
      Vec::store(ci + Vec::lanes, hi);
    }
  }

  // C = c, or C += c when accumulate.
  CNNFAST_TILE_INLINE void store_sum(T* C, index_t ldc, bool accumulate) const {
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) {
      T* ci = C + i * ldc;
      V lo = c[i][0], hi = c[i][1];
      if (accumulate) {
        lo = Vec::add(lo, Vec::load(ci));
        hi = Vec::add(hi, Vec::load(ci + Vec::lanes));
      }
      Vec::store(ci, lo);
      Vec::store(ci + Vec::lanes, hi);
    }
  }
};

}  // namespace cnnfast
