#include "conv2d/conv2d_winograd.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "conv2d/conv2d_winograd_blocks.h"
#include "gemm/gemm.h"
#include "gemm/gemm_ukernel.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

using winograd::Tiling;

// F(2x2, 3x3): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1].
// (The transform policy of conv2d_winograd_blocks.h.)
struct F2x2 {
  static constexpr int m = 2, alpha = 4, points = 16;

  // u = G g G^T (4x4, row-major) for one 3x3 filter g.
  template <class T>
  static void filter(const T* g, T* u) {
    T gg[4][3];  // G g
    for (int j = 0; j < 3; ++j) {
      const T g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
      gg[0][j] = g0;
      gg[1][j] = (g0 + g1 + g2) * T(0.5);
      gg[2][j] = (g0 - g1 + g2) * T(0.5);
      gg[3][j] = g2;
    }
    for (int i = 0; i < 4; ++i) {
      const T g0 = gg[i][0], g1 = gg[i][1], g2 = gg[i][2];
      u[i * 4 + 0] = g0;
      u[i * 4 + 1] = (g0 + g1 + g2) * T(0.5);
      u[i * 4 + 2] = (g0 - g1 + g2) * T(0.5);
      u[i * 4 + 3] = g2;
    }
  }

  // V row (a*4 + b) = (B^T d B)[a][b] for NR tiles.
  template <class T, int NR>
  static void input(const T (&d)[4][4][NR], T* V, index_t ldv) {
    T bd[4][4][NR];  // B^T d
    for (int b = 0; b < 4; ++b)
      for (int j = 0; j < NR; ++j) {
        bd[0][b][j] = d[0][b][j] - d[2][b][j];
        bd[1][b][j] = d[1][b][j] + d[2][b][j];
        bd[2][b][j] = d[2][b][j] - d[1][b][j];
        bd[3][b][j] = d[1][b][j] - d[3][b][j];
      }
    for (int a = 0; a < 4; ++a) {
      T* v0 = V + (a * 4 + 0) * ldv;
      T* v1 = V + (a * 4 + 1) * ldv;
      T* v2 = V + (a * 4 + 2) * ldv;
      T* v3 = V + (a * 4 + 3) * ldv;
      for (int j = 0; j < NR; ++j) {
        v0[j] = bd[a][0][j] - bd[a][2][j];
        v1[j] = bd[a][1][j] + bd[a][2][j];
        v2[j] = bd[a][2][j] - bd[a][1][j];
        v3[j] = bd[a][1][j] - bd[a][3][j];
      }
    }
  }

  // out = A^T m A + bias for NR tiles, m[a][b] at M + (a*4 + b) * ldm.
  template <class T, int NR>
  static void output(const T* M, index_t ldm, T bias, T (&out)[2][2][NR]) {
    T am[2][4][NR];  // A^T m
    for (int b4 = 0; b4 < 4; ++b4) {
      const T* m0 = M + (0 * 4 + b4) * ldm;
      const T* m1 = M + (1 * 4 + b4) * ldm;
      const T* m2 = M + (2 * 4 + b4) * ldm;
      const T* m3 = M + (3 * 4 + b4) * ldm;
      for (int j = 0; j < NR; ++j) {
        am[0][b4][j] = m0[j] + m1[j] + m2[j];
        am[1][b4][j] = m1[j] - m2[j] - m3[j];
      }
    }
    for (int a = 0; a < 2; ++a)
      for (int j = 0; j < NR; ++j) {
        out[a][0][j] = am[a][0][j] + am[a][1][j] + am[a][2][j] + bias;
        out[a][1][j] = am[a][1][j] - am[a][2][j] - am[a][3][j] + bias;
      }
  }
};

Tiling tiling(const Conv2dShape& s) { return winograd::tiling(s, 2); }

// B^T d B for one 4x4 patch d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <class T>
inline void input_tile(const T (&d)[4][4], T (&v)[16]) {
  T bd[4][4];  // B^T d
  for (int j = 0; j < 4; ++j) {
    bd[0][j] = d[0][j] - d[2][j];
    bd[1][j] = d[1][j] + d[2][j];
    bd[2][j] = d[2][j] - d[1][j];
    bd[3][j] = d[1][j] - d[3][j];
  }
  for (int i = 0; i < 4; ++i) {
    v[i * 4 + 0] = bd[i][0] - bd[i][2];
    v[i * 4 + 1] = bd[i][1] + bd[i][2];
    v[i * 4 + 2] = bd[i][2] - bd[i][1];
    v[i * 4 + 3] = bd[i][1] - bd[i][3];
  }
}

