// Element-wise ops the nets need: per-channel bias, ReLU, tanh, sigmoid.
// Arrays are C-contiguous; n is the element count.
#pragma once

#include "common.h"

namespace cnnfast {

// x (N,C,L) + b (C) -> y (N,C,L); L is the product of the trailing dims (1 for dense).
template <class T>
void bias_add_forward(index_t N, index_t C, index_t L, const T* x, const T* b, T* y);

// dy (N,C,L) -> db (C): the sum over N and L.
template <class T>
void bias_add_backward(index_t N, index_t C, index_t L, const T* dy, T* db);

// y = max(x, 0); NaN stays NaN.
template <class T>
void relu_forward(index_t n, const T* x, T* y);

// dx = dy where x > 0 (or x is NaN), else 0.
template <class T>
void relu_backward(index_t n, const T* x, const T* dy, T* dx);

template <class T>
void tanh_forward(index_t n, const T* x, T* y);

// From the output: dx = dy * (1 - y^2).
template <class T>
void tanh_backward(index_t n, const T* y, const T* dy, T* dx);

template <class T>
void sigmoid_forward(index_t n, const T* x, T* y);

// From the output: dx = dy * y * (1 - y).
template <class T>
void sigmoid_backward(index_t n, const T* y, const T* dy, T* dx);

}  // namespace cnnfast
