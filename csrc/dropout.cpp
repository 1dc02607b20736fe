#include "dropout.h"

#include <cmath>

#include "parallel.h"

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

// f(i, m) with m = 1/(1-p) where element i is kept, else 0. m is keep * scale, not
// a branch: the mask is random, so a branch would mispredict constantly.
template <class T, class F>
void for_mask(index_t n, double p, std::uint64_t seed, F&& f) {
  const std::uint64_t key = mix64(seed + kGolden), threshold = keep_threshold(p);
  const T scale = static_cast<T>(p < 1.0 ? 1.0 / (1.0 - p) : 0.0);
  parallel_for(n, index_t{1} << 15, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) f(i, static_cast<T>(keep(key, i, threshold)) * scale);
  });
}
}  // namespace

template <class T>
void dropout_forward(index_t n, const T* x, double p, std::uint64_t seed, T* y) {
  // A plain multiply, as with a stored mask: a NaN or Inf in x stays NaN even
  // where dropped (0 * Inf = NaN), so nothing non-finite vanishes silently.
  for_mask<T>(n, p, seed, [&](index_t i, T m) { y[i] = x[i] * m; });
}

template <class T>
void dropout_mask(index_t n, double p, std::uint64_t seed, T* mask) {
  for_mask<T>(n, p, seed, [&](index_t i, T m) { mask[i] = m; });
}

#define CNNFAST_INSTANTIATE(T)                                                    \
  template void dropout_forward<T>(index_t, const T*, double, std::uint64_t, T*); \
  template void dropout_mask<T>(index_t, double, std::uint64_t, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
