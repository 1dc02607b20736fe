// Softmax, log-softmax and softmax cross-entropy along the last axis, one thread
// per row (rows are a batch, a row is at most a few thousand classes): the maximum
// is subtracted before exponentiating, as on the CPU (csrc/softmax.cpp).
#pragma once

#include <cstdint>

#include "cuda/compat.h"
#include "cuda/elementwise.cuh"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

// Row max and log(sum(exp(x - max))) of x[0, L).
template <class T>
CNNFAST_DEVICE inline void row_logsumexp(const T* x, long L, T& max, T& log_sum) {
  max = x[0];
  for (long j = 1; j < L; ++j)
    if (x[j] > max || dev_isnan(x[j])) max = x[j];
  T sum = T(0);
  for (long j = 0; j < L; ++j) sum += dev_exp(x[j] - max);
  log_sum = dev_log(sum);
}

template <class T>
struct SoftmaxRows {  // row i of y = softmax (or log_softmax) of row i of x
  const T* x;
  T* y;
  long L;
  bool log;
  CNNFAST_DEVICE void operator()(long i) const {
    const T* in = x + i * L;
    T* out = y + i * L;
    T max, log_sum;
    row_logsumexp(in, L, max, log_sum);
    for (long j = 0; j < L; ++j) out[j] = log ? in[j] - max - log_sum : dev_exp(in[j] - max - log_sum);
  }
};

template <class T>
struct SoftmaxBackwardRows {  // from y: softmax dx = y (dy - sum(dy y)); log: dx = dy - exp(y) sum(dy)
  const T *y, *dy;
  T* dx;
  long L;
  bool log;
  CNNFAST_DEVICE void operator()(long i) const {
    const T *yr = y + i * L, *dr = dy + i * L;
    T* out = dx + i * L;
    T dot = T(0);
    for (long j = 0; j < L; ++j) dot += log ? dr[j] : dr[j] * yr[j];
    for (long j = 0; j < L; ++j) out[j] = log ? dr[j] - dev_exp(yr[j]) * dot : yr[j] * (dr[j] - dot);
  }
};

// Per-row loss: logsumexp(x) - x[label], or with probabilities t:
// sum_c t_c (logsumexp(x) - x_c). A label outside [0, C) gives NaN (checked on the
// host only for host labels: reading device labels back would stall the step).
template <class T>
struct CrossEntropyRows {
  const T* logits;
  const std::int64_t* labels;  // or null
  const T* probs;              // when labels is null
  long C;
  CNNFAST_DEVICE T operator()(long n) const {
    const T* x = logits + n * C;
    T max, log_sum;
    row_logsumexp(x, C, max, log_sum);
    const T lse = max + log_sum;
    if (labels) {
      const std::int64_t t = labels[n];
      return (t < 0 || t >= C) ? dev_sqrt(T(-1)) : lse - x[t];
    }
    T loss = T(0);
    for (long j = 0; j < C; ++j) loss += probs[n * C + j] * (lse - x[j]);
    return loss;
  }
};

// d loss / d logits = (softmax(x) - onehot) * scale (labels), or (softmax(x) sum(t) - t) * scale,
// where scale = dloss[0] / N ('mean'), dloss[0] ('sum') or dloss[n] ('none').
template <class T>
struct CrossEntropyBackwardRows {
  const T* logits;
  const std::int64_t* labels;
  const T* probs;
  const T* dloss;
  T* grad;
  long N, C;
  int reduction;  // 0 mean, 1 sum, 2 none
  CNNFAST_DEVICE void operator()(long n) const {
    const T* x = logits + n * C;
    T* g = grad + n * C;
    T max, log_sum;
    row_logsumexp(x, C, max, log_sum);
    const T scale = reduction == 2 ? dloss[n] : (reduction == 0 ? dloss[0] / static_cast<T>(N) : dloss[0]);
    T total = T(1);
    if (!labels) {
      total = T(0);
      for (long j = 0; j < C; ++j) total += probs[n * C + j];
    }
    for (long j = 0; j < C; ++j) {
      const T p = dev_exp(x[j] - max - log_sum);
      const T target = labels ? (labels[n] == j ? T(1) : T(0)) : probs[n * C + j];
      g[j] = (p * total - target) * scale;
    }
  }
};

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
