// The dropout mask of dropout.h in AVX2: SplitMix64 on four 64-bit lanes at a time.
// AVX2 has no 64-bit multiply, so each of SplitMix64's two products is built from
// three 32 x 32 -> 64-bit ones (the low 64 bits of a * b are
// a_lo*b_lo + ((a_hi*b_lo + a_lo*b_hi) << 32)); every other step is a lane-wise
// shift, xor or add. The scalar loop's 64-bit multiplies were the pass's cost
// (4-12 GB/s on the zoo's layers, cnnfast bench roofline), not memory. The bits are
// the scalar code's: tests/test_dropout.py compares with the reference exactly.
// Compiled with -mavx2 -mfma (CMakeLists.txt) and called only on AVX2 CPUs; it
// includes no inline function the generic build also compiles.
#include "dropout/avx2/dropout_avx2.h"

#include <immintrin.h>

namespace cnnfast {

namespace {

// The low 64 bits of a * b in each lane, b a constant with its halves split.
inline __m256i mul64(__m256i a, __m256i b_lo, __m256i b_hi) {
  const __m256i lo = _mm256_mul_epu32(a, b_lo);
  const __m256i cross =
      _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b_lo), _mm256_mul_epu32(a, b_hi));
  return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

struct Mix {
  __m256i c1_lo, c1_hi, c2_lo, c2_hi;
  Mix()
      : c1_lo(_mm256_set1_epi64x(static_cast<long long>(0xBF58476D1CE4E5B9ull & 0xFFFFFFFFull))),
        c1_hi(_mm256_set1_epi64x(static_cast<long long>(0xBF58476D1CE4E5B9ull >> 32))),
        c2_lo(_mm256_set1_epi64x(static_cast<long long>(0x94D049BB133111EBull & 0xFFFFFFFFull))),
        c2_hi(_mm256_set1_epi64x(static_cast<long long>(0x94D049BB133111EBull >> 32))) {}

  // SplitMix64's output function, lane-wise.
  __m256i operator()(__m256i z) const {
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), c1_lo, c1_hi);
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), c2_lo, c2_hi);
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
  }
};

}  // namespace

index_t dropout_f32_avx2(index_t lo, index_t hi, std::uint64_t key, std::int64_t threshold_minus_1,
                         float scale, const float* x, float* y) {
  constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;
  const Mix mix;
  const __m256i threshold = _mm256_set1_epi64x(threshold_minus_1);
  const __m256 vscale = _mm256_set1_ps(scale);
  // The counters key + (i + 1) * golden of lanes i .. i + 3 and i + 4 .. i + 7 (unsigned,
  // wrapping: exactly the scalar arithmetic).
  const std::uint64_t first = key + (static_cast<std::uint64_t>(lo) + 1) * kGolden;
  __m256i c0 = _mm256_set_epi64x(static_cast<long long>(first + 3 * kGolden),
                                 static_cast<long long>(first + 2 * kGolden),
                                 static_cast<long long>(first + kGolden), static_cast<long long>(first));
  __m256i c1 = _mm256_add_epi64(c0, _mm256_set1_epi64x(static_cast<long long>(4 * kGolden)));
  const __m256i step = _mm256_set1_epi64x(static_cast<long long>(8 * kGolden));
  // The low 32 bits of each 64-bit compare result, lanes 0, 2, 4, 6 of each half.
  const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  index_t i = lo;
  for (; i + 8 <= hi; i += 8) {
    // kept where (z >> 11) > threshold - 1: a signed compare suffices (z >> 11 < 2^53)
    const __m256i k0 = _mm256_cmpgt_epi64(_mm256_srli_epi64(mix(c0), 11), threshold);
    const __m256i k1 = _mm256_cmpgt_epi64(_mm256_srli_epi64(mix(c1), 11), threshold);
    const __m128i lo4 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(k0, pick));
    const __m128i hi4 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(k1, pick));
    const __m256 keep = _mm256_castsi256_ps(_mm256_set_m128i(hi4, lo4));
    const __m256 m = _mm256_and_ps(keep, vscale);
    // (a multiply, as the scalar loop: a NaN in x stays NaN where dropped)
    _mm256_storeu_ps(y + i, x ? _mm256_mul_ps(_mm256_loadu_ps(x + i), m) : m);
    c0 = _mm256_add_epi64(c0, step);
    c1 = _mm256_add_epi64(c1, step);
  }
  return i;
}

}  // namespace cnnfast
