// Reductions. The sum kernel (one atomicAdd per block) exercises shared memory,
// barriers and atomics together; the per-channel sums the backward passes need are
// deterministic instead: one block per channel, a fixed tree, no atomics, so a
// gradient is the same on every run.
#pragma once

#include "cuda/compat.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

constexpr int kSumThreads = 256;

// Sums partial[0, kSumThreads) into partial[0] by halving, with a barrier between
// levels; every thread of the block must call it.
template <class T>
CNNFAST_DEVICE void tree_sum(T* partial, int t) {
  CNNFAST_SYNC();
  for (int half = kSumThreads / 2; half > 0; half /= 2) {
    if (t < half) partial[t] += partial[t + half];
    CNNFAST_SYNC();
  }
}

CNNFAST_GLOBAL void sum_kernel(int n, const float* x, float* out) {
  CNNFAST_SHARED float partial[kSumThreads];
  const int t = static_cast<int>(threadIdx.x);
  float s = 0.0f;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x) + t; i < n;
       i += static_cast<int>(gridDim.x * blockDim.x))
    s += x[i];
  partial[t] = s;
  tree_sum(partial, t);
  if (t == 0) cnnfast_atomic_add(out, partial[0]);
}

// *out = sum of x[0, n); *out must be zeroed by the caller (device memory).
inline void launch_sum(int n, const float* x, float* out, int blocks) {
  CNNFAST_LAUNCH(sum_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kSumThreads))(n, x, out);
  CNNFAST_CHECK_LAUNCH();
}

// out[c] = scale * sum over n < N, l < L of x[(n * C + c) * L + l]: block c sums
// channel c (bias gradients: L = H * W; a whole array: N = C = 1).
template <class T>
CNNFAST_GLOBAL void channel_sum_kernel(long N, long C, long L, const T* x, T scale, T* out) {
  CNNFAST_SHARED T partial[kSumThreads];
  const int t = static_cast<int>(threadIdx.x);
  const long c = blockIdx.x;
  T s = T(0);
  for (long i = t; i < N * L; i += kSumThreads) s += x[(i / L * C + c) * L + i % L];
  partial[t] = s;
  tree_sum(partial, t);
  if (t == 0) out[c] = scale * partial[0];
}

template <class T>
void launch_channel_sum(long N, long C, long L, const T* x, T scale, T* out) {
  if (C <= 0) return;
  auto* kernel = &channel_sum_kernel<T>;
  CNNFAST_LAUNCH(kernel, dim3(static_cast<unsigned>(C)), dim3(kSumThreads))(N, C, L, x, scale, out);
  CNNFAST_CHECK_LAUNCH();
}

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
