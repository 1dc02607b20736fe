// float microkernel, 6 x 16 tile, AVX2 + FMA (BLIS's haswell shape).
// 12 ymm accumulators (6 rows x 2 vectors of 8), 2 for the B row, 1 for the
// broadcast A element: 15 of the 16 ymm registers.
// Compiled with -mavx2 -mfma (CMakeLists.txt) and called only when the CPU has
// both. Kept free of inline library templates so no AVX2 code leaks into
// functions the generic path shares.
#include <immintrin.h>

#include "gemm/gemm_ukernel.h"

namespace cnnfast {

void sgemm_ukernel_6x16_avx2(index_t k, const float* a, const float* b, float* c, index_t ldc,
                             float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (index_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ai;
    ai = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += 6;
    b += 16;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  auto store_row = [&](float* ci, __m256 lo, __m256 hi) {
    lo = _mm256_mul_ps(va, lo);
    hi = _mm256_mul_ps(va, hi);
    if (beta != 0.0f) {
      const __m256 vb = _mm256_set1_ps(beta);
      lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), lo);
      hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), hi);
    }
    _mm256_storeu_ps(ci, lo);
    _mm256_storeu_ps(ci + 8, hi);
  };
  store_row(c + 0 * ldc, c00, c01);
  store_row(c + 1 * ldc, c10, c11);
  store_row(c + 2 * ldc, c20, c21);
  store_row(c + 3 * ldc, c30, c31);
  store_row(c + 4 * ldc, c40, c41);
  store_row(c + 5 * ldc, c50, c51);
}

}  // namespace cnnfast
