// The direct convolution's 6 x 16 microkernels (forward, weight gradient): the GEMM microkernel's register
// tile (gemm/avx2/tile_6x2_avx2.h), with B read in place from the padded input
// plane through a row-offset table instead of from a packed panel.
#include "conv2d/avx2/conv_direct_avx2.h"

#include "gemm/avx2/tile_6x2_avx2.h"

namespace cnnfast {

void sconv_direct_6x16_avx2(index_t k, const float* a, const float* x, const std::int32_t* off, float* c,
                            index_t ldc, bool accumulate) {
  Tile6x2<float> acc;
  for (index_t p = 0; p < k; ++p, a += 6) acc.fma_row(a, x + off[p]);
  acc.store_sum(c, ldc, accumulate);
}

void sconv_wgrad_6x16_avx2(index_t L, const float* const rows[6], const std::int32_t* pos, const float* b,
                           float* c, index_t ldc) {
  const float* const r[6] = {rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]};
  Tile6x2<float> acc;
  for (index_t l = 0; l < L; ++l, b += 16) acc.fma_row_gathered(r, pos[l], b);
  acc.store_sum(c, ldc, true);
}

}  // namespace cnnfast
