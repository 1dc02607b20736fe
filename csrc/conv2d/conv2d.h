// 2-D convolution (cross-correlation, as in every DL framework), NCHW.
// Shapes come from make_conv2d_shape (common.h), which has validated them.
// All arrays are C-contiguous.
#pragma once

#include "common.h"
#include "conv2d/conv2d_epilogue.h"

namespace cnnfast {

// x (N,C,H,W), w (K,C/g,R,S) -> y (N,K,P,Q), each sum finished by e (+ bias, ReLU)
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y);

// w (K,C/g,R,S), dy (N,K,P,Q) -> dx (N,C,H,W)
template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* w, const T* dy, T* dx);

// x (N,C,H,W), dy (N,K,P,Q) -> dw (K,C/g,R,S)
template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw);

// The bias gradient db (K) is the sum of dy over N, P, Q: bias_add_backward
// in activation.h with L = P*Q.

}  // namespace cnnfast
