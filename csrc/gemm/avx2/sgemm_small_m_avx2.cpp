// float GEMM for few rows of C (M <= 16), B read straight from memory, AVX2 + FMA.
// See gemm.cpp (gemm_small_m) for when and why. Every C element is one thread's
// sum in a fixed order. Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include "gemm/gemm_ukernel.h"

namespace cnnfast {

namespace {

// Sum of the 8 lanes in a fixed order.
inline float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  const __m128 s4 = _mm_add_ps(lo, hi);                     // 4 pairs
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));  // 2
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

}  // namespace

// c[i][j] = sum_p a[i][p] * b[j][p] for j in [j_lo, j_hi): up to 8 rows of a per
// pass over each row of B (8 accumulators of 8 lanes), the K % 8 tail in scalar.
void sgemm_small_m_nt_avx2(index_t M, index_t K, const float* a, const float* b, index_t ldb, float* c,
                           index_t ldc, index_t j_lo, index_t j_hi) {
  const index_t K8 = K / 8 * 8;
  for (index_t j = j_lo; j < j_hi; ++j) {
    const float* bj = b + j * ldb;
    for (index_t i0 = 0; i0 < M; i0 += 8) {
      const index_t rows = M - i0 < 8 ? M - i0 : 8;
      __m256 acc[8];
      for (int r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
      for (index_t p = 0; p < K8; p += 8) {
        const __m256 bv = _mm256_loadu_ps(bj + p);
        for (index_t r = 0; r < rows; ++r)
          acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(a + (i0 + r) * K + p), bv, acc[r]);
      }
      for (index_t r = 0; r < rows; ++r) {
        float tail = 0.0f;
        for (index_t p = K8; p < K; ++p) tail += a[(i0 + r) * K + p] * bj[p];
        c[(i0 + r) * ldc + j] = hsum(acc[r]) + tail;
      }
    }
  }
}

// c[i][j] = sum_p a[i][p] * b[p][j] for j in [j_lo, j_hi): blocks of columns whose
// rows of C stay in L1 while B's rows stream through in order (walking down a
// column of B instead touches a new page per step). Each c[i][j] accumulates in
// p order.
void sgemm_small_m_nn_avx2(index_t M, index_t K, const float* a, const float* b, index_t ldb, float* c,
                           index_t ldc, index_t j_lo, index_t j_hi) {
  constexpr index_t kBlock = 512;
  for (index_t j0 = j_lo; j0 < j_hi; j0 += kBlock) {
    const index_t j1 = j0 + kBlock < j_hi ? j0 + kBlock : j_hi;
    const index_t j8 = j0 + (j1 - j0) / 8 * 8;
    for (index_t i = 0; i < M; ++i)
      for (index_t j = j0; j < j1; ++j) c[i * ldc + j] = 0.0f;
    for (index_t p = 0; p < K; ++p) {
      const float* bp = b + p * ldb;
      for (index_t i = 0; i < M; ++i) {
        const __m256 aip = _mm256_set1_ps(a[i * K + p]);
        float* ci = c + i * ldc;
        for (index_t j = j0; j < j8; j += 8)
          _mm256_storeu_ps(ci + j, _mm256_fmadd_ps(aip, _mm256_loadu_ps(bp + j), _mm256_loadu_ps(ci + j)));
        for (index_t j = j8; j < j1; ++j) ci[j] += a[i * K + p] * bp[j];
      }
    }
  }
}

}  // namespace cnnfast
