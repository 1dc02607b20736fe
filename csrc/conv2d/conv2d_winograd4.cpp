// Winograd F(4x4, 3x3) (Lavin & Gray 2016): each 4x4 block of outputs costs 36
// multiplies per input-output channel pair instead of 144 (F(2x2, 3x3): 64 per
// four 2x2 blocks), at the price of larger transform coefficients (up to 5 in B,
// 8 in A, 1/24 in G), which grow float32's rounding error by roughly 10x over
// F(2x2, 3x3) (tests/test_conv2d_winograd.py measures it against the float64
// reference). The forward driver is conv2d_winograd_blocks.h's; the backward-input
// pass is the forward problem on dy with flipped, transposed filters.
//
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#include "conv2d/conv2d_winograd.h"
#include "conv2d/conv2d_winograd_blocks.h"

namespace cnnfast {

namespace {

struct F4x4 {
  static constexpr int m = 4, alpha = 6, points = 36;

  // (G v) for one column v = (v0, v1, v2) of the filter.
  template <class T>
  static void g_column(T v0, T v1, T v2, T* out) {
    const T sum = v0 + v2;
    out[0] = v0 * T(0.25);
    out[1] = -(sum + v1) / T(6);
    out[2] = -(sum - v1) / T(6);
    out[3] = v0 / T(24) + v1 / T(12) + v2 / T(6);
    out[4] = v0 / T(24) - v1 / T(12) + v2 / T(6);
    out[5] = v2;
  }

  // u = G g G^T (6x6, row-major) for one 3x3 filter g.
  template <class T>
  static void filter(const T* g, T* u) {
    T gg[6][3];  // G g
    for (int j = 0; j < 3; ++j) {
      T col[6];
      g_column(g[j], g[3 + j], g[6 + j], col);
      for (int i = 0; i < 6; ++i) gg[i][j] = col[i];
    }
    for (int i = 0; i < 6; ++i) g_column(gg[i][0], gg[i][1], gg[i][2], u + i * 6);
  }

  // (B^T v) for one column v0..v5 of a patch, NR tiles at once.
  template <class T, int NR>
  static void bt_column(const T* v0, const T* v1, const T* v2, const T* v3, const T* v4, const T* v5,
                        T (*out)[NR]) {
    for (int j = 0; j < NR; ++j) {
      const T a = v3[j] - T(4) * v1[j], b = v4[j] - T(4) * v2[j];
      const T c = T(2) * (v3[j] - v1[j]), e = v4[j] - v2[j];
      out[0][j] = T(4) * v0[j] - T(5) * v2[j] + v4[j];
      out[1][j] = a + b;
      out[2][j] = b - a;
      out[3][j] = c + e;
      out[4][j] = e - c;
      out[5][j] = T(4) * v1[j] - T(5) * v3[j] + v5[j];
    }
  }

  // V row (a*6 + b) = (B^T d B)[a][b] for NR tiles.
  template <class T, int NR>
  static void input(const T (&d)[6][6][NR], T* V, index_t ldv) {
    T bd[6][6][NR];  // bd[b][a] = (B^T d)[a][b]: column b of d transformed
    for (int b = 0; b < 6; ++b) {
      T in[6][NR];
      for (int a = 0; a < 6; ++a)
        for (int j = 0; j < NR; ++j) in[a][j] = d[a][b][j];
      bt_column<T, NR>(in[0], in[1], in[2], in[3], in[4], in[5], bd[b]);
    }
    for (int a = 0; a < 6; ++a) {
      T row[6][NR];
      bt_column<T, NR>(bd[0][a], bd[1][a], bd[2][a], bd[3][a], bd[4][a], bd[5][a], row);
      for (int b = 0; b < 6; ++b) {
        T* v = V + (a * 6 + b) * ldv;
        for (int j = 0; j < NR; ++j) v[j] = row[b][j];
      }
    }
  }

  // (A^T v) for one column v0..v5, NR tiles at once.
  template <class T, int NR>
  static void at_column(const T* v0, const T* v1, const T* v2, const T* v3, const T* v4, const T* v5,
                        T (*out)[NR]) {
    for (int j = 0; j < NR; ++j) {
      const T s12 = v1[j] + v2[j], d12 = v1[j] - v2[j], s34 = v3[j] + v4[j], d34 = v3[j] - v4[j];
      out[0][j] = v0[j] + s12 + s34;
      out[1][j] = d12 + T(2) * d34;
      out[2][j] = s12 + T(4) * s34;
      out[3][j] = d12 + T(8) * d34 + v5[j];
    }
  }

  // out = A^T m A + bias for NR tiles, m[a][b] at M + (a*6 + b) * ldm.
  template <class T, int NR>
  static void output(const T* M, index_t ldm, T bias, T (&out)[4][4][NR]) {
    T am[6][4][NR];  // am[b][i] = (A^T m)[i][b]
    for (int b = 0; b < 6; ++b)
      at_column<T, NR>(M + (0 * 6 + b) * ldm, M + (1 * 6 + b) * ldm, M + (2 * 6 + b) * ldm,
                       M + (3 * 6 + b) * ldm, M + (4 * 6 + b) * ldm, M + (5 * 6 + b) * ldm, am[b]);
    for (int i = 0; i < 4; ++i) {
      T row[4][NR];
      at_column<T, NR>(am[0][i], am[1][i], am[2][i], am[3][i], am[4][i], am[5][i], row);
      for (int c = 0; c < 4; ++c)
        for (int j = 0; j < NR; ++j) out[i][c][j] = row[c][j] + bias;
    }
  }
};

}  // namespace

template <class T>
void conv2d_forward_winograd4(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  winograd::forward<F4x4>(s, x, w, e, y);
}

template <class T>
void conv2d_backward_input_winograd4(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  winograd::backward_input<F4x4>(s, w, dy, dx);
}

#define CNNFAST_INSTANTIATE(T)                                                                            \
  template void conv2d_forward_winograd4<T>(const Conv2dShape&, const T*, const T*, ConvEpilogue<T>, T*); \
  template void conv2d_backward_input_winograd4<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
