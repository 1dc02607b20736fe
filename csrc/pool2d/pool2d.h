// 2-D max and average pooling, NCHW. Shapes come from make_pool2d_shape.
// Padding never wins a max (it acts as -inf); every window holds at least one
// input element (guaranteed by the shape checks).
#pragma once

#include <algorithm>

#include "common.h"
#include "parallel.h"
#include "sizes.h"

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

// Max pooling that records, per output, which cell of its window won, in one byte:
// argmax = (h - h_start) * kw + (w - w_start), relative to the window's unclipped
// origin (h_start, w_start) = (oh*stride_h - pad_t, ow*stride_w - pad_l). Needs
// kh * kw <= kMaxPoolArgmaxWindow. The backward then reads one byte per output
// instead of the whole input.
//
// With relu, y = relu(max) (which equals the max of relu'd inputs: the two
// commute) and argmax = kPoolNoGradient where max <= 0, since ReLU passes no
// gradient there: one pass over x serves ReLU + pooling, forward and backward.
constexpr std::uint8_t kPoolNoGradient = 255;
constexpr index_t kMaxPoolArgmaxWindow = 255;

// Whether a window's cells can be named by a byte code (kh * kw <= 255, checked
// without forming a product that a huge kernel would overflow).
inline bool fits_byte_argmax(const Pool2dParams& p) {
  return p.kh <= kMaxPoolArgmaxWindow && p.kw <= kMaxPoolArgmaxWindow && p.kh * p.kw <= kMaxPoolArgmaxWindow;
}

// Input cells a window can hold at most (it is clipped to the input): a work
// estimate per output.
inline index_t window_cells(const Pool2dShape& s) {
  return std::min(s.p.kh, std::max<index_t>(s.H, 1)) * std::min(s.p.kw, std::max<index_t>(s.W, 1));
}

// f(nc) for every (image, channel) plane, threaded with enough planes per thread
// (about 32K elements of `work_per_plane` each) to pay for the fork. Shared by
// pool2d.cpp and pool2d_argmax.cpp.
template <class F>
void for_pool_planes(const Pool2dShape& s, index_t work_per_plane, F&& f) {
  // (work_per_plane may be a saturated estimate: see saturating_mul)
  const index_t grain = std::max<index_t>(1, (index_t{1} << 15) / std::max<index_t>(work_per_plane, 1));
  parallel_for(s.N * s.C, grain, [&](index_t lo, index_t hi) {
    for (index_t nc = lo; nc < hi; ++nc) f(nc);
  });
}

// The lectures' 2x2 stride-2 windows when all of them lie inside the input
// (disjoint, no padding reached): the kernels' fast paths.
inline bool is_inner_2x2_stride2(const Pool2dShape& s) {
  const Pool2dParams& p = s.p;
  return p.kh == 2 && p.kw == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_t == 0 && p.pad_l == 0 &&
         2 * s.P <= s.H && 2 * s.Q <= s.W;
}

template <class T>
void max_pool2d_forward_argmax(const Pool2dShape& s, bool relu, const T* x, T* y, std::uint8_t* argmax);

// argmax, dy (N,C,P,Q) -> dx (N,C,H,W). A code naming no cell of its window
// inside the input throws std::invalid_argument (2x2 stride-2 path: gives no
// gradient), so a corrupted argmax cannot write out of bounds.
template <class T>
void max_pool2d_backward_argmax(const Pool2dShape& s, const std::uint8_t* argmax, const T* dy, T* dx);

}  // namespace cnnfast
