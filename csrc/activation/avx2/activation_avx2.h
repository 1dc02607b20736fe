#pragma once

#include "common.h"

namespace cnnfast {

// y[i] = tanh(x[i]) for i in [lo, hi) (fast_math.h). AVX2 CPUs only.
void tanh_f32_avx2(index_t lo, index_t hi, const float* x, float* y);

}  // namespace cnnfast
