// Batch norm: threads over channels; per-channel sums in double (they run over
// N*L elements).
#include "batch_norm.h"

#include <cmath>

#include "parallel.h"

namespace cnnfast {

namespace {
template <class F>
void for_channels(index_t N, index_t C, index_t L, F&& f) {
  parallel_for(C, std::max<index_t>(1, (index_t{1} << 15) / std::max<index_t>(N * L, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t c = lo; c < hi; ++c) f(c);
               });
}
}  // namespace

template <class T>
void batch_norm_train_forward(index_t N, index_t C, index_t L, const T* x, const T* gamma, const T* beta,
                              double eps, T* y, T* mean, T* invstd) {
  const double M = static_cast<double>(N * L);
  for_channels(N, C, L, [&](index_t c) {
    double sum = 0;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) sum += x[(n * C + c) * L + i];
    const double mu = sum / M;  // NaN for an empty batch: its statistics are undefined
    double sq = 0;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) {
        const double d = x[(n * C + c) * L + i] - mu;
        sq += d * d;
      }
    const double is = 1.0 / std::sqrt(sq / M + eps);
    mean[c] = static_cast<T>(mu);
    invstd[c] = static_cast<T>(is);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) {
        const index_t k = (n * C + c) * L + i;
        y[k] = static_cast<T>((x[k] - mu) * is * g + b);
      }
  });
}

template <class T>
void batch_norm_inference_forward(index_t N, index_t C, index_t L, const T* x, const T* mean, const T* var,
                                  const T* gamma, const T* beta, double eps, T* y) {
  for_channels(N, C, L, [&](index_t c) {
    const double is = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const double scale = is * (gamma ? gamma[c] : 1.0);
    const double shift = (beta ? beta[c] : 0.0) - mean[c] * scale;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) {
        const index_t k = (n * C + c) * L + i;
        y[k] = static_cast<T>(x[k] * scale + shift);
      }
  });
}

template <class T>
void batch_norm_backward(index_t N, index_t C, index_t L, const T* x, const T* dy, const T* mean,
                         const T* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta) {
  const double M = static_cast<double>(N * L);
  for_channels(N, C, L, [&](index_t c) {
    const double mu = mean[c], is = invstd[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) {
        const index_t k = (n * C + c) * L + i;
        sum_dy += dy[k];
        sum_dy_xhat += dy[k] * (x[k] - mu) * is;
      }
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
    const double g = (gamma ? gamma[c] : 1.0) * is;
    const double mean_dy = sum_dy / M, mean_dy_xhat = sum_dy_xhat / M;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) {
        const index_t k = (n * C + c) * L + i;
        const double xhat = (x[k] - mu) * is;
        dx[k] = static_cast<T>(g * (dy[k] - mean_dy - xhat * mean_dy_xhat));
      }
  });
}

template <class T>
void batch_norm_inference_backward(index_t N, index_t C, index_t L, const T* x, const T* dy, const T* mean,
                                   const T* var, const T* gamma, double eps, T* dx, T* dgamma, T* dbeta) {
  for_channels(N, C, L, [&](index_t c) {
    const double mu = mean[c], is = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const double g = (gamma ? gamma[c] : 1.0) * is;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (index_t n = 0; n < N; ++n)
      for (index_t i = 0; i < L; ++i) {
        const index_t k = (n * C + c) * L + i;
        sum_dy += dy[k];
        sum_dy_xhat += dy[k] * (x[k] - mu) * is;
        dx[k] = static_cast<T>(g * dy[k]);
      }
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    dbeta[c] = static_cast<T>(sum_dy);
  });
}

#define CNNFAST_INSTANTIATE(T)                                                                               \
  template void batch_norm_train_forward<T>(index_t, index_t, index_t, const T*, const T*, const T*, double, \
                                            T*, T*, T*);                                                     \
  template void batch_norm_inference_forward<T>(index_t, index_t, index_t, const T*, const T*, const T*,     \
                                                const T*, const T*, double, T*);                             \
  template void batch_norm_backward<T>(index_t, index_t, index_t, const T*, const T*, const T*, const T*,    \
                                       const T*, T*, T*, T*);                                                \
  template void batch_norm_inference_backward<T>(index_t, index_t, index_t, const T*, const T*, const T*,    \
                                                 const T*, const T*, double, T*, T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
