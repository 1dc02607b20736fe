// The kernel half of Api (backend_api.inc): each launcher on its kernel, compiled
// by nvcc into cuda_device (device.cu) and by the host compiler into cuda_emulated
// (emulated.cpp). The runtime half is in those two files.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/backend.h"  // (the Api these define)
#include "cuda/batch_norm.cuh"
#include "cuda/compat.h"
#include "cuda/conv2d.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/gemm.cuh"
#include "cuda/lrn.cuh"
#include "cuda/optim.cuh"
#include "cuda/pool2d.cuh"
#include "cuda/reduce.cuh"
#include "cuda/softmax.cuh"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

template <class T>
void Api::matmul(long M, long N, long K, const T* A, bool trans_a, const T* B, bool trans_b, T* C) {
  launch_matmul<T>(M, N, K, T(1), A, trans_a ? M : K, trans_a, B, trans_b ? K : N, trans_b, T(0), C, N);
}

template <class T>
void Api::conv2d_forward(const cuda::ConvShape& s, const T* x, const T* w, const T* bias, T* y) {
  launch_conv2d_forward(s, x, w, bias, y);
}

template <class T>
void Api::conv2d_backward_input(const cuda::ConvShape& s, const T* w, const T* dy, T* dx) {
  launch_conv2d_backward_input(s, w, dy, dx);
}

template <class T>
void Api::conv2d_backward_weight(const cuda::ConvShape& s, const T* x, const T* dy, T* dw) {
  launch_conv2d_backward_weight(s, x, dy, dw);
}

template <class T>
void Api::activation(cuda::Activation op, long n, const T* a, const T* b, T* out) {
  switch (op) {
    case cuda::Activation::relu:
      return launch_map(n, out, Relu<T>{a});
    case cuda::Activation::relu_backward:
      return launch_map(n, out, ReluBackward<T>{a, b});
    case cuda::Activation::tanh:
      return launch_map(n, out, Tanh<T>{a});
    case cuda::Activation::tanh_backward:
      return launch_map(n, out, TanhBackward<T>{a, b});
    case cuda::Activation::sigmoid:
      return launch_map(n, out, Sigmoid<T>{a});
    case cuda::Activation::sigmoid_backward:
      return launch_map(n, out, SigmoidBackward<T>{a, b});
  }
}

template <class T>
void Api::bias_add(long n, long C, long L, const T* x, const T* bias, T* y) {
  launch_map(n, y, BiasAdd<T>{x, bias, C, L});
}

template <class T>
void Api::channel_sum(long N, long C, long L, const T* x, T scale, T* out) {
  launch_channel_sum(N, C, L, x, scale, out);
}

template <class T>
void Api::axpby(long n, T alpha, const T* a, T beta, const T* b, long period, T* out) {
  launch_map(n, out, Axpby<T>{alpha, a, beta, b, period});
}

template <class T>
void Api::fill(long n, T value, T* out) {
  launch_map(n, out, Fill<T>{value});
}

template <class T>
void Api::broadcast_scalar(long n, const T* s, T scale, T* out) {
  launch_map(n, out, BroadcastScalar<T>{s, scale});
}

template <class T>
void Api::copy_rows(long rows, long width, const T* src, long src_stride, long src_offset, T* dst,
                    long dst_stride, long dst_offset) {
  launch_each(rows * width, CopyRows<T>{src, src_stride, src_offset, dst, dst_stride, dst_offset, width});
}

template <class T>
void Api::batch_norm_stats(long N, long C, long L, const T* x, T eps, T* mean, T* invstd) {
  if (C <= 0) return;
  auto* kernel = &batch_norm_stats_kernel<T>;
  CNNFAST_LAUNCH(kernel, dim3(static_cast<unsigned>(C)), dim3(kSumThreads))(N, C, L, x, eps, mean, invstd);
  CNNFAST_CHECK_LAUNCH();
}

template <class T>
void Api::batch_norm_apply(long N, long C, long L, const T* x, const T* mean, const T* scale, bool from_var,
                           T eps, const T* w, const T* b, T* y) {
  launch_map(N * C * L, y, BatchNormApply<T>{x, mean, scale, w, b, C, L, from_var, eps});
}

template <class T>
void Api::batch_norm_backward(long N, long C, long L, const T* x, const T* dy, const T* mean, const T* invstd,
                              const T* w, T* dx, T* dw, T* db) {
  if (C <= 0) return;
  auto* kernel = &batch_norm_grad_sums_kernel<T>;
  CNNFAST_LAUNCH(kernel, dim3(static_cast<unsigned>(C)), dim3(kSumThreads))
  (N, C, L, x, dy, mean, invstd, false, T(0), dw, db);
  CNNFAST_CHECK_LAUNCH();
  launch_map(N * C * L, dx, BatchNormInputGrad<T>{x, dy, mean, invstd, w, db, dw, C, L, N * L});
}

