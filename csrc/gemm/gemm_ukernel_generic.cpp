// Portable microkernel: an MR x NR accumulator tile kept in local arrays,
// which the compiler keeps in vector registers for the baseline ISA.
#include "gemm/gemm_ukernel.h"

namespace cnnfast {

template <class T, int MR, int NR>
void gemm_ukernel_generic(index_t k, const T* a, const T* b, T* c, index_t ldc, T alpha, T beta) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < k; ++p) {
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
    if (beta == T(0)) {
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

template void gemm_ukernel_generic<float, 4, 8>(index_t, const float*, const float*, float*, index_t, float,
                                                float);
template void gemm_ukernel_generic<double, 4, 4>(index_t, const double*, const double*, double*, index_t,
                                                 double, double);

}  // namespace cnnfast
