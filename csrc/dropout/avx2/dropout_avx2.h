// dropout.cpp's counter-based mask, 8 floats at a time with AVX2 (dropout_avx2.cpp).
#pragma once

#include <cstdint>

#include "common.h"

namespace cnnfast {

// For i in [lo, lo + 8 * floor((hi - lo) / 8)): y[i] = x[i] * m_i, or y[i] = m_i when
// x is null, m_i = scale where element i is kept (dropout.h's rule, the same bits as
// the scalar loop), else 0. Returns the first index it did not reach (the caller
// finishes the tail). `threshold_minus_1` is dropout.cpp's keep threshold minus 1.
index_t dropout_f32_avx2(index_t lo, index_t hi, std::uint64_t key, std::int64_t threshold_minus_1,
                         float scale, const float* x, float* y);

}  // namespace cnnfast
