// Optimizer updates, in place, one thread per element: the rules of
// cnnfast/optim/optimizers.py with the same operations in the same order (so the
// emulated kernels agree with the CPU path to the last bit where the compiler does
// not fuse multiply-adds).
#pragma once

#include "cuda/compat.h"
#include "cuda/elementwise.cuh"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

template <class T>
CNNFAST_DEVICE inline T decayed(T g, T p, T weight_decay) {
  return weight_decay != T(0) ? g + weight_decay * p : g;
}

// rho * avg + (1 - rho) * g^2, the running mean square RMSprop and Adadelta keep.
template <class T>
CNNFAST_DEVICE inline T mean_square(T avg, T g, T rho, T one_minus_rho) {
  return avg * rho + (one_minus_rho * g) * g;
}

// v = momentum * v + g (v = g on the first step); p -= lr * (nesterov ? g + momentum * v : v);
// without momentum, p -= lr * g. (PyTorch's SGD.)
template <class T>
struct SgdStep {
  T *p, *v;  // v is null without momentum
  const T* g;
  T lr, momentum, weight_decay;
  bool nesterov, first;
  CNNFAST_DEVICE void operator()(long i) const {
    T gi = decayed(g[i], p[i], weight_decay);
    if (v) {
      const T vi = first ? gi : momentum * v[i] + gi;
      v[i] = vi;
      gi = nesterov ? gi + momentum * vi : vi;
    }
    p[i] = p[i] - lr * gi;
  }
};

// Kingma & Ba's Algorithm 1, as csrc/optim.cpp computes it (bias_i = 1 - beta_i^t).
template <class T>
struct AdamStep {
  T *p, *m, *v;
  const T* g;
  T lr, beta1, one_minus_beta1, beta2, one_minus_beta2, bias1, bias2, eps, weight_decay;
  CNNFAST_DEVICE void operator()(long i) const {
    const T gi = decayed(g[i], p[i], weight_decay);
    const T mi = m[i] * beta1 + one_minus_beta1 * gi;
    const T vi = v[i] * beta2 + (one_minus_beta2 * gi) * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - (lr * (mi / bias1)) / (dev_sqrt(vi / bias2) + eps);
  }
};

// E[g^2] = rho E[g^2] + (1 - rho) g^2; p -= lr * g / (sqrt(E[g^2]) + eps).
template <class T>
struct RmspropStep {
  T *p, *eg;
  const T* g;
  T lr, rho, one_minus_rho, eps, weight_decay;
  CNNFAST_DEVICE void operator()(long i) const {
    const T gi = decayed(g[i], p[i], weight_decay);
    const T e = mean_square(eg[i], gi, rho, one_minus_rho);
    eg[i] = e;
    p[i] = p[i] - (lr * gi) / (dev_sqrt(e) + eps);
  }
};

// Zeiler's Algorithm 1: E[g^2] as RMSprop; dx = -sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g;
// E[dx^2] = rho E[dx^2] + (1 - rho) dx^2; p += lr * dx.
template <class T>
struct AdadeltaStep {
  T *p, *eg, *ed;
  const T* g;
  T lr, rho, one_minus_rho, eps, weight_decay;
  CNNFAST_DEVICE void operator()(long i) const {
    const T gi = decayed(g[i], p[i], weight_decay);
    const T e = mean_square(eg[i], gi, rho, one_minus_rho);
    eg[i] = e;
    const T delta = -dev_sqrt(ed[i] + eps) / dev_sqrt(e + eps) * gi;
    ed[i] = mean_square(ed[i], delta, rho, one_minus_rho);
    p[i] = p[i] + lr * delta;
  }
};

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
