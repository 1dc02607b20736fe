// Convolutions Winograd F(m x m, 3x3) cannot take as they are, rewritten as one it
// can: a valid, stride-1, 3x3 convolution of an expanded input
//   x_exp (N, C', P + 2, Q + 2)  with  w_exp (Kg, C', 3, 3)  ->  y (N, Kg, P, Q)
// per group. Writing a filter row r = (3a + r')*stride + i (phase i < stride, 3x3
// block a, row r' < 3 within it) and columns alike,
//   y[k][p][q] = sum_c sum_(r,s) w[k][c][r][s] xpad[c][p*stride + r][q*stride + s]
//              = sum_(c,i,j,a,b) sum_(r',s' < 3) w_exp[k][(c,i,j,a,b)][r'][s'] x_exp[(c,i,j,a,b)][p + r'][q +
//              s']
// with x_exp[(c,i,j,a,b)][u][v] = xpad[c][(u + 3a)*stride_h + i][(v + 3b)*stride_w + j]
// and w_exp the matching taps (zero past R x S). So a stride becomes stride*stride
// phase channels (space-to-depth: AlexNet's 11x11 stride 4 on 3 channels is a 3x3
// on 48), a 5x5 kernel four 3x3 blocks over shifted copies of the input (alphago's
// 5x5 on 48 channels: a 3x3 on 192), and a group a problem of its own. Winograd then
// multiplies 2.25 (F(4x4)) or 4 (F(2x2)) times per output and channel of C', against
// R*S times Cg for im2col: 108 vs 363 for AlexNet's first layer, 432 vs 1200 for a
// 5x5 on 48 channels.
#include <algorithm>

#include "conv2d/conv2d_transforms.h"
#include "conv2d/conv2d_winograd.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

// The expansion's geometry: phases and 3x3 blocks per axis.
struct Expansion {
  index_t sh, sw;  // strides = phases per axis
  index_t A, B;    // 3x3 blocks per axis in the phase domain
  index_t channels_per_input() const { return sh * sw * A * B; }
};

Expansion expansion(const Conv2dShape& s) {
  const index_t sh = s.p.stride_h, sw = s.p.stride_w;
  return {sh, sw, ceil_div(ceil_div(s.R, sh), 3), ceil_div(ceil_div(s.S, sw), 3)};
}

// x_exp for group g: channel ((c*sh + i)*sw + j)*A*B + a*B + b, (P+2) x (Q+2) each.
template <class T>
void expand_input(const Conv2dShape& s, const Expansion& e, const T* x, index_t g, T* xe) {
  const index_t Cg = s.Cg(), Ce = Cg * e.channels_per_input(), He = s.P + 2, We = s.Q + 2;
  parallel_for(s.N * Ce, 4, [&](index_t lo, index_t hi) {
    for (index_t nc = lo; nc < hi; ++nc) {
      const index_t n = nc / Ce, ch = nc % Ce;
      const index_t b = ch % e.B, a = (ch / e.B) % e.A, j = (ch / (e.A * e.B)) % e.sw;
      const index_t i = (ch / (e.A * e.B * e.sw)) % e.sh, c = ch / (e.A * e.B * e.sw * e.sh);
      const T* plane = x + (n * s.C + g * Cg + c) * s.H * s.W;
      T* out = xe + nc * He * We;
      for (index_t u = 0; u < He; ++u) {
        const index_t h = (u + 3 * a) * e.sh + i - s.p.pad_t;  // row of x (unpadded)
        T* row = out + u * We;
        if (h < 0 || h >= s.H) {
          std::fill(row, row + We, T(0));
          continue;
        }
        const T* src = plane + h * s.W;
        for (index_t v = 0; v < We; ++v) {
          const index_t w = (v + 3 * b) * e.sw + j - s.p.pad_l;
          row[v] = (w >= 0 && w < s.W) ? src[w] : T(0);
        }
      }
    }
  });
}

