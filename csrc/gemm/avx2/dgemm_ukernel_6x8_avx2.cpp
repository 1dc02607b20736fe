// double microkernel, 6 x 8 tile, AVX2 + FMA (tile_6x2_avx2.h).
#include "gemm/avx2/tile_6x2_avx2.h"
#include "gemm/gemm_ukernel.h"

namespace cnnfast {

void dgemm_ukernel_6x8_avx2(index_t k, const double* a, const double* b, double* c, index_t ldc, double alpha,
                            double beta) {
  Tile6x2<double> acc;
  for (index_t p = 0; p < k; ++p, a += 6, b += 8) acc.fma_row(a, b);
  acc.store_scaled(c, ldc, alpha, beta);
}

}  // namespace cnnfast
