// AVX2 row kernels for 2x2 stride-2 max pooling on float (see pool2d_argmax.cpp).
// Each handles the Q outputs of one row in groups of 8 (the last one masked, so
// nothing outside the row is read or written) and returns Q. Callable only when
// the CPU has AVX2 (active_isa() == Isa::avx2).
#pragma once

#include <cstdint>

#include "common.h"

namespace cnnfast {

// r0, r1: input rows 2*oh and 2*oh + 1 (at least 2*Q floats each) -> y[0, Q),
// argmax[0, Q) as in max_pool2d_forward_argmax.
index_t max_pool2x2_row_avx2(index_t Q, const float* r0, const float* r1, bool relu, float* y,
                             std::uint8_t* argmax);

// argmax[0, Q), dy[0, Q) -> the 2x2 blocks of dx rows d0, d1, columns [0, 2*Q).
index_t max_pool2x2_backward_row_avx2(index_t Q, const std::uint8_t* argmax, const float* dy, float* d0,
                                      float* d1);

}  // namespace cnnfast