// w_exp for group g: (Kg, C', 3, 3), zero where a block reaches past R x S.
template <class T>
void expand_filters(const Conv2dShape& s, const Expansion& e, const T* w, index_t g, T* we) {
  const index_t Cg = s.Cg(), Kg = s.Kg(), Ce = Cg * e.channels_per_input();
  for (index_t k = 0; k < Kg; ++k)
    for (index_t ch = 0; ch < Ce; ++ch) {
      const index_t b = ch % e.B, a = (ch / e.B) % e.A, j = (ch / (e.A * e.B)) % e.sw;
      const index_t i = (ch / (e.A * e.B * e.sw)) % e.sh, c = ch / (e.A * e.B * e.sw * e.sh);
      const T* src = w + ((g * Kg + k) * Cg + c) * s.R * s.S;
      T* dst = we + (k * Ce + ch) * 9;
      for (index_t rr = 0; rr < 3; ++rr)
        for (index_t ss = 0; ss < 3; ++ss) {
          const index_t r = (3 * a + rr) * e.sh + i, t = (3 * b + ss) * e.sw + j;
          dst[rr * 3 + ss] = (r < s.R && t < s.S) ? src[r * s.S + t] : T(0);
        }
    }
}

}  // namespace

Conv2dShape winograd_expanded_problem(const Conv2dShape& s) {
  Conv2dShape t = s;
  t.C = s.Cg() * expansion(s).channels_per_input();
  t.K = s.Kg();
  t.H = s.P + 2;
  t.W = s.Q + 2;
  t.R = t.S = 3;
  t.p = Conv2dParams{};
  t.p.groups = 1;
  return t;
}

bool winograd_expand_possible(const Conv2dShape& s) {
  // A stride longer than the kernel would add phase channels that only hold zeros
  // (and stride^2 of them: 2^62 for a stride of 2^31), so such layers stay im2col's.
  return s.p.dil_h == 1 && s.p.dil_w == 1 && s.P > 0 && s.Q > 0 && s.p.stride_h <= s.R &&
         s.p.stride_w <= s.S && !winograd_possible(s);
}

template <class T>
void conv2d_forward_winograd_expand(const Conv2dShape& s, bool f4x4, const T* x, const T* w,
                                    ConvEpilogue<T> epilogue, T* y) {
  const Expansion e = expansion(s);
  const Conv2dShape t = winograd_expanded_problem(s);
  const index_t G = s.p.groups, Kg = s.Kg(), PQ = s.P * s.Q;
  T* xe = workspace<T>(Slot::expand_input, {t.N, t.C, t.H, t.W});
  T* we = workspace<T>(Slot::expand_filters, {t.K, t.C, 9});
  T* yg = G > 1 ? workspace<T>(Slot::expand_output, {s.N, Kg, PQ}) : y;
  for (index_t g = 0; g < G; ++g) {
    expand_input(s, e, x, g, xe);
    expand_filters(s, e, w, g, we);
    const ConvEpilogue<T> eg = epilogue.from(g * Kg);
    if (f4x4)
      conv2d_forward_winograd4(t, xe, we, eg, yg);
    else
      conv2d_forward_winograd(t, xe, we, eg, yg);
    if (G == 1) continue;
    parallel_for(s.N, 1, [&](index_t lo, index_t hi) {
      for (index_t n = lo; n < hi; ++n)
        std::copy(yg + n * Kg * PQ, yg + (n + 1) * Kg * PQ, y + (n * s.K + g * Kg) * PQ);
    });
  }
}

template <class T>
void conv2d_backward_input_winograd_expand(const Conv2dShape& s, bool f4x4, const T* w, const T* dy, T* dx) {
  backward_input_as_forward(s, w, dy, dx, [f4x4](const Conv2dShape& t, const T* in, const T* wt, T* out) {
    conv2d_forward_winograd_expand<T>(t, f4x4, in, wt, ConvEpilogue<T>{}, out);
  });
}

#define CNNFAST_INSTANTIATE(T)                                                                  \
  template void conv2d_forward_winograd_expand<T>(const Conv2dShape&, bool, const T*, const T*, \
                                                  ConvEpilogue<T>, T*);                         \
  template void conv2d_backward_input_winograd_expand<T>(const Conv2dShape&, bool, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
