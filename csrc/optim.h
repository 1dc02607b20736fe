// Optimizer updates in place, one pass over the parameter and its state, with the
// same float operations in the same order as cnnfast.reference.optim (so the two
// agree bit for bit).
#pragma once

#include "common.h"

namespace cnnfast {

// Kingma & Ba, Algorithm 1, step t. Every coefficient is given in T, as NumPy
// would round the Python floats of the reference:
//   g' = g + weight_decay * p              (when weight_decay != 0)
//   m = m * beta1 + one_minus_beta1 * g'
//   v = v * beta2 + (one_minus_beta2 * g') * g'
//   p = p - (lr * (m / bias1)) / (sqrt(v / bias2) + eps)    bias_i = 1 - beta_i^t
template <class T>
struct AdamCoefficients {
  T lr, beta1, one_minus_beta1, beta2, one_minus_beta2, bias1, bias2, eps, weight_decay;
};

template <class T>
void adam_update(index_t n, const AdamCoefficients<T>& c, const T* g, T* p, T* m, T* v);

}  // namespace cnnfast
