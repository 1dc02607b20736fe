// Stride-1 convolution as one GEMM per kernel tap and output row, in a
// batch-innermost layout.
//
// With x held as xt (H, W, N, C) and y as yt (P, Q, N, K), tap (r, s) adds to
// output row p
//   yt[p][q0:q1]  ((q1-q0)*N rows, K columns)
//     += xt[h][w0 : w0 + q1-q0]  ((q1-q0)*N rows, C columns)  @  w[:, :, r, s]^T  (C x K)
// with h = p - pad_t + r*dil_h, w0 = q0 - pad_l + s*dil_w, and [q0, q1) the outputs
// whose input column lies inside the image. Both row blocks are contiguous, so each
// is a plain GEMM of at least N rows. Only taps that meet the image are multiplied
// (im2col and Winograd multiply the padding too), and nothing is unrolled: this
// suits small maps with many channels, where padding is a large share of the work
// and Winograd's 2x2 tiles overhang (3x3 'same' on a 3x3 map: 49 of 81 products are
// real). Groups are channel slices of the same rows. The backward passes are the
// same loops with the GEMM operands exchanged; NCHW <-> HWNC transposes happen once
// per call at the edges.
#pragma once

#include "common.h"
#include "conv2d/conv2d_epilogue.h"

namespace cnnfast {

// Stride 1 (any padding, dilation, groups).
bool taps_possible(const Conv2dShape& s);

template <class T>
void conv2d_forward_taps(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y);

template <class T>
void conv2d_backward_input_taps(const Conv2dShape& s, const T* w, const T* dy, T* dx);

template <class T>
void conv2d_backward_weight_taps(const Conv2dShape& s, const T* x, const T* dy, T* dw);

}  // namespace cnnfast
