// Batch normalization over axis 1 of x (N, C, L): statistics and their gradients by
// one block per channel with a fixed tree (deterministic), the element-wise parts as
// maps. The same results as csrc/batch_norm.cpp within rounding: the mean first,
// then the variance as the mean squared deviation from it (two passes, no
// cancellation), invstd = 1 / sqrt(var + eps).
#pragma once

#include "cuda/compat.h"
#include "cuda/elementwise.cuh"
#include "cuda/reduce.cuh"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

// x[n, c, l] for the i-th (n, l) pair of channel c.
template <class T>
CNNFAST_DEVICE inline T channel_at(const T* x, long C, long L, long c, long i) {
  return x[(i / L * C + c) * L + i % L];
}

// mean[c], invstd[c] of channel blockIdx.x over N * L values (NaN when there are none).
template <class T>
CNNFAST_GLOBAL void batch_norm_stats_kernel(long N, long C, long L, const T* x, T eps, T* mean, T* invstd) {
  CNNFAST_SHARED T partial[kSumThreads];
  const int t = static_cast<int>(threadIdx.x);
  const long c = blockIdx.x, m = N * L;
  T s = T(0);
  for (long i = t; i < m; i += kSumThreads) s += channel_at(x, C, L, c, i);
  partial[t] = s;
  tree_sum(partial, t);
  const T mu = partial[0] / static_cast<T>(m);  // 0 / 0 = NaN for an empty batch
  CNNFAST_SYNC();                               // everyone has read partial[0] before it is reused
  T q = T(0);
  for (long i = t; i < m; i += kSumThreads) {
    const T d = channel_at(x, C, L, c, i) - mu;
    q += d * d;
  }
  partial[t] = q;
  tree_sum(partial, t);
  if (t == 0) {
    mean[c] = mu;
    invstd[c] = T(1) / dev_sqrt(partial[0] / static_cast<T>(m) + eps);
  }
}

// y = (x - mean) * scale * w + b, where scale is invstd, or 1 / sqrt(var + eps) when
// from_var (inference with running statistics); w, b may be null.
template <class T>
struct BatchNormApply {
  const T *x, *mean, *scale, *w, *b;
  long C, L;
  bool from_var;
  T eps;
  CNNFAST_DEVICE T operator()(long i) const {
    const long c = i / L % C;
    const T s = from_var ? T(1) / dev_sqrt(scale[c] + eps) : scale[c];
    T y = (x[i] - mean[c]) * s;
    if (w) y = y * w[c];
    return b ? y + b[c] : y;
  }
};

// dw[c] = sum(dy * xhat), db[c] = sum(dy) over channel blockIdx.x; xhat from the
// batch's invstd, or with from_var from a (running) variance: 1 / sqrt(var + eps).
template <class T>
CNNFAST_GLOBAL void batch_norm_grad_sums_kernel(long N, long C, long L, const T* x, const T* dy,
                                                const T* mean, const T* scale, bool from_var, T eps, T* dw,
                                                T* db) {
  CNNFAST_SHARED T sum_dy[kSumThreads];
  CNNFAST_SHARED T sum_dy_xhat[kSumThreads];
  const int t = static_cast<int>(threadIdx.x);
  const long c = blockIdx.x, m = N * L;
  const T is = from_var ? T(1) / dev_sqrt(scale[c] + eps) : scale[c];
  T a = T(0), b = T(0);
  for (long i = t; i < m; i += kSumThreads) {
    const T g = channel_at(dy, C, L, c, i);
    a += g;
    b += g * (channel_at(x, C, L, c, i) - mean[c]) * is;
  }
  sum_dy[t] = a;
  sum_dy_xhat[t] = b;
  tree_sum(sum_dy, t);
  tree_sum(sum_dy_xhat, t);
  if (t == 0) {
    db[c] = sum_dy[0];
    dw[c] = sum_dy_xhat[0];
  }
}

// dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), from the sums above.
template <class T>
struct BatchNormInputGrad {
  const T *x, *dy, *mean, *invstd, *w, *sum_dy, *sum_dy_xhat;
  long C, L, m;
  CNNFAST_DEVICE T operator()(long i) const {
    const long c = i / L % C;
    const T xhat = (x[i] - mean[c]) * invstd[c];
    const T inv_m = T(1) / static_cast<T>(m);
    const T g = dy[i] - sum_dy[c] * inv_m - xhat * sum_dy_xhat[c] * inv_m;
    return (w ? w[c] : T(1)) * invstd[c] * g;
  }
};

// dx = w / sqrt(var + eps) * dy: the inference forward's input gradient (its
// statistics are constants).
template <class T>
struct BatchNormInferenceInputGrad {
  const T *dy, *var, *w;
  T eps;
  long C, L;
  CNNFAST_DEVICE T operator()(long i) const {
    const long c = i / L % C;
    return (w ? w[c] : T(1)) / dev_sqrt(var[c] + eps) * dy[i];
  }
};

// running = (1 - momentum) * running + momentum * batch, with the unbiased batch
// variance (PyTorch's rule), for channel i.
template <class T>
struct RunningStats {
  T *running_mean, *running_var;  // either may be null
  const T *mean, *invstd;
  T eps, momentum;
  long count;
  CNNFAST_DEVICE void operator()(long c) const {
    if (running_mean) running_mean[c] = (T(1) - momentum) * running_mean[c] + momentum * mean[c];
    if (running_var) {
      const T var = T(1) / (invstd[c] * invstd[c]) - eps;
      const T unbiased = var * static_cast<T>(count) / static_cast<T>(count > 1 ? count - 1 : 1);
      running_var[c] = (T(1) - momentum) * running_var[c] + momentum * unbiased;
    }
  }
};

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
