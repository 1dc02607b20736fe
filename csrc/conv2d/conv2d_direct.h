// Stride-1 convolution as a GEMM on shifted windows of the padded input plane,
// with no column matrix.
//
// Pad the input of image n, group g, to a plane (Cg, Hp, Wp), Hp = P + (R-1)*dil_h,
// Wp = Q + (S-1)*dil_w, and number the outputs j = p*Wp + q over the plane's full
// width. Then for every j
//   y[k][j] = sum_{c,r,s} w[k][c][r][s] * plane[c*Hp*Wp + r*dil_h*Wp + s*dil_w + j]
// so row (c,r,s) of im2col's column matrix is the plane itself, shifted by a fixed
// offset: a GEMM whose B operand needs no unrolling and no packing. The
// microkernel reads 16 consecutive j straight from the plane (L1/L2-resident: one
// image's channels of a group), the filters are packed once per call into 6-row
// panels, and the columns q >= Q of each row (the wrap-around into the next row)
// are computed and dropped: the efficiency Q / Wp is what the automatic choice
// weighs (conv2d_algorithm.cpp). The backward-input pass is the same computation
// on dy (conv2d_backward_problem).
#pragma once

#include "common.h"
#include "conv2d/conv2d_epilogue.h"

namespace cnnfast {

// Stride 1, and the padded plane small enough for 32-bit offsets.
bool direct_possible(const Conv2dShape& s);
// The output columns the direct kernel computes per output channel and image:
// P * Wp (im2col + GEMM computes P * Q).
index_t direct_columns(const Conv2dShape& s);

template <class T>
void conv2d_forward_direct(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y);

template <class T>
void conv2d_backward_input_direct(const Conv2dShape& s, const T* w, const T* dy, T* dx);

// The floats of padded planes one chunk of the weight gradient holds (its images
// are batched until the chunk has >= 256 pixels).
index_t direct_weight_chunk_floats(const Conv2dShape& s);

// dw (K, Cg, R, S): for each (c,r,s) row, dw[k][crs] = sum over images and real
// pixels l = (p, q) of dy[k][l] * plane[off(crs) + p*Wp + q]. The microkernel holds
// a 6 (c,r,s) x 16 output-channel tile, broadcasts its 6 input values straight
// from the plane (no column matrix) and streams dy transposed to 16 channels per
// pixel; only real pixels are summed (the wrap-around columns never enter).
template <class T>
void conv2d_backward_weight_direct(const Conv2dShape& s, const T* x, const T* dy, T* dw);

}  // namespace cnnfast
