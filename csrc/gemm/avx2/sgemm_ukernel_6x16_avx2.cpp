// float microkernel, 6 x 16 tile, AVX2 + FMA (tile_6x2_avx2.h).
// Compiled with -mavx2 -mfma (CMakeLists.txt) and called only when the CPU has
// both. Kept free of inline library templates so no AVX2 code leaks into
// functions the generic path shares.
#include "gemm/avx2/tile_6x2_avx2.h"
#include "gemm/gemm_ukernel.h"

namespace cnnfast {

void sgemm_ukernel_6x16_avx2(index_t k, const float* a, const float* b, float* c, index_t ldc, float alpha,
                             float beta) {
  Tile6x2<float> acc;
  for (index_t p = 0; p < k; ++p, a += 6, b += 16) acc.fma_row(a, b);
  acc.store_scaled(c, ldc, alpha, beta);
}

}  // namespace cnnfast
