// 2-D max and average pooling, NCHW. Shapes come from make_pool2d_shape.
// Padding never wins a max (it acts as -inf); every window holds at least one
// input element (guaranteed by the shape checks).
#pragma once

#include "common.h"

namespace cnnfast {

// x (N,C,H,W) -> y (N,C,P,Q); indices (N,C,P,Q) or nullptr: the argmax as
// h*W + w within its plane (first maximum; a NaN wins and propagates).
template <class T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, std::int64_t* indices);

// x (N,C,H,W), dy (N,C,P,Q) -> dx (N,C,H,W): dy routed to each window's argmax.
template <class T>
void max_pool2d_backward(const Pool2dShape& s, const T* x, const T* dy, T* dx);

// x (N,C,H,W) -> y (N,C,P,Q). With count_include_pad the divisor counts the
// padding (but not the overhang that ceil_mode adds past it).
template <class T>
void avg_pool2d_forward(const Pool2dShape& s, bool count_include_pad, const T* x, T* y);

// dy (N,C,P,Q) -> dx (N,C,H,W)
template <class T>
void avg_pool2d_backward(const Pool2dShape& s, bool count_include_pad, const T* dy, T* dx);

// x (N,C,H,W) -> y (N,C): the mean of each plane.
template <class T>
void global_avg_pool2d_forward(index_t N, index_t C, index_t HW, const T* x, T* y);

// dy (N,C) -> dx (N,C,H,W)
template <class T>
void global_avg_pool2d_backward(index_t N, index_t C, index_t HW, const T* dy, T* dx);

}  // namespace cnnfast
