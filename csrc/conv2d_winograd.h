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

namespace cnnfast {

// Which algorithm conv2d uses where both apply. auto: Winograd for 3x3 stride-1
// ungrouped layers with >= 8 channels in and out (>= 64 where padding is 2).
enum class ConvAlgorithm : int { automatic = 0, im2col, winograd };
ConvAlgorithm conv_algorithm();
void set_conv_algorithm(ConvAlgorithm a);

// Whether F(2x2, 3x3) can compute this forward convolution (3x3, stride 1,
// dilation 1, one group, padding <= 2 on each side).
bool winograd_possible(const Conv2dShape& s);
// Whether conv2d's forward pass uses it (the setting above and, for auto, the
// channel counts and padding), and whether its backward-input pass does: that
// pass is the forward problem winograd_backward_problem(s) (dy correlated with
// the flipped, transposed filters, padding 2 - pad), judged the same way.
bool winograd_chosen(const Conv2dShape& s);
bool winograd_chosen_backward_input(const Conv2dShape& s);
bool winograd_chosen_backward_weight(const Conv2dShape& s);
Conv2dShape winograd_backward_problem(const Conv2dShape& s);

template <class T>
void conv2d_forward_winograd(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);

template <class T>
void conv2d_backward_input_winograd(const Conv2dShape& s, const T* w, const T* dy, T* dx);

// dw (K,C,3,3) from x and dy: sum over tiles of (A dy A^T) . (B^T d B), then G^T . G.
template <class T>
void conv2d_backward_weight_winograd(const Conv2dShape& s, const T* x, const T* dy, T* dw);

}  // namespace cnnfast
