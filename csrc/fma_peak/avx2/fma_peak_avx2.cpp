// The machine's float32 FMA ceiling for `cnnfast bench --peak`: 12 independent
// chains of 8-wide FMAs per thread (enough to cover FMA latency x 2 pipes), no
// memory traffic. Compiled with -mavx2 -mfma.
#include "fma_peak/avx2/fma_peak_avx2.h"

#include <immintrin.h>

namespace cnnfast {

float fma_chains_avx2(long iterations, float seed) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(seed * static_cast<float>(i + 1));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0] + out[7];
}

}  // namespace cnnfast
