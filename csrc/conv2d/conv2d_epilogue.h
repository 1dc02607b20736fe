// What a convolution's forward does to each finished sum as it stores it: + bias[k]
// (when there is a bias), then ReLU when it is fused (nn.Sequential's Conv2d then
// ReLU: the output is written once instead of written, read and written again).
// Every algorithm's store applies it, so which algorithm runs never changes it.
#pragma once

#include "common.h"

namespace cnnfast {

template <class T>
struct ConvEpilogue {
  const T* bias = nullptr;  // (K) or nullptr
  bool relu = false;

  T bias_of(index_t k) const { return bias != nullptr ? bias[k] : T(0); }
  // ReLU as relu_forward computes it (x < 0 ? 0 : x: NaN stays NaN), when fused.
  T activate(T v) const { return relu && v < T(0) ? T(0) : v; }
  T apply(T sum, T bias_k) const { return activate(sum + bias_k); }
  // The same for the filters from k0 on (one group's).
  ConvEpilogue from(index_t k0) const { return {bias != nullptr ? bias + k0 : nullptr, relu}; }
};

}  // namespace cnnfast
