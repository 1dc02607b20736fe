// Several A matrices packed once as the GEMM microkernel's row panels, for drivers
// that call the microkernel themselves (Winograd: one matrix per transform point;
// the direct convolution: one per group). Not for the */avx2/ sources, which must
// stay free of inline templates the generic build shares.
#pragma once

#include <algorithm>

#include "common.h"
#include "parallel.h"

namespace cnnfast {

// A_m = U[m] (K x C, row-major), m < count. For each m and each block cb of at most KC
// columns, A_m cut into MR-row micro-panels:
//   out[((m * cblocks + cb) * mpanels + ip) * MR * KC + ip_offset],
//   ip_offset = ip * MR * kcb + p * MR + i   (kcb: the block's width)
// i.e. a block's panels back to back, each kcb x MR; rows past K are zero.
template <class T>
void pack_a_blocks(index_t count, index_t K, index_t C, const T* U, int MR, index_t KC, T* out) {
  const index_t mpanels = ceil_div(K, MR), cblocks = ceil_div(C, KC);
  parallel_for(count * cblocks, 1, [&](index_t lo, index_t hi) {
    for (index_t mc = lo; mc < hi; ++mc) {
      const index_t m = mc / cblocks, cb = mc % cblocks, c0 = cb * KC, kcb = std::min(KC, C - c0);
      T* dst = out + mc * mpanels * MR * KC;
      for (index_t ip = 0; ip < mpanels; ++ip)
        for (index_t p = 0; p < kcb; ++p)
          for (int i = 0; i < MR; ++i) {
            const index_t k = ip * MR + i;
            dst[ip * MR * kcb + p * MR + i] = k < K ? U[(m * K + k) * C + c0 + p] : T(0);
          }
    }
  });
}

}  // namespace cnnfast
