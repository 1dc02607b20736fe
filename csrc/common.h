// Shared vocabulary of the kernel library: index type, argument checks, and
// the shape structs that every op family validates once and then trusts.
//
// Nothing here knows about Python. The checks throw std::invalid_argument,
// which the bindings turn into ValueError; they are the last line of defence
// (the Python `ops` layer already gave the user a friendlier message), so that
// no shape reachable from Python can make a kernel read or write out of bounds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cnnfast {

using index_t = std::int64_t;

[[noreturn]] inline void fail(const std::string& msg) { throw std::invalid_argument(msg); }

inline void require(bool ok, const std::string& msg) {
  if (!ok) fail(msg);
}

// a >= 0, b >= 1. (Not (a + b - 1) / b, which overflows for a stride near 2^63.)
inline index_t ceil_div(index_t a, index_t b) { return a / b + (a % b != 0); }
inline index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// The most elements an array, a workspace or an index range of a kernel may have:
// 2^59, so that any count times any element size (at most 16 bytes) still fits
// in index_t (see sizes.h for the checked arithmetic that enforces it).
constexpr index_t kMaxElements = index_t{1} << 59;

// Output length of a sliding window along one axis:
//   floor((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1,
// or ceil with ceil_mode, where the last window must still start inside the
// input or the left padding (PyTorch's rule). Returns <= 0 when no window fits.
index_t window_output_size(index_t in, index_t k, index_t stride, index_t dilation, index_t pad_before,
                           index_t pad_after, bool ceil_mode);

// Hyper-parameters of a 2-D convolution, padding already resolved to
// (top, bottom, left, right).
struct Conv2dParams {
  index_t stride_h = 1, stride_w = 1;
  index_t dil_h = 1, dil_w = 1;
  index_t pad_t = 0, pad_b = 0, pad_l = 0, pad_r = 0;
  index_t groups = 1;
};

// x (N,C,H,W), w (K,C/groups,R,S) -> y (N,K,P,Q)
struct Conv2dShape {
  index_t N, C, H, W;
  index_t K, R, S;
  index_t P, Q;
  Conv2dParams p;
  index_t Cg() const { return C / p.groups; }  // input channels per group
  index_t Kg() const { return K / p.groups; }  // output channels per group
};

// Validates the combination and computes P, Q. `Cw` is w.shape[1].
Conv2dShape make_conv2d_shape(index_t N, index_t C, index_t H, index_t W, index_t K, index_t Cw, index_t R,
                              index_t S, const Conv2dParams& p);

// Hyper-parameters of 2-D pooling.
struct Pool2dParams {
  index_t kh = 1, kw = 1;
  index_t stride_h = 1, stride_w = 1;
  index_t pad_t = 0, pad_b = 0, pad_l = 0, pad_r = 0;
  bool ceil_mode = false;
};

// x (N,C,H,W) -> y (N,C,P,Q)
struct Pool2dShape {
  index_t N, C, H, W;
  index_t P, Q;
  Pool2dParams p;
};

Pool2dShape make_pool2d_shape(index_t N, index_t C, index_t H, index_t W, const Pool2dParams& p);

}  // namespace cnnfast
