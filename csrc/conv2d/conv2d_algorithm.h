// Which algorithm each pass of a convolution runs, decided in one place.
//
//   im2col    unroll patches into a column matrix, one GEMM (conv2d.cpp); any shape
//   winograd  F(2x2, 3x3) minimal filtering (conv2d_winograd.cpp); 3x3 stride 1
//   winograd4 F(4x4, 3x3) (conv2d_winograd4.cpp): forward and backward-input only
//   expand, expand4  F(2x2 / 4x4, 3x3) on the layer rewritten as a valid 3x3 stride-1
//             convolution (conv2d_winograd_expand.cpp): strides, other kernel sizes,
//             groups; forward and stride-1 backward-input
//   direct    GEMM on shifted windows of the padded input plane, no column
//             matrix (conv2d_direct.cpp); stride 1
//   taps      one GEMM per kernel tap and output row in a batch-innermost layout,
//             padding never multiplied (conv2d_taps.cpp); stride 1
//
// The automatic choice comes from measurements on the zoo's layer shapes (the
// rules and their figures are in conv2d_algorithm.cpp); set_conv_algorithm forces
// one algorithm wherever it applies (im2col elsewhere), for tests and benchmarks.
#pragma once

#include "common.h"

namespace cnnfast {

enum class ConvAlgorithm : int { automatic = 0, im2col, winograd, winograd4, expand, expand4, direct, taps };
enum class ConvPass : int { forward, backward_input, backward_weight };

const char* conv_algorithm_name(ConvAlgorithm a);
ConvAlgorithm parse_conv_algorithm(const std::string& name);  // throws std::invalid_argument

// The forced algorithm (automatic: none forced).
ConvAlgorithm conv_algorithm();
void set_conv_algorithm(ConvAlgorithm a);

// Whether conv2d scans for non-finite values to keep every algorithm's NaN / Inf
// pattern exact (conv2d.cpp; on by default). Off only to measure what the scans
// cost (cnnfast bench nonfinite).
bool nonfinite_scans();
void set_nonfinite_scans(bool on);

// What `pass` of the convolution `s` runs: im2col, winograd or direct.
ConvAlgorithm conv2d_algorithm(const Conv2dShape& s, ConvPass pass);

}  // namespace cnnfast
