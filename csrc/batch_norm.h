// Batch normalization over the channel axis of x viewed as (N, C, L), L the
// product of the trailing dims (H*W for images, 1 for dense features).
// gamma/beta may be nullptr (scale 1, shift 0).
#pragma once

#include "common.h"

namespace cnnfast {

// Training: batch statistics. mean (C), invstd (C) = 1/sqrt(biased var + eps).
template <class T>
void batch_norm_train_forward(index_t N, index_t C, index_t L, const T* x, const T* gamma, const T* beta,
                              double eps, T* y, T* mean, T* invstd);

// Inference: given running mean and var (C).
template <class T>
void batch_norm_inference_forward(index_t N, index_t C, index_t L, const T* x, const T* mean, const T* var,
                                  const T* gamma, const T* beta, double eps, T* y);

// Backward of the training forward (mean and invstd as it returned them):
//   dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)),
//   dgamma = sum(dy*xhat), dbeta = sum(dy).
template <class T>
void batch_norm_backward(index_t N, index_t C, index_t L, const T* x, const T* dy, const T* mean,
                         const T* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta);

// Backward of the inference forward: the statistics are constants there, so
//   dx = gamma / sqrt(var + eps) * dy, dgamma = sum(dy*xhat), dbeta = sum(dy).
template <class T>
void batch_norm_inference_backward(index_t N, index_t C, index_t L, const T* x, const T* dy, const T* mean,
                                   const T* var, const T* gamma, double eps, T* dx, T* dgamma, T* dbeta);

}  // namespace cnnfast
