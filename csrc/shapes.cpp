// Shape validation shared by the op families (see common.h).
#include <algorithm>

#include "common.h"
#include "sizes.h"

namespace cnnfast {

namespace {
std::string tup(index_t a, index_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }
std::string tup4(index_t a, index_t b, index_t c, index_t d) {
  return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ", " +
         std::to_string(d) + ")";
}
}  // namespace

index_t window_output_size(index_t in, index_t k, index_t stride, index_t dilation, index_t pad_before,
                           index_t pad_after, bool ceil_mode) {
  // Every term is checked: a padding or kernel near 2^63 must not wrap around.
  const index_t padded =
      checked_add(checked_add(in, pad_before, "input + padding"), pad_after, "input + padding");
  const index_t extent = checked_add(checked_mul(dilation, k - 1, "dilated kernel"), 1, "dilated kernel");
  const index_t span = padded - extent;  // both >= 0: cannot overflow
  // ceil_mode lets the last window overhang the padded input by up to stride - 1
  // (PyTorch's rule: its output size decides, not the kernel's fit).
  if (span < 0 && !(ceil_mode && span > -stride)) return 0;
  index_t out = (ceil_mode && span >= 0 ? ceil_div(span, stride) : (span < 0 ? 0 : span / stride)) + 1;
  // With ceil_mode the last window may hang over the end, but it must start
  // inside the input or the left padding.
  if (ceil_mode && (out - 1) >= ceil_div(in + pad_before, stride)) --out;
  return out;
}

namespace {
// Sizes of arrays and index ranges the kernels form from a shape: each must stay
// below kMaxElements (common.h), so that no product a kernel computes from it, and
// no byte count, can wrap around.
void require_elements(std::initializer_list<index_t> factors, const std::string& what) {
  const index_t n = checked_product(factors, what.c_str());
  if (n > kMaxElements)
    throw std::overflow_error(what + " has " + std::to_string(n) + " elements, more than the " +
                              std::to_string(kMaxElements) + " an array may have");
}
}  // namespace

Conv2dShape make_conv2d_shape(index_t N, index_t C, index_t H, index_t W, index_t K, index_t Cw, index_t R,
                              index_t S, const Conv2dParams& p) {
  require(N >= 0 && C >= 0 && H >= 0 && W >= 0, "conv2d: x has a negative dimension");
  require(K >= 0 && Cw >= 0 && R >= 1 && S >= 1, "conv2d: w must have kernel size >= 1, got " + tup(R, S));
  require(p.groups >= 1, "conv2d: groups must be >= 1, got " + std::to_string(p.groups));
  require(p.stride_h >= 1 && p.stride_w >= 1,
          "conv2d: stride must be >= 1, got " + tup(p.stride_h, p.stride_w));
  require(p.dil_h >= 1 && p.dil_w >= 1, "conv2d: dilation must be >= 1, got " + tup(p.dil_h, p.dil_w));
  require(p.pad_t >= 0 && p.pad_b >= 0 && p.pad_l >= 0 && p.pad_r >= 0,
          "conv2d: padding must be >= 0, got " + tup4(p.pad_t, p.pad_b, p.pad_l, p.pad_r));
  require(p.groups <= std::max<index_t>(K, 1), "conv2d: groups=" + std::to_string(p.groups) +
                                                   " is more than the output channels " + std::to_string(K));
  require(C % p.groups == 0 && K % p.groups == 0, "conv2d: groups=" + std::to_string(p.groups) +
                                                      " must divide input channels " + std::to_string(C) +
                                                      " and output channels " + std::to_string(K));
  require(Cw == C / p.groups, "conv2d: w expects " + std::to_string(Cw) + " channels per group but x has " +
                                  std::to_string(C) + " channels and groups=" + std::to_string(p.groups));
  const index_t eff_r =
      checked_add(checked_mul(p.dil_h, R - 1, "conv2d: dilated kernel"), 1, "conv2d: dilated kernel");
  const index_t eff_s =
      checked_add(checked_mul(p.dil_w, S - 1, "conv2d: dilated kernel"), 1, "conv2d: dilated kernel");
  const index_t Hp =
      checked_add(checked_add(H, p.pad_t, "conv2d: padded input"), p.pad_b, "conv2d: padded input");
  const index_t Wp =
      checked_add(checked_add(W, p.pad_l, "conv2d: padded input"), p.pad_r, "conv2d: padded input");
  require(eff_r <= Hp && eff_s <= Wp,
          "conv2d: dilated kernel " + tup(eff_r, eff_s) + " is larger than the padded input " + tup(Hp, Wp));
  Conv2dShape s{N, C, H, W, K, R, S, 0, 0, p};
  s.P = window_output_size(H, R, p.stride_h, p.dil_h, p.pad_t, p.pad_b, false);
  s.Q = window_output_size(W, S, p.stride_w, p.dil_w, p.pad_l, p.pad_r, false);
  // One image's arrays (even for an empty batch: kernels size per-image buffers),
  // the batch's, the padded plane the direct kernel builds and the column matrix
  // im2col unrolls.
  const index_t N1 = std::max<index_t>(N, 1);
  require_elements({H, W}, "conv2d: x's plane " + tup(H, W));
  require_elements({s.P, s.Q}, "conv2d: the output plane " + tup(s.P, s.Q));
  require_elements({N1, C, H, W}, "conv2d: x " + tup4(N, C, H, W));
  require_elements({N1, K, s.P, s.Q}, "conv2d: the output " + tup4(N, K, s.P, s.Q));
  require_elements({K, Cw, R, S}, "conv2d: w " + tup4(K, Cw, R, S));
  require_elements({Hp, Wp}, "conv2d: the padded input plane " + tup(Hp, Wp));
  require_elements({Cw, R, S, s.P, s.Q}, "conv2d: one image's unrolled input (C/groups*R*S x P*Q)");
  return s;
}

Pool2dShape make_pool2d_shape(index_t N, index_t C, index_t H, index_t W, const Pool2dParams& p) {
  require(N >= 0 && C >= 0 && H >= 0 && W >= 0, "pool2d: x has a negative dimension");
  // An empty plane leaves every window without an input element to read (the
  // kernels read the first element of a window's part inside the input).
  require(H >= 1 && W >= 1, "pool2d: x has an empty plane " + tup(H, W));
  require(p.kh >= 1 && p.kw >= 1, "pool2d: kernel_size must be >= 1, got " + tup(p.kh, p.kw));
  require(p.stride_h >= 1 && p.stride_w >= 1,
          "pool2d: stride must be >= 1, got " + tup(p.stride_h, p.stride_w));
  require(p.pad_t >= 0 && p.pad_b >= 0 && p.pad_l >= 0 && p.pad_r >= 0,
          "pool2d: padding must be >= 0, got " + tup4(p.pad_t, p.pad_b, p.pad_l, p.pad_r));
  // Padding beyond half the kernel would allow windows that see only padding.
  // (Compared as pad <= k - pad: 2 * pad may overflow.)
  require(p.pad_t <= p.kh - p.pad_t && p.pad_b <= p.kh - p.pad_b && p.pad_l <= p.kw - p.pad_l &&
              p.pad_r <= p.kw - p.pad_r,
          "pool2d: padding " + tup4(p.pad_t, p.pad_b, p.pad_l, p.pad_r) +
              " must be at most half the kernel " + tup(p.kh, p.kw));
  const index_t Hp =
      checked_add(checked_add(H, p.pad_t, "pool2d: padded input"), p.pad_b, "pool2d: padded input");
  const index_t Wp =
      checked_add(checked_add(W, p.pad_l, "pool2d: padded input"), p.pad_r, "pool2d: padded input");
  // The kernels form window ends (start + kernel) and the padded end plus a stride.
  checked_add(checked_add(Hp, p.kh, "pool2d: window extent"), p.stride_h, "pool2d: window extent");
  checked_add(checked_add(Wp, p.kw, "pool2d: window extent"), p.stride_w, "pool2d: window extent");
  Pool2dShape s{N, C, H, W, 0, 0, p};
  s.P = window_output_size(H, p.kh, p.stride_h, 1, p.pad_t, p.pad_b, p.ceil_mode);
  s.Q = window_output_size(W, p.kw, p.stride_w, 1, p.pad_l, p.pad_r, p.ceil_mode);
  // PyTorch's rule: the output size decides. With ceil_mode a window may overhang
  // the padded input, but every window starts inside the input or its left padding
  // and so holds at least one input element.
  require(s.P >= 1 && s.Q >= 1, "pool2d: kernel " + tup(p.kh, p.kw) + " with stride " +
                                    tup(p.stride_h, p.stride_w) + (p.ceil_mode ? " and ceil_mode" : "") +
                                    " gives no output on the padded input " + tup(Hp, Wp) +
                                    " (the kernel is larger than the padded input)");
  const index_t N1 = std::max<index_t>(N, 1);
  require_elements({H, W}, "pool2d: x's plane " + tup(H, W));
  require_elements({s.P, s.Q}, "pool2d: the output plane " + tup(s.P, s.Q));
  require_elements({N1, C, H, W}, "pool2d: x " + tup4(N, C, H, W));
  require_elements({N1, C, s.P, s.Q}, "pool2d: the output " + tup4(N, C, s.P, s.Q));
  return s;
}

}  // namespace cnnfast
