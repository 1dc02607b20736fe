// Element-wise kernels: plain loops the compiler vectorises, threaded in
// chunks large enough to amortise the fork.
#include "activation/activation.h"

#include <cmath>

#include "cpu_features.h"
#include "fast_math.h"
#include "parallel.h"

#ifdef CNNFAST_HAVE_AVX2_KERNELS
#include "activation/avx2/activation_avx2.h"
#endif

namespace cnnfast {

namespace {
constexpr index_t kElementwiseGrain = index_t{1} << 16;

template <class F>
void elementwise(index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) f(i);
  });
}
}  // namespace

template <class T>
void bias_add_forward(index_t N, index_t C, index_t L, const T* x, const T* b, T* y) {
  parallel_for(N * C, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(L, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t nc = lo; nc < hi; ++nc) {
                   const T bc = b[nc % C];
                   for (index_t i = nc * L; i < (nc + 1) * L; ++i) y[i] = x[i] + bc;
                 }
               });
}

template <class T>
void bias_add_backward(index_t N, index_t C, index_t L, const T* dy, T* db) {
  parallel_for(C, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(N * L, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t c = lo; c < hi; ++c) {
                   // Wide accumulators (N*L terms), four of them so the adds do
                   // not wait on each other; summed in a fixed order.
                   double acc[4] = {0, 0, 0, 0};
                   for (index_t n = 0; n < N; ++n) {
                     const T* d = dy + (n * C + c) * L;
                     index_t i = 0;
                     for (; i + 4 <= L; i += 4)
                       for (int k = 0; k < 4; ++k) acc[k] += d[i + k];
                     for (; i < L; ++i) acc[0] += d[i];
                   }
                   db[c] = static_cast<T>((acc[0] + acc[1]) + (acc[2] + acc[3]));
                 }
               });
}

template <class T>
void relu_forward(index_t n, const T* x, T* y) {
  elementwise(n, [&](index_t i) { y[i] = x[i] < T(0) ? T(0) : x[i]; });
}

template <class T>
void relu_backward(index_t n, const T* x, const T* dy, T* dx) {
  // dy is loaded unconditionally so the select compiles to a blend: a branch on
  // the sign of x mispredicts half the time and ran 20x slower.
  elementwise(n, [&](index_t i) {
    const T g = dy[i];
    dx[i] = x[i] <= T(0) ? T(0) : g;
  });
}

template <class T>
void tanh_forward(index_t n, const T* x, T* y) {
  elementwise(n, [&](index_t i) { y[i] = std::tanh(x[i]); });
}

namespace {
// y[i] = tanh(x[i]) on [lo, hi): fast_math.h's float tanh, which the compiler
// vectorises for the baseline ISA; the AVX2 build of the same code is wider.
void tanh_f32_generic(index_t lo, index_t hi, const float* x, float* y) {
  const float* __restrict in = x;
  float* __restrict out = y;
  for (index_t i = lo; i < hi; ++i) out[i] = tanh_f32(in[i]);
}

using TanhUkernel = void (*)(index_t lo, index_t hi, const float* x, float* y);

// Chosen per ISA as GEMM's microkernels are (select_gemm_ukernel).
TanhUkernel select_tanh_ukernel(Isa isa) {
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  if (isa == Isa::avx2) return &tanh_f32_avx2;
#endif
  (void)isa;
  return &tanh_f32_generic;
}
}  // namespace

// libm's tanhf is a scalar call per element (lenet5 spent a third of its
// training step in it); fast_math.h's version vectorises.
template <>
void tanh_forward<float>(index_t n, const float* x, float* y) {
  const TanhUkernel tanh = select_tanh_ukernel(active_isa());
  parallel_for(n, kElementwiseGrain, [&](index_t lo, index_t hi) { tanh(lo, hi, x, y); });
}

template <class T>
void tanh_backward(index_t n, const T* y, const T* dy, T* dx) {
  elementwise(n, [&](index_t i) { dx[i] = dy[i] * (T(1) - y[i] * y[i]); });
}

template <class T>
void sigmoid_forward(index_t n, const T* x, T* y) {
  // exp(-x) overflows to inf for very negative x, giving exactly 0: no NaN.
  elementwise(n, [&](index_t i) { y[i] = T(1) / (T(1) + std::exp(-x[i])); });
}

template <class T>
void sigmoid_backward(index_t n, const T* y, const T* dy, T* dx) {
  elementwise(n, [&](index_t i) { dx[i] = dy[i] * y[i] * (T(1) - y[i]); });
}

#define CNNFAST_INSTANTIATE(T)                                                          \
  template void bias_add_forward<T>(index_t, index_t, index_t, const T*, const T*, T*); \
  template void bias_add_backward<T>(index_t, index_t, index_t, const T*, T*);          \
  template void relu_forward<T>(index_t, const T*, T*);                                 \
  template void relu_backward<T>(index_t, const T*, const T*, T*);                      \
  template void tanh_forward<T>(index_t, const T*, T*);                                 \
  template void tanh_backward<T>(index_t, const T*, const T*, T*);                      \
  template void sigmoid_forward<T>(index_t, const T*, T*);                              \
  template void sigmoid_backward<T>(index_t, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
