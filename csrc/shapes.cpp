// Shape validation shared by the op families (see common.h).
#include "common.h"

namespace cnnfast {

namespace {
std::string tup(index_t a, index_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }
std::string tup4(index_t a, index_t b, index_t c, index_t d) {
  return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ", " +
         std::to_string(d) + ")";
}
}  // namespace

index_t window_output_size(index_t in, index_t k, index_t stride, index_t dilation,
                           index_t pad_before, index_t pad_after, bool ceil_mode) {
  const index_t span = in + pad_before + pad_after - dilation * (k - 1) - 1;
  if (span < 0) return 0;
  index_t out = (ceil_mode ? ceil_div(span, stride) : span / stride) + 1;
  // With ceil_mode the last window may hang over the end, but it must start
  // inside the input or the left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad_before) --out;
  return out;
}

Conv2dShape make_conv2d_shape(index_t N, index_t C, index_t H, index_t W, index_t K, index_t Cw,
                              index_t R, index_t S, const Conv2dParams& p) {
  require(N >= 0 && C >= 0 && H >= 0 && W >= 0, "conv2d: x has a negative dimension");
  require(K >= 0 && Cw >= 0 && R >= 1 && S >= 1, "conv2d: w must have kernel size >= 1, got " + tup(R, S));
  require(p.groups >= 1, "conv2d: groups must be >= 1, got " + std::to_string(p.groups));
  require(p.stride_h >= 1 && p.stride_w >= 1,
          "conv2d: stride must be >= 1, got " + tup(p.stride_h, p.stride_w));
  require(p.dil_h >= 1 && p.dil_w >= 1, "conv2d: dilation must be >= 1, got " + tup(p.dil_h, p.dil_w));
  require(p.pad_t >= 0 && p.pad_b >= 0 && p.pad_l >= 0 && p.pad_r >= 0,
          "conv2d: padding must be >= 0, got " + tup4(p.pad_t, p.pad_b, p.pad_l, p.pad_r));
  require(C % p.groups == 0 && K % p.groups == 0,
          "conv2d: groups=" + std::to_string(p.groups) + " must divide input channels " +
              std::to_string(C) + " and output channels " + std::to_string(K));
  require(Cw * p.groups == C, "conv2d: w expects " + std::to_string(Cw) + " channels per group but x has " +
                                  std::to_string(C) + " channels and groups=" + std::to_string(p.groups));
  const index_t eff_r = p.dil_h * (R - 1) + 1, eff_s = p.dil_w * (S - 1) + 1;
  require(eff_r <= H + p.pad_t + p.pad_b && eff_s <= W + p.pad_l + p.pad_r,
          "conv2d: dilated kernel " + tup(eff_r, eff_s) + " is larger than the padded input " +
              tup(H + p.pad_t + p.pad_b, W + p.pad_l + p.pad_r));
  Conv2dShape s{N, C, H, W, K, R, S, 0, 0, p};
  s.P = window_output_size(H, R, p.stride_h, p.dil_h, p.pad_t, p.pad_b, false);
  s.Q = window_output_size(W, S, p.stride_w, p.dil_w, p.pad_l, p.pad_r, false);
  return s;
}

Pool2dShape make_pool2d_shape(index_t N, index_t C, index_t H, index_t W, const Pool2dParams& p) {
  require(N >= 0 && C >= 0 && H >= 0 && W >= 0, "pool2d: x has a negative dimension");
  require(p.kh >= 1 && p.kw >= 1, "pool2d: kernel_size must be >= 1, got " + tup(p.kh, p.kw));
  require(p.stride_h >= 1 && p.stride_w >= 1,
          "pool2d: stride must be >= 1, got " + tup(p.stride_h, p.stride_w));
  require(p.pad_t >= 0 && p.pad_b >= 0 && p.pad_l >= 0 && p.pad_r >= 0,
          "pool2d: padding must be >= 0, got " + tup4(p.pad_t, p.pad_b, p.pad_l, p.pad_r));
  // Padding beyond half the kernel would allow windows that see only padding.
  require(2 * p.pad_t <= p.kh && 2 * p.pad_b <= p.kh && 2 * p.pad_l <= p.kw && 2 * p.pad_r <= p.kw,
          "pool2d: padding " + tup4(p.pad_t, p.pad_b, p.pad_l, p.pad_r) +
              " must be at most half the kernel " + tup(p.kh, p.kw));
  require(p.kh <= H + p.pad_t + p.pad_b && p.kw <= W + p.pad_l + p.pad_r,
          "pool2d: kernel " + tup(p.kh, p.kw) + " is larger than the padded input " +
              tup(H + p.pad_t + p.pad_b, W + p.pad_l + p.pad_r));
  Pool2dShape s{N, C, H, W, 0, 0, p};
  s.P = window_output_size(H, p.kh, p.stride_h, 1, p.pad_t, p.pad_b, p.ceil_mode);
  s.Q = window_output_size(W, p.kw, p.stride_w, 1, p.pad_l, p.pad_r, p.ceil_mode);
  return s;
}

}  // namespace cnnfast