template <class T>
void Api::batch_norm_inference_backward(long N, long C, long L, const T* x, const T* dy, const T* mean,
                                        const T* var, T eps, const T* w, T* dx, T* dw, T* db) {
  if (C <= 0) return;
  auto* kernel = &batch_norm_grad_sums_kernel<T>;
  CNNFAST_LAUNCH(kernel, dim3(static_cast<unsigned>(C)), dim3(kSumThreads))
  (N, C, L, x, dy, mean, var, true, eps, dw, db);
  CNNFAST_CHECK_LAUNCH();
  launch_map(N * C * L, dx, BatchNormInferenceInputGrad<T>{dy, var, w, eps, C, L});
}

template <class T>
void Api::batch_norm_running_stats(long C, const T* mean, const T* invstd, T eps, long count, T momentum,
                                   T* running_mean, T* running_var) {
  if (count <= 0) return;  // an empty batch changes nothing
  launch_each(C, RunningStats<T>{running_mean, running_var, mean, invstd, eps, momentum, count});
}

template <class T>
void Api::lrn(long N, long C, long HW, int size, double alpha, double beta, double k, const T* x, T* y) {
  launch_map(N * C * HW, y, LrnForward<T>{x, LrnShape{C, HW, size, alpha, beta, k}});
}

template <class T>
void Api::lrn_backward(long N, long C, long HW, int size, double alpha, double beta, double k, const T* x,
                       const T* dy, T* dx) {
  launch_map(N * C * HW, dx, LrnBackward<T>{x, dy, LrnShape{C, HW, size, alpha, beta, k}});
}

template <class T>
void Api::dropout(long n, const T* x, double p, unsigned long long seed, T* out) {
  const std::uint64_t key = mix64(seed + kGolden);
  const std::uint64_t threshold = static_cast<std::uint64_t>(std::ceil(p * 0x1.0p53));
  launch_map(n, out, DropoutScale<T>{x, key, threshold, static_cast<T>(p < 1.0 ? 1.0 / (1.0 - p) : 0.0)});
}

template <class T>
void Api::max_pool(const cuda::PoolShape& s, const T* x, bool relu, T* y, unsigned char* codes) {
  launch_map(static_cast<long>(s.N) * s.C * s.P * s.Q, y, MaxPoolForward<T>{x, codes, s, relu});
}

template <class T>
void Api::max_pool_backward(const cuda::PoolShape& s, const unsigned char* codes, const T* dy, T* dx) {
  launch_map(static_cast<long>(s.N) * s.C * s.H * s.W, dx, MaxPoolBackwardCodes<T>{codes, dy, s});
}

template <class T>
void Api::avg_pool(const cuda::PoolShape& s, bool count_include_pad, const T* x, T* y) {
  launch_map(static_cast<long>(s.N) * s.C * s.P * s.Q, y, AvgPoolForward<T>{x, s, count_include_pad});
}

template <class T>
void Api::avg_pool_backward(const cuda::PoolShape& s, bool count_include_pad, const T* dy, T* dx) {
  launch_map(static_cast<long>(s.N) * s.C * s.H * s.W, dx, AvgPoolBackward<T>{dy, s, count_include_pad});
}

template <class T>
void Api::global_avg_pool_backward(long n, long L, const T* dy, T* dx) {
  launch_map(n, dx, GlobalAvgPoolBackward<T>{dy, L});
}

template <class T>
void Api::softmax(long rows, long L, bool log, const T* x, T* y) {
  launch_each(rows, SoftmaxRows<T>{x, y, L, log});
}

template <class T>
void Api::softmax_backward(long rows, long L, bool log, const T* y, const T* dy, T* dx) {
  launch_each(rows, SoftmaxBackwardRows<T>{y, dy, dx, L, log});
}

template <class T>
void Api::cross_entropy(long N, long C, const T* logits, const long long* labels, const T* probs, T* losses) {
  launch_map(N, losses, CrossEntropyRows<T>{logits, reinterpret_cast<const std::int64_t*>(labels), probs, C});
}

template <class T>
void Api::cross_entropy_backward(long N, long C, int reduction, const T* logits, const long long* labels,
                                 const T* probs, const T* dloss, T* grad) {
  launch_each(N, CrossEntropyBackwardRows<T>{logits, reinterpret_cast<const std::int64_t*>(labels), probs,
                                             dloss, grad, N, C, reduction});
}

template <class T>
void Api::sgd(long n, T* p, T* velocity, const T* g, T lr, T momentum, T weight_decay, bool nesterov,
              bool first) {
  launch_each(n, SgdStep<T>{p, velocity, g, lr, momentum, weight_decay, nesterov, first});
}

