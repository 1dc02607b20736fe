// 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2 block
// of outputs costs 16 multiplies per input-output channel pair instead of 36, the
// multiplies batched into 16 GEMMs (one per point of the 4x4 transform):
//
//   U = G g G^T   (4x4 per filter k, c)          once per call
//   V = B^T d B   (4x4 per input tile c, t)      d: the 4x4 input patch of tile t
//   M_xi = U_xi (K x C) @ V_xi (C x T)           xi = 0..15, T tiles of a chunk of images
//   y  = A^T M A  (2x2 per output tile k, t)
//
// The transforms' entries are 0, +-1 and +-1/2, so the rounding error stays within a
// small multiple of direct convolution's (tests/test_conv2d_winograd.py measures it).
// The backward-input pass is the same computation on dy with the filters flipped
// and transposed.
#pragma once

#include "common.h"
#include "conv2d/conv2d_epilogue.h"

namespace cnnfast {

// Whether F(2x2, 3x3) can compute this forward convolution (3x3, stride 1,
// dilation 1, one group, padding 0..2 on each side). When it is used:
// conv2d_algorithm.h.
bool winograd_possible(const Conv2dShape& s);

template <class T>
void conv2d_forward_winograd(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y);

template <class T>
void conv2d_backward_input_winograd(const Conv2dShape& s, const T* w, const T* dy, T* dx);

// The same two passes by F(4x4, 3x3) (conv2d_winograd4.cpp): 36 multiplies per
// 4x4 outputs instead of 144, float32 error ~10x F(2x2, 3x3)'s.
template <class T>
void conv2d_forward_winograd4(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y);

template <class T>
void conv2d_backward_input_winograd4(const Conv2dShape& s, const T* w, const T* dy, T* dx);

// Layers Winograd cannot take as they are (strides, kernels other than 3x3, groups;
// dilation 1), rewritten per group as a valid 3x3 stride-1 convolution of an
// expanded input (conv2d_winograd_expand.cpp): phases of a stride become channels
// (space-to-depth), a larger kernel 3x3 blocks over shifted copies of the input.
// f4x4 picks F(4x4, 3x3) over F(2x2, 3x3) for the expanded problem.
bool winograd_expand_possible(const Conv2dShape& s);
Conv2dShape winograd_expanded_problem(const Conv2dShape& s);  // one group's

template <class T>
void conv2d_forward_winograd_expand(const Conv2dShape& s, bool f4x4, const T* x, const T* w,
                                    ConvEpilogue<T> e, T* y);

// Stride 1 only: the forward problem conv2d_backward_problem(s), expanded.
template <class T>
void conv2d_backward_input_winograd_expand(const Conv2dShape& s, bool f4x4, const T* w, const T* dy, T* dx);

// dw (K,C,3,3) from x and dy: sum over tiles of (A dy A^T) . (B^T d B), then G^T . G.
template <class T>
void conv2d_backward_weight_winograd(const Conv2dShape& s, const T* x, const T* dy, T* dw);

}  // namespace cnnfast
