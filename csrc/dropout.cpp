#include "dropout.h"

#include <cmath>
#include <type_traits>

#include "cpu_features.h"
#include "parallel.h"
#ifdef CNNFAST_HAVE_AVX2_KERNELS
#include "dropout/avx2/dropout_avx2.h"
#endif

namespace cnnfast {

namespace {
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function (Steele, Lea & Flood 2014).
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Element i is kept when its uniform u = (z >> 11) * 2^-53 is >= p, i.e. when the
// 53-bit integer z >> 11 is >= ceil(p * 2^53): the same mask, compared in integers.
inline std::uint64_t keep_threshold(double p) { return static_cast<std::uint64_t>(std::ceil(p * 0x1.0p53)); }

inline bool keep(std::uint64_t key, index_t i, std::uint64_t threshold) {
  const std::uint64_t z = mix64(key + (static_cast<std::uint64_t>(i) + 1) * kGolden);
  return (z >> 11) >= threshold;
}

// y[i] = x[i] * m_i (y[i] = m_i without x), m_i = 1/(1-p) where element i is kept,
// else 0. m is keep * scale, not a branch: the mask is random, so a branch would
// mispredict constantly. A plain multiply, as with a stored mask: a NaN or Inf in x
// stays NaN even where dropped (0 * Inf = NaN), so nothing non-finite vanishes
// silently. float on AVX2 CPUs: 8 elements at a time (dropout/avx2), same bits.
template <class T>
void apply_mask(index_t n, const T* x, double p, std::uint64_t seed, T* y) {
  const std::uint64_t key = mix64(seed + kGolden), threshold = keep_threshold(p);
  const T scale = static_cast<T>(p < 1.0 ? 1.0 / (1.0 - p) : 0.0);
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  const bool avx2 = std::is_same<T, float>::value && active_isa() == Isa::avx2;
#endif
  parallel_for(n, index_t{1} << 15, [&](index_t lo, index_t hi) {
    index_t i = lo;
#ifdef CNNFAST_HAVE_AVX2_KERNELS
    if constexpr (std::is_same<T, float>::value) {
      if (avx2) i = dropout_f32_avx2(lo, hi, key, static_cast<std::int64_t>(threshold) - 1, scale, x, y);
    }
#endif
    for (; i < hi; ++i) {
      const T m = static_cast<T>(keep(key, i, threshold)) * scale;
      y[i] = x ? x[i] * m : m;
    }
  });
}
}  // namespace

template <class T>
void dropout_forward(index_t n, const T* x, double p, std::uint64_t seed, T* y) {
  apply_mask<T>(n, x, p, seed, y);
}

template <class T>
void dropout_mask(index_t n, double p, std::uint64_t seed, T* mask) {
  apply_mask<T>(n, static_cast<const T*>(nullptr), p, seed, mask);
}

#define CNNFAST_INSTANTIATE(T)                                                    \
  template void dropout_forward<T>(index_t, const T*, double, std::uint64_t, T*); \
  template void dropout_mask<T>(index_t, double, std::uint64_t, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
