#include "augment.h"

#include <algorithm>
#include <cmath>

#include "parallel.h"

namespace cnnfast {

template <class T>
void affine_sample_bilinear(index_t n, index_t h, index_t w, index_t c, const T* x, const double* matrices,
                            T* y) {
  const double top_row = static_cast<double>(h - 1), last_col = static_cast<double>(w - 1);
  // One piece of work is one output row of one image: n * h of them.
  parallel_for(n * h, 16, [&](index_t lo, index_t hi) {
    for (index_t ir = lo; ir < hi; ++ir) {
      const index_t i = ir / h, r = ir % h;
      const double* m = matrices + i * 6;
      const T* image = x + i * h * w * c;
      T* out = y + (i * h + r) * w * c;
      const double rr = static_cast<double>(r);
      for (index_t col = 0; col < w; ++col) {
        const double cc = static_cast<double>(col);
        const double sr = std::min(std::max(m[0] * rr + m[1] * cc + m[2], 0.0), top_row);
        const double sc = std::min(std::max(m[3] * rr + m[4] * cc + m[5], 0.0), last_col);
        const index_t r0 = static_cast<index_t>(std::floor(sr)), c0 = static_cast<index_t>(std::floor(sc));
        const index_t r1 = std::min(r0 + 1, h - 1), c1 = std::min(c0 + 1, w - 1);
        const double fr = sr - static_cast<double>(r0), fc = sc - static_cast<double>(c0);
        const T* p00 = image + (r0 * w + c0) * c;
        const T* p01 = image + (r0 * w + c1) * c;
        const T* p10 = image + (r1 * w + c0) * c;
        const T* p11 = image + (r1 * w + c1) * c;
        for (index_t k = 0; k < c; ++k) {
          const double top = static_cast<double>(p00[k]) * (1 - fc) + static_cast<double>(p01[k]) * fc;
          const double bottom = static_cast<double>(p10[k]) * (1 - fc) + static_cast<double>(p11[k]) * fc;
          out[col * c + k] = static_cast<T>(top * (1 - fr) + bottom * fr);
        }
      }
    }
  });
}

#define CNNFAST_INSTANTIATE(T) \
  template void affine_sample_bilinear<T>(index_t, index_t, index_t, index_t, const T*, const double*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
