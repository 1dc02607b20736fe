// 2-D pooling (NCHW) with the CPU kernels' rules (csrc/pool2d/pool2d.cpp): windows clipped
// to the input, padding never wins a max, the first maximum wins and a NaN wins at
// once. The forwards run one thread per output; the backwards one thread per input
// element, gathering from the windows that cover it (no atomics: the same sums in
// the same order on every run).
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/compat.h"
#include "cuda/elementwise.cuh"
#include "cuda/shapes.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

using cuda::index;
using cuda::PoolShape;

constexpr std::uint8_t kNoGradient = 255;

// Output o's window: its origin (hs, ws), which may lie in the padding, and its rows
// [h0, h1) and columns [w0, w1) clipped to the input.
struct Window {
  index plane, p, q, hs, ws, h0, h1, w0, w1;
  CNNFAST_DEVICE Window(const PoolShape& s, index o)
      : plane(o / (s.P * s.Q)),
        p(o / s.Q % s.P),
        q(o % s.Q),
        hs(p * s.sh - s.pt),
        ws(q * s.sw - s.pl),
        h0(hs < 0 ? 0 : hs),
        h1(hs + s.kh < s.H ? hs + s.kh : s.H),
        w0(ws < 0 ? 0 : ws),
        w1(ws + s.kw < s.W ? ws + s.kw : s.W) {}
};  // argmax code: ReLU passes no gradient

// Max of each window (of relu(x) with relu) and, when codes is not null, the
// window's winning cell as (h - h0) * kw + (w - w0), or kNoGradient where the relu'd
// max is not from a positive input.
template <class T>
struct MaxPoolForward {
  const T* x;
  std::uint8_t* codes;
  PoolShape s;
  bool relu;
  CNNFAST_DEVICE T operator()(index o) const {
    const Window win(s, o);
    const index hs = win.hs, ws = win.ws, h0 = win.h0, h1 = win.h1, w0 = win.w0, w1 = win.w1;
    const T* in = x + win.plane * s.H * s.W;
    index best = h0 * s.W + w0;
    T best_v = in[best];
    if (!dev_isnan(best_v)) {
      for (index h = h0; h < h1; ++h)
        for (index w = w0; w < w1; ++w) {
          const T v = in[h * s.W + w];
          if (v > best_v) {
            best_v = v;
            best = h * s.W + w;
          } else if (dev_isnan(v)) {
            best_v = v;
            best = h * s.W + w;
            h = h1;  // a NaN wins at once
            break;
          }
        }
    }
    const bool no_gradient = relu && !(best_v > T(0)) && !dev_isnan(best_v);
    if (codes)
      codes[o] =
          no_gradient ? kNoGradient : static_cast<std::uint8_t>((best / s.W - hs) * s.kw + (best % s.W - ws));
    return no_gradient ? T(0) : best_v;
  }
};

// The output windows that cover input row h: [first, last] of p with
// p * stride - pad <= h < p * stride - pad + k, within [0, P).
CNNFAST_DEVICE inline void covering(index h, index k, index stride, index pad, index P, index& first,
                                    index& last) {
  const index top = h + pad - k + 1;
  first = top <= 0 ? 0 : (top + stride - 1) / stride;
  last = (h + pad) / stride;
  if (last > P - 1) last = P - 1;
}

// Input element i: its plane, row and column, and the outputs [p0, p1] x [q0, q1]
// whose windows cover it.
struct Covering {
  index plane, h, w, p0, p1, q0, q1;
  CNNFAST_DEVICE Covering(const PoolShape& s, index i)
      : plane(i / (s.H * s.W)), h(i / s.W % s.H), w(i % s.W) {
    covering(h, s.kh, s.sh, s.pt, s.P, p0, p1);
    covering(w, s.kw, s.sw, s.pl, s.Q, q0, q1);
  }
};

// The sum, over the outputs (p, q) whose windows cover input element i (in output
// order, as the CPU's scatter adds them), of backward.share(c, p, q, o), o the output's
// flat index: the two pooling backwards below.
template <class T, class Backward>
CNNFAST_DEVICE T gather_covering(const Backward& backward, const PoolShape& s, index i) {
  const Covering c(s, i);
  T sum = T(0);
  for (index p = c.p0; p <= c.p1; ++p)
    for (index q = c.q0; q <= c.q1; ++q) sum += backward.share(c, p, q, (c.plane * s.P + p) * s.Q + q);
  return sum;
}

// dx from the argmax codes: each dy goes to the cell its code names.
template <class T>
struct MaxPoolBackwardCodes {
  const std::uint8_t* codes;
  const T* dy;
  PoolShape s;
  CNNFAST_DEVICE T share(const Covering& c, index p, index q, index o) const {
    const index code = codes[o];
    const index cell = (c.h - (p * s.sh - s.pt)) * s.kw + (c.w - (q * s.sw - s.pl));
    return code != kNoGradient && code == cell ? dy[o] : T(0);
  }
  CNNFAST_DEVICE T operator()(index i) const { return gather_covering<T>(*this, s, i); }
};

// The number of cells output (p, q) averages over: the window clipped to the padded
// input with count_include_pad, to the input itself without.
CNNFAST_DEVICE inline index avg_divisor(const PoolShape& s, bool count_include_pad, index p, index q) {
  const index hs = p * s.sh - s.pt, ws = q * s.sw - s.pl;
  const index lo_h = count_include_pad ? hs : (hs < 0 ? 0 : hs),
              lo_w = count_include_pad ? ws : (ws < 0 ? 0 : ws);
  const index end_h = count_include_pad ? s.H + s.pb : s.H, end_w = count_include_pad ? s.W + s.pr : s.W;
  const index hi_h = hs + s.kh < end_h ? hs + s.kh : end_h, hi_w = ws + s.kw < end_w ? ws + s.kw : end_w;
  return (hi_h - lo_h) * (hi_w - lo_w);
}

template <class T>
struct AvgPoolForward {
  const T* x;
  PoolShape s;
  bool count_include_pad;
  CNNFAST_DEVICE T operator()(index o) const {
    const Window win(s, o);
    const index h0 = win.h0, h1 = win.h1, w0 = win.w0, w1 = win.w1;
    const T* in = x + win.plane * s.H * s.W;
    T sum = T(0);
    for (index h = h0; h < h1; ++h)
      for (index w = w0; w < w1; ++w) sum += in[h * s.W + w];
    return sum / static_cast<T>(avg_divisor(s, count_include_pad, win.p, win.q));
  }
};

template <class T>
struct AvgPoolBackward {
  const T* dy;
  PoolShape s;
  bool count_include_pad;
  CNNFAST_DEVICE T share(const Covering&, index p, index q, index o) const {
    return dy[o] / static_cast<T>(avg_divisor(s, count_include_pad, p, q));
  }
  CNNFAST_DEVICE T operator()(index i) const { return gather_covering<T>(*this, s, i); }
};

// dx[n, c, h, w] = dy[n, c] / (H * W)
template <class T>
struct GlobalAvgPoolBackward {
  const T* dy;
  index L;
  CNNFAST_DEVICE T operator()(index i) const { return dy[i / L] / static_cast<T>(L); }
};

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
