// 2x2 stride-2 max pooling, 8 outputs per step: the two input rows are split
// into their even and odd columns, giving the four cells a b / c d of eight
// windows in four registers; the argmax follows pool2d_argmax.cpp's scalar rule
// (first maximum wins ties; the first NaN wins outright) with masks instead of
// branches. Compiled with -mavx2 -mfma (CMakeLists.txt).
#include "pool2d/avx2/max_pool2x2_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "pool2d/pool2d.h"

namespace cnnfast {

namespace {

// Lane mask for the first n (0..8) of 8 lanes.
inline __m256i first_lanes(index_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// 16 consecutive floats, of which the first n are read (the rest are 0) ->
// (even columns, odd columns), 8 each, in order. Masked loads do not fault, so a
// row's last, partial group needs no scalar tail.
inline void deinterleave(const float* p, index_t n, __m256& even, __m256& odd) {
  const __m256 lo = _mm256_maskload_ps(p, first_lanes(n));
  const __m256 hi = _mm256_maskload_ps(p + 8, first_lanes(n - 8));
  // Within each 128-bit lane: lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6; then fix the lane order.
  const __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
  const __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
  even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
  odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

// (even, odd) -> the first n of 16 interleaved floats at p: deinterleave's inverse.
inline void interleave(float* p, index_t n, __m256 even, __m256 odd) {
  const __m256 lo = _mm256_unpacklo_ps(even, odd);  // e0 o0 e1 o1 | e4 o4 e5 o5
  const __m256 hi = _mm256_unpackhi_ps(even, odd);  // e2 o2 e3 o3 | e6 o6 e7 o7
  _mm256_maskstore_ps(p, first_lanes(n), _mm256_permute2f128_ps(lo, hi, 0x20));
  _mm256_maskstore_ps(p + 8, first_lanes(n - 8), _mm256_permute2f128_ps(lo, hi, 0x31));
}

// The first n of 8 int32 (each 0..255) -> n bytes at p.
inline void store_bytes(std::uint8_t* p, index_t n, __m256i v) {
  const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  alignas(16) std::uint8_t bytes[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(bytes), _mm_packus_epi16(w, w));
  std::memcpy(p, bytes, static_cast<std::size_t>(n));
}

// n (0..8) bytes at p -> 8 int32, zero past n.
inline __m256i load_bytes(const std::uint8_t* p, index_t n) {
  std::uint64_t bytes = 0;
  std::memcpy(&bytes, p, static_cast<std::size_t>(n));
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
}

}  // namespace

index_t max_pool2x2_row_avx2(index_t Q, const float* r0, const float* r1, bool relu, float* y,
                             std::uint8_t* argmax) {
  const __m256 zero = _mm256_setzero_ps();
  for (index_t ow = 0; ow < Q; ow += 8) {
    const index_t n = std::min<index_t>(8, Q - ow);
    __m256 a, b, c, d;
    deinterleave(r0 + 2 * ow, 2 * n, a, b);
    deinterleave(r1 + 2 * ow, 2 * n, c, d);
    __m256 m = a, k = zero;
    __m256 done = _mm256_cmp_ps(a, a, _CMP_UNORD_Q);  // a NaN has won
    const __m256 cand[3] = {b, c, d};
    for (int j = 0; j < 3; ++j) {
      const __m256 v = cand[j];
      const __m256 nan = _mm256_andnot_ps(done, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      const __m256 take = _mm256_or_ps(_mm256_andnot_ps(done, _mm256_cmp_ps(v, m, _CMP_GT_OQ)), nan);
      m = _mm256_blendv_ps(m, v, take);
      k = _mm256_blendv_ps(k, _mm256_set1_ps(static_cast<float>(j + 1)), take);
      done = _mm256_or_ps(done, nan);
    }
    if (relu) {
      // relu(m) = m < 0 ? 0 : m; no gradient where m <= 0 (false for NaN).
      m = _mm256_blendv_ps(m, zero, _mm256_cmp_ps(m, zero, _CMP_LT_OQ));
      k = _mm256_blendv_ps(k, _mm256_set1_ps(kPoolNoGradient), _mm256_cmp_ps(m, zero, _CMP_LE_OQ));
    }
    _mm256_maskstore_ps(y + ow, first_lanes(n), m);
    store_bytes(argmax + ow, n, _mm256_cvtps_epi32(k));
  }
  return Q;
}

index_t max_pool2x2_backward_row_avx2(index_t Q, const std::uint8_t* argmax, const float* dy, float* d0,
                                      float* d1) {
  for (index_t ow = 0; ow < Q; ow += 8) {
    const index_t n = std::min<index_t>(8, Q - ow);
    const __m256i k = load_bytes(argmax + ow, n);
    const __m256 g = _mm256_maskload_ps(dy + ow, first_lanes(n));
    auto at = [&](int cell) {
      return _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(k, _mm256_set1_epi32(cell))));
    };
    interleave(d0 + 2 * ow, 2 * n, at(0), at(1));
    interleave(d1 + 2 * ow, 2 * n, at(2), at(3));
  }
  return Q;
}

}  // namespace cnnfast
