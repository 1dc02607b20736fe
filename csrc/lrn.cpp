// LRN: a task is one image and a block of pixels; within it, loops run over
// channels outside and contiguous pixels inside.
#include "lrn.h"

#include <algorithm>
#include <cmath>

#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {
constexpr index_t kPixelBlock = 256;

// Runs f(n, p0, p1) for every image n and pixel block [p0, p1).
template <class F>
void for_pixel_blocks(index_t N, index_t C, index_t HW, index_t size, F&& f) {
  const index_t blocks = ceil_div(HW, kPixelBlock);
  const index_t per_task = C * size * kPixelBlock;
  parallel_for(N * blocks, std::max<index_t>(1, (index_t{1} << 16) / std::max<index_t>(per_task, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t t = lo; t < hi; ++t) {
                   const index_t n = t / blocks, p0 = (t % blocks) * kPixelBlock;
                   f(n, p0, std::min(HW, p0 + kPixelBlock));
                 }
               });
}

// s^-beta. AlexNet's beta = 0.75 (and 0.5, 1) by square roots: std::pow per element
// was most of the layer's time (3.8M elements in 8.8 ms), square roots vectorise
// and stay within the reference's 8-ulp bound (s^0.75 = r * sqrt(r), r = sqrt(s)).
inline double inv_pow(double s, double beta) {
  if (beta == 0.75) {
    const double r = std::sqrt(s);
    return 1.0 / (r * std::sqrt(r));
  }
  if (beta == 0.5) return 1.0 / std::sqrt(s);
  if (beta == 1.0) return 1.0 / s;
  return std::pow(s, -beta);
}

// scale (C, bw) for pixels [p0, p1) of image x_n (C, HW).
template <class T>
void lrn_scale(index_t C, index_t HW, index_t size, double alpha, double k, const T* x_n, index_t p0,
               index_t p1, double* scale) {
  const index_t bw = p1 - p0;
  for (index_t c = 0; c < C; ++c) {
    double* sc = scale + c * bw;
    std::fill(sc, sc + bw, 0.0);
    const index_t j0 = std::max<index_t>(0, c - size / 2), j1 = std::min(C - 1, c + (size - 1) / 2);
    for (index_t j = j0; j <= j1; ++j) {
      const T* xj = x_n + j * HW + p0;
      for (index_t i = 0; i < bw; ++i) sc[i] += static_cast<double>(xj[i]) * xj[i];
    }
    for (index_t i = 0; i < bw; ++i) sc[i] = k + alpha / static_cast<double>(size) * sc[i];
  }
}
}  // namespace

template <class T>
void lrn_forward(index_t N, index_t C, index_t HW, index_t size, double alpha, double beta, double k,
                 const T* x, T* y) {
  for_pixel_blocks(N, C, HW, size, [&](index_t n, index_t p0, index_t p1) {
    const index_t bw = p1 - p0;
    double* scale = workspace<double>(Slot::lrn_scale, {C, bw});
    const T* x_n = x + n * C * HW;
    lrn_scale(C, HW, size, alpha, k, x_n, p0, p1, scale);
    for (index_t c = 0; c < C; ++c)
      for (index_t i = 0; i < bw; ++i)
        y[(n * C + c) * HW + p0 + i] =
            static_cast<T>(x_n[c * HW + p0 + i] * inv_pow(scale[c * bw + i], beta));
  });
}

template <class T>
void lrn_backward(index_t N, index_t C, index_t HW, index_t size, double alpha, double beta, double k,
                  const T* x, const T* dy, T* dx) {
  for_pixel_blocks(N, C, HW, size, [&](index_t n, index_t p0, index_t p1) {
    const index_t bw = p1 - p0;
    double* scale = workspace<double>(Slot::lrn_scale, {2, C, bw});
    double* t = scale + C * bw;
    const T *x_n = x + n * C * HW, *dy_n = dy + n * C * HW;
    lrn_scale(C, HW, size, alpha, k, x_n, p0, p1, scale);
    // t_j = dy_j * x_j * scale_j^(-beta-1)
    for (index_t j = 0; j < C; ++j)
      for (index_t i = 0; i < bw; ++i)
        t[j * bw + i] = static_cast<double>(dy_n[j * HW + p0 + i]) * x_n[j * HW + p0 + i] *
                        (inv_pow(scale[j * bw + i], beta) / scale[j * bw + i]);
    const double coef = 2.0 * alpha * beta / static_cast<double>(size);
    for (index_t c = 0; c < C; ++c) {
      // c is in win(j) exactly for j in [c - (size-1)/2, c + size/2].
      const index_t j0 = std::max<index_t>(0, c - (size - 1) / 2), j1 = std::min(C - 1, c + size / 2);
      for (index_t i = 0; i < bw; ++i) {
        double acc = 0;
        for (index_t j = j0; j <= j1; ++j) acc += t[j * bw + i];
        const index_t kx = c * HW + p0 + i;
        dx[n * C * HW + kx] =
            static_cast<T>(dy_n[kx] * inv_pow(scale[c * bw + i], beta) - coef * x_n[kx] * acc);
      }
    }
  });
}

#define CNNFAST_INSTANTIATE(T)                                                                            \
  template void lrn_forward<T>(index_t, index_t, index_t, index_t, double, double, double, const T*, T*); \
  template void lrn_backward<T>(index_t, index_t, index_t, index_t, double, double, double, const T*,     \
                                const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
