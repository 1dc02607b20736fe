// Softmax, log-softmax and cross-entropy with logits, over the last axis of a
// (rows, cols) array. Numerically stable: the row maximum is subtracted first.
#pragma once

#include <cstdint>

#include "common.h"

namespace cnnfast {

template <class T>
void softmax_forward(index_t rows, index_t cols, const T* x, T* y);

// y = softmax(x): dx = y * (dy - sum(dy * y))
template <class T>
void softmax_backward(index_t rows, index_t cols, const T* y, const T* dy, T* dx);

template <class T>
void log_softmax_forward(index_t rows, index_t cols, const T* x, T* y);

// y = log_softmax(x): dx = dy - exp(y) * sum(dy)
template <class T>
void log_softmax_backward(index_t rows, index_t cols, const T* y, const T* dy, T* dx);

// logits (N,C), target (N) class indices -> loss (N) = logsumexp(x) - x[target].
// Throws std::invalid_argument if a target is outside [0, C).
template <class T>
void cross_entropy_forward(index_t N, index_t C, const T* logits, const std::int64_t* target, T* loss);

// dx (N,C) = (softmax(x) - onehot(target)) * dloss (N)
template <class T>
void cross_entropy_backward(index_t N, index_t C, const T* logits, const std::int64_t* target, const T* dloss,
                            T* dx);

// Probability targets t (N,C): loss (N) = -sum_j t_j * log_softmax(x)_j
// (terms with t_j == 0 count as 0, even where log_softmax is -inf).
template <class T>
void cross_entropy_soft_forward(index_t N, index_t C, const T* logits, const T* target, T* loss);

// dx = (softmax(x) * sum_j t_j - t) * dloss
template <class T>
void cross_entropy_soft_backward(index_t N, index_t C, const T* logits, const T* target, const T* dloss,
                                 T* dx);

}  // namespace cnnfast
