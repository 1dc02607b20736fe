// Sum of n floats: each block reduces a grid-strided share in shared memory (a tree
// over its threads, __syncthreads() between levels) and adds its partial to *out
// with one atomic add. The order of the atomic adds varies from run to run on a
// device: the result is the sum within float rounding, not bit-reproducible.
#pragma once

#include "cuda/compat.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

constexpr int kSumThreads = 256;

CNNFAST_GLOBAL void sum_kernel(int n, const float* x, float* out) {
  CNNFAST_SHARED float partial[kSumThreads];
  const int t = static_cast<int>(threadIdx.x);
  float s = 0.0f;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x) + t; i < n; i += static_cast<int>(gridDim.x * blockDim.x))
    s += x[i];
  partial[t] = s;
  CNNFAST_SYNC();
  for (int half = kSumThreads / 2; half > 0; half /= 2) {
    if (t < half) partial[t] += partial[t + half];
    CNNFAST_SYNC();
  }
  if (t == 0) cnnfast_atomic_add(out, partial[0]);
}

// *out = sum of x[0, n); *out must be zeroed by the caller (device memory).
inline void launch_sum(int n, const float* x, float* out, int blocks) {
  CNNFAST_LAUNCH(sum_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kSumThreads))(n, x, out);
}

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