// For the weight gradient: V[xi][c][t0 + t] = (B^T d B)[xi] for the tiles of one image, d the 4x4 patch at
// rows 2*ty - pad_t.., cols 2*tx - pad_l.. (zero outside the image). ldv = C * T.
// Tiles whose patch lies inside the image go through a loop over tx the compiler
// vectorises (stride-2 loads, contiguous stores); the border ones are gathered
// with bounds checks.
template <class T>
void transform_input(const Conv2dShape& s, const Tiling& tl, const T* x_n, T* V, index_t ldv, index_t T_cols,
                     index_t t0) {
  const index_t pt = s.p.pad_t, pl = s.p.pad_l;
  // Tiles tx in [tx_lo, tx_hi) have all four columns inside the image.
  const index_t tx_lo = std::min(tl.tw, ceil_div(pl, 2));
  const index_t tx_hi = std::max(tx_lo, std::min(tl.tw, (s.W + pl - 4) / 2 + 1));
  for (index_t c = 0; c < s.C; ++c) {
    const T* plane = x_n + c * s.H * s.W;
    T* vc = V + c * T_cols + t0;
    for (index_t ty = 0; ty < tl.th; ++ty) {
      const index_t h0 = 2 * ty - pt;
      auto border = [&](index_t tx) {
        const index_t w0 = 2 * tx - pl;
        T d[4][4];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) {
            const index_t h = h0 + i, w = w0 + j;
            d[i][j] = (h >= 0 && h < s.H && w >= 0 && w < s.W) ? plane[h * s.W + w] : T(0);
          }
        T v[16];
        input_tile(d, v);
        for (int xi = 0; xi < 16; ++xi) vc[xi * ldv + ty * tl.tw + tx] = v[xi];
      };
      if (h0 < 0 || h0 + 4 > s.H) {
        for (index_t tx = 0; tx < tl.tw; ++tx) border(tx);
        continue;
      }
      for (index_t tx = 0; tx < tx_lo; ++tx) border(tx);
      const T* r0 = plane + h0 * s.W - pl;  // column w of the patch row i: r_i[2*tx + j]
      const T *r1 = r0 + s.W, *r2 = r1 + s.W, *r3 = r2 + s.W;
      T* out = vc + ty * tl.tw;
      for (index_t tx = tx_lo; tx < tx_hi; ++tx) {
        const index_t w = 2 * tx;
        const T d[4][4] = {{r0[w], r0[w + 1], r0[w + 2], r0[w + 3]},
                           {r1[w], r1[w + 1], r1[w + 2], r1[w + 3]},
                           {r2[w], r2[w + 1], r2[w + 2], r2[w + 3]},
                           {r3[w], r3[w + 1], r3[w + 2], r3[w + 3]}};
        T v[16];
        input_tile(d, v);
        for (int xi = 0; xi < 16; ++xi) out[xi * ldv + tx] = v[xi];
      }
      for (index_t tx = tx_hi; tx < tl.tw; ++tx) border(tx);
    }
  }
}

// Z[xi][k][t0 + t] = (A g A^T)[xi] for the tiles of one image, g the 2x2 block of
// dy at rows 2*ty.., cols 2*tx.. (zero past P x Q), A = [1 0; 1 1; 1 -1; 0 -1]:
// the gradient of a tile's outputs carried back through A^T . A. ldz = K * T.
template <class T>
void transform_dy(const Conv2dShape& s, const Tiling& tl, const T* dy_n, T* Z, index_t ldz, index_t T_cols,
                  index_t t0) {
  for (index_t k = 0; k < s.K; ++k) {
    const T* plane = dy_n + k * s.P * s.Q;
    T* zk = Z + k * T_cols + t0;
    for (index_t ty = 0; ty < tl.th; ++ty)
      for (index_t tx = 0; tx < tl.tw; ++tx) {
        T g[2][2];
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            const index_t oh = 2 * ty + a, ow = 2 * tx + b;
            g[a][b] = (oh < s.P && ow < s.Q) ? plane[oh * s.Q + ow] : T(0);
          }
        T r[4][2];  // A g
        for (int b = 0; b < 2; ++b) {
          r[0][b] = g[0][b];
          r[1][b] = g[0][b] + g[1][b];
          r[2][b] = g[0][b] - g[1][b];
          r[3][b] = -g[1][b];
        }
        const index_t t = ty * tl.tw + tx;
        for (int i = 0; i < 4; ++i) {
          const T z[4] = {r[i][0], r[i][0] + r[i][1], r[i][0] - r[i][1], -r[i][1]};
          for (int j = 0; j < 4; ++j) zk[(i * 4 + j) * ldz + t] = z[j];
        }
      }
  }
}

