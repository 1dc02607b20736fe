// Local response normalization across channels (AlexNet's), PyTorch's convention as
// in csrc/lrn.cpp: y_c = x_c * s_c^-beta, s_c = k + alpha/size * sum of x_j^2 over
// j in [c - size/2, c + (size-1)/2] clipped to the channels. One thread per element;
// the backward gathers from the outputs whose windows hold the element (no atomics).
#pragma once

#include "cuda/compat.h"
#include "cuda/elementwise.cuh"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

struct LrnShape {
  long C, HW;
  int size;
  double alpha, beta, k;
};

// s_c at (n, pixel), where base points at x[n, 0, pixel].
template <class T>
CNNFAST_DEVICE inline T lrn_scale(const T* base, const LrnShape& s, long c) {
  const long lo = c - s.size / 2, hi = c + (s.size - 1) / 2;
  T sum = T(0);
  for (long j = lo < 0 ? 0 : lo; j <= hi && j < s.C; ++j) sum += base[j * s.HW] * base[j * s.HW];
  return static_cast<T>(s.k) + static_cast<T>(s.alpha / s.size) * sum;
}

template <class T>
struct LrnForward {
  const T* x;
  LrnShape s;
  CNNFAST_DEVICE T operator()(long i) const {
    const long c = i / s.HW % s.C;
    const T* base = x + (i / (s.HW * s.C)) * s.C * s.HW + i % s.HW;
    return x[i] * dev_pow(lrn_scale(base, s, c), static_cast<T>(-s.beta));
  }
};

// dx_i = dy_i s_i^-beta + x_i * sum over outputs j whose window holds i of
//        dy_j x_j (-beta) s_j^(-beta-1) 2 alpha / size.
template <class T>
struct LrnBackward {
  const T *x, *dy;
  LrnShape s;
  CNNFAST_DEVICE T operator()(long i) const {
    const long c = i / s.HW % s.C, offset = (i / (s.HW * s.C)) * s.C * s.HW + i % s.HW;
    const T *xb = x + offset, *db = dy + offset;
    const T beta = static_cast<T>(s.beta), two_alpha_n = static_cast<T>(2 * s.alpha / s.size);
    T dx = db[c * s.HW] * dev_pow(lrn_scale(xb, s, c), -beta);
    const long lo = c - (s.size - 1) / 2, hi = c + s.size / 2;
    T cross = T(0);
    for (long j = lo < 0 ? 0 : lo; j <= hi && j < s.C; ++j) {
      const T sj = lrn_scale(xb, s, j);
      cross += db[j * s.HW] * xb[j * s.HW] * (-beta) * dev_pow(sj, -beta - T(1)) * two_alpha_n;
    }
    return dx + cross * xb[c * s.HW];
  }
};

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