template <class T>
void Api::adam(long n, T* p, T* m, T* v, const T* g, T lr, T beta1, T beta2, T eps, T weight_decay,
               long step) {
  // The coefficients as the CPU binding computes them (bindings/optim.cpp).
  const T bias1 = static_cast<T>(1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step)));
  const T bias2 = static_cast<T>(1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step)));
  launch_each(n,
              AdamStep<T>{p, m, v, g, lr, beta1, static_cast<T>(1.0 - static_cast<double>(beta1)), beta2,
                          static_cast<T>(1.0 - static_cast<double>(beta2)), bias1, bias2, eps, weight_decay});
}

template <class T>
void Api::rmsprop(long n, T* p, T* avg_sq_grad, const T* g, T lr, T rho, T eps, T weight_decay) {
  launch_each(n, RmspropStep<T>{p, avg_sq_grad, g, lr, rho, static_cast<T>(1.0 - static_cast<double>(rho)),
                                eps, weight_decay});
}

template <class T>
void Api::adadelta(long n, T* p, T* avg_sq_grad, T* avg_sq_delta, const T* g, T lr, T rho, T eps,
                   T weight_decay) {
  launch_each(n, AdadeltaStep<T>{p, avg_sq_grad, avg_sq_delta, g, lr, rho,
                                 static_cast<T>(1.0 - static_cast<double>(rho)), eps, weight_decay});
}

#define CNNFAST_CUDA_INSTANTIATE(T)                                                                          \
  template void Api::matmul<T>(long, long, long, const T*, bool, const T*, bool, T*);                        \
  template void Api::conv2d_forward<T>(const cuda::ConvShape&, const T*, const T*, const T*, T*);            \
  template void Api::conv2d_backward_input<T>(const cuda::ConvShape&, const T*, const T*, T*);               \
  template void Api::conv2d_backward_weight<T>(const cuda::ConvShape&, const T*, const T*, T*);              \
  template void Api::activation<T>(cuda::Activation, long, const T*, const T*, T*);                          \
  template void Api::bias_add<T>(long, long, long, const T*, const T*, T*);                                  \
  template void Api::channel_sum<T>(long, long, long, const T*, T, T*);                                      \
  template void Api::axpby<T>(long, T, const T*, T, const T*, long, T*);                                     \
  template void Api::fill<T>(long, T, T*);                                                                   \
  template void Api::dropout<T>(long, const T*, double, unsigned long long, T*);                             \
  template void Api::broadcast_scalar<T>(long, const T*, T, T*);                                             \
  template void Api::lrn<T>(long, long, long, int, double, double, double, const T*, T*);                    \
  template void Api::lrn_backward<T>(long, long, long, int, double, double, double, const T*, const T*, T*); \
  template void Api::copy_rows<T>(long, long, const T*, long, long, T*, long, long);                         \
  template void Api::batch_norm_stats<T>(long, long, long, const T*, T, T*, T*);                             \
  template void Api::batch_norm_apply<T>(long, long, long, const T*, const T*, const T*, bool, T, const T*,  \
                                         const T*, T*);                                                      \
  template void Api::batch_norm_backward<T>(long, long, long, const T*, const T*, const T*, const T*,        \
                                            const T*, T*, T*, T*);                                           \
  template void Api::batch_norm_inference_backward<T>(long, long, long, const T*, const T*, const T*,        \
                                                      const T*, T, const T*, T*, T*, T*);                    \
  template void Api::batch_norm_running_stats<T>(long, const T*, const T*, T, long, T, T*, T*);              \
  template void Api::max_pool<T>(const cuda::PoolShape&, const T*, bool, T*, unsigned char*);                \
  template void Api::max_pool_backward<T>(const cuda::PoolShape&, const unsigned char*, const T*, T*);       \
  template void Api::avg_pool<T>(const cuda::PoolShape&, bool, const T*, T*);                                \
  template void Api::avg_pool_backward<T>(const cuda::PoolShape&, bool, const T*, T*);                       \
  template void Api::global_avg_pool_backward<T>(long, long, const T*, T*);                                  \
  template void Api::softmax<T>(long, long, bool, const T*, T*);                                             \
  template void Api::softmax_backward<T>(long, long, bool, const T*, const T*, T*);                          \
  template void Api::cross_entropy<T>(long, long, const T*, const long long*, const T*, T*);                 \
  template void Api::cross_entropy_backward<T>(long, long, int, const T*, const long long*, const T*,        \
                                               const T*, T*);                                                \
  template void Api::sgd<T>(long, T*, T*, const T*, T, T, T, bool, bool);                                    \
  template void Api::adam<T>(long, T*, T*, T*, const T*, T, T, T, T, T, long);                               \
  template void Api::rmsprop<T>(long, T*, T*, const T*, T, T, T, T);                                         \
  template void Api::adadelta<T>(long, T*, T*, T*, const T*, T, T, T, T);
CNNFAST_CUDA_INSTANTIATE(float)
CNNFAST_CUDA_INSTANTIATE(double)
#undef CNNFAST_CUDA_INSTANTIATE

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