// dw[k][c] = G^T dU[k][c] G for every filter, dU[xi][k][c] the 16 accumulated
// products, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
template <class T>
void transform_filter_gradient(index_t K, index_t C, const T* dU, T* dw) {
  parallel_for(K * C, 64, [&](index_t lo, index_t hi) {
    for (index_t kc = lo; kc < hi; ++kc) {
      T u[4][4];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) u[i][j] = dU[(i * 4 + j) * K * C + kc];
      T gu[3][4];  // G^T u
      for (int j = 0; j < 4; ++j) {
        gu[0][j] = u[0][j] + (u[1][j] + u[2][j]) * T(0.5);
        gu[1][j] = (u[1][j] - u[2][j]) * T(0.5);
        gu[2][j] = (u[1][j] + u[2][j]) * T(0.5) + u[3][j];
      }
      T* out = dw + kc * 9;
      for (int r = 0; r < 3; ++r) {
        out[r * 3 + 0] = gu[r][0] + (gu[r][1] + gu[r][2]) * T(0.5);
        out[r * 3 + 1] = (gu[r][1] - gu[r][2]) * T(0.5);
        out[r * 3 + 2] = (gu[r][1] + gu[r][2]) * T(0.5) + gu[r][3];
      }
    }
  });
}

}  // namespace

bool winograd_possible(const Conv2dShape& s) {
  const Conv2dParams& p = s.p;
  const auto pad_ok = [](index_t pad) { return pad >= 0 && pad <= 2; };
  return s.R == 3 && s.S == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 &&
         p.groups == 1 && pad_ok(p.pad_t) && pad_ok(p.pad_b) && pad_ok(p.pad_l) && pad_ok(p.pad_r) &&
         s.P > 0 && s.Q > 0;
}

template <class T>
void conv2d_forward_winograd(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  winograd::forward<F2x2>(s, x, w, e, y);
}

template <class T>
void conv2d_backward_input_winograd(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  winograd::backward_input<F2x2>(s, w, dy, dx);
}

template <class T>
void conv2d_backward_weight_winograd(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  // dU_xi (K x C) = sum over tiles of Z_xi (K x T) @ V_xi^T (T x C): the chain rule
  // through y = A^T (U . V) A with U = G g G^T, then dw = G^T dU G. Threads take
  // chunks of whole images, each summing into its own dU (partition 0 into the
  // first), added in partition order afterwards: deterministic for a thread count.
  const Tiling tl = tiling(s);
  const index_t TP = tl.per_image(), K = s.K, C = s.C, usize = 16 * K * C;
  const index_t nb = std::max<index_t>(1, std::min(ceil_div(index_t{128}, TP), s.N));
  const index_t chunks = ceil_div(s.N, nb);
  const int parts_max = chunks >= get_num_threads() ? get_num_threads() : 1;
  T* dU = workspace<T>(Slot::winograd_filters, {usize, parts_max});
  std::fill(dU, dU + usize * parts_max, T(0));
  const int parts = parallel_chunks(
      chunks, chunks >= get_num_threads() ? 1 : chunks,
      [&](int part, index_t lo, index_t hi) {
        T* acc = dU + part * usize;
        T* V = workspace<T>(Slot::conv_columns, {16, C, nb, TP});
        T* Z = workspace<T>(Slot::conv_gather, {16, K, nb, TP});
        for (index_t ch = lo; ch < hi; ++ch) {
          const index_t n0 = ch * nb, count = std::min(nb, s.N - n0), cols = count * TP;
          for (index_t j = 0; j < count; ++j) {
            transform_input(s, tl, x + (n0 + j) * C * s.H * s.W, V, C * cols, cols, j * TP);
            transform_dy(s, tl, dy + (n0 + j) * K * s.P * s.Q, Z, K * cols, cols, j * TP);
          }
          for (int xi = 0; xi < 16; ++xi)
            gemm<T>(false, true, K, C, cols, T(1), Z + xi * K * cols, cols, V + xi * C * cols, cols, T(1),
                    acc + xi * K * C, C);
        }
      },
      parts_max);
  for (int p = 1; p < parts; ++p)
    for (index_t i = 0; i < usize; ++i) dU[i] += dU[p * usize + i];
  transform_filter_gradient(K, C, dU, dw);
}

#define CNNFAST_INSTANTIATE(T)                                                                           \
  template void conv2d_forward_winograd<T>(const Conv2dShape&, const T*, const T*, ConvEpilogue<T>, T*); \
  template void conv2d_backward_input_winograd<T>(const Conv2dShape&, const T*, const T*, T*);           \
  template void conv2d_backward_weight_winograd<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
