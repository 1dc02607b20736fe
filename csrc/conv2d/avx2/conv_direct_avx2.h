#pragma once

#include <cstdint>

#include "common.h"

namespace cnnfast {

// The direct convolution's microkernel (conv2d_direct.cpp), 6 x 16, AVX2 + FMA:
//   c[i*ldc + j] (+)= sum_p a[p*6 + i] * x[off[p] + j]   0 <= i < 6, 0 <= j < 16
// `a`: a packed 6-row panel of filters; `x + off[p]`: row p of the implicit
// column matrix, a shifted window of the padded input plane. accumulate = false
// overwrites c. AVX2 CPUs only.
void sconv_direct_6x16_avx2(index_t k, const float* a, const float* x, const std::int32_t* off, float* c,
                            index_t ldc, bool accumulate);

// The direct weight gradient's microkernel, 6 x 16, AVX2 + FMA:
//   c[i*ldc + j] += sum_l rows[i][pos[l]] * b[l*16 + j]   0 <= i < 6, 0 <= j < 16
// rows[i]: the padded input plane shifted by (c,r,s) row i's offset; pos[l]: where
// pixel l of the chunk sits in the plane; b: dy transposed, 16 output channels
// per pixel. AVX2 CPUs only.
void sconv_wgrad_6x16_avx2(index_t L, const float* const rows[6], const std::int32_t* pos, const float* b,
                           float* c, index_t ldc);

}  // namespace cnnfast
