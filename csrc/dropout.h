// Inverted dropout with a counter-based mask: element i is kept when
//   u_i = (splitmix64(key + (i+1) * 0x9E3779B97F4A7C15) >> 11) * 2^-53  >=  p,
// with key = splitmix64(seed + 0x9E3779B97F4A7C15), and kept elements are
// scaled by 1/(1-p). The mask is a pure function of (seed, i): it does not
// depend on the thread count, and backward regenerates it instead of storing it.
#pragma once

#include <cstdint>

#include "common.h"

namespace cnnfast {

// y = x * mask(seed, p); also the backward (dx = dy * mask). 0 <= p <= 1; p == 1 drops everything.
template <class T>
void dropout_forward(index_t n, const T* x, double p, std::uint64_t seed, T* y);

// The mask itself: 0 or 1/(1-p).
template <class T>
void dropout_mask(index_t n, double p, std::uint64_t seed, T* mask);

}  // namespace cnnfast
