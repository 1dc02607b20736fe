// double microkernel, 6 x 8 tile, AVX2 + FMA: 12 ymm accumulators
// (6 rows x 2 vectors of 4). See sgemm_ukernel_6x16_avx2.cpp for the layout.
#include <immintrin.h>

#include "gemm/gemm_ukernel.h"

namespace cnnfast {

void dgemm_ukernel_6x8_avx2(index_t k, const double* a, const double* b, double* c, index_t ldc,
                            double alpha, double beta) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
  __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
  __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
  __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
  __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
  __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (index_t p = 0; p < k; ++p) {
    const __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
    __m256d ai;
    ai = _mm256_broadcast_sd(a + 0); c00 = _mm256_fmadd_pd(ai, b0, c00); c01 = _mm256_fmadd_pd(ai, b1, c01);
    ai = _mm256_broadcast_sd(a + 1); c10 = _mm256_fmadd_pd(ai, b0, c10); c11 = _mm256_fmadd_pd(ai, b1, c11);
    ai = _mm256_broadcast_sd(a + 2); c20 = _mm256_fmadd_pd(ai, b0, c20); c21 = _mm256_fmadd_pd(ai, b1, c21);
    ai = _mm256_broadcast_sd(a + 3); c30 = _mm256_fmadd_pd(ai, b0, c30); c31 = _mm256_fmadd_pd(ai, b1, c31);
    ai = _mm256_broadcast_sd(a + 4); c40 = _mm256_fmadd_pd(ai, b0, c40); c41 = _mm256_fmadd_pd(ai, b1, c41);
    ai = _mm256_broadcast_sd(a + 5); c50 = _mm256_fmadd_pd(ai, b0, c50); c51 = _mm256_fmadd_pd(ai, b1, c51);
    a += 6;
    b += 8;
  }
  const __m256d va = _mm256_set1_pd(alpha);
  auto store_row = [&](double* ci, __m256d lo, __m256d hi) {
    lo = _mm256_mul_pd(va, lo);
    hi = _mm256_mul_pd(va, hi);
    if (beta != 0.0) {
      const __m256d vb = _mm256_set1_pd(beta);
      lo = _mm256_fmadd_pd(vb, _mm256_loadu_pd(ci), lo);
      hi = _mm256_fmadd_pd(vb, _mm256_loadu_pd(ci + 4), hi);
    }
    _mm256_storeu_pd(ci, lo);
    _mm256_storeu_pd(ci + 4, hi);
  };
  store_row(c + 0 * ldc, c00, c01);
  store_row(c + 1 * ldc, c10, c11);
  store_row(c + 2 * ldc, c20, c21);
  store_row(c + 3 * ldc, c30, c31);
  store_row(c + 4 * ldc, c40, c41);
  store_row(c + 5 * ldc, c50, c51);
}

}  // namespace cnnfast
