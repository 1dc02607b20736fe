// The rewrites the convolution algorithms share, apart from the choice between
// them (conv2d_algorithm.h): the backward-input pass of a stride-1 convolution is a
// forward convolution of dy with the filters flipped and transposed per group, so
// the direct kernel, both Winograd tilings and the expanded layers compute it with
// their forward drivers, and the chooser rates it as that forward problem.
#pragma once

#include "common.h"
#include "workspace.h"

namespace cnnfast {

// The backward-input pass of a stride-1 convolution as a forward problem:
// dx = dy correlated with the filters flipped and transposed per group
// (flip_transpose_filters), input dy (N, K, P, Q), C and K swapped, padding
// (R-1)*dil - pad on each side (negative: that many border rows are cropped).
Conv2dShape conv2d_backward_problem(const Conv2dShape& s);

// wt (C, K/groups, R, S): wt[g*Cg + c][k][r][s] = w[g*Kg + k][c][R-1-r][S-1-s].
template <class T>
void flip_transpose_filters(const Conv2dShape& s, const T* w, T* wt);

// A stride-1 backward-input pass run by a forward kernel: with the filters flipped
// and transposed, forward(t, dy, wt, dx) on t = conv2d_backward_problem(s). (direct,
// both Winograd tilings and the expanded layers all compute it so.)
template <class T, class Forward>
void backward_input_as_forward(const Conv2dShape& s, const T* w, const T* dy, T* dx, Forward&& forward) {
  T* wt = workspace<T>(Slot::conv_flipped, {s.K, s.Cg(), s.R, s.S});
  flip_transpose_filters(s, w, wt);
  forward(conv2d_backward_problem(s), dy, static_cast<const T*>(wt), dx);
}

}  // namespace cnnfast
