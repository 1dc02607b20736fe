#include "conv2d_winograd.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "gemm/gemm.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

std::atomic<int> g_algorithm{static_cast<int>(ConvAlgorithm::automatic)};

constexpr index_t kMinTiles = 256;  // GEMM columns per chunk, as kMinColumns in conv2d.cpp

// Tiles of 2x2 outputs covering P x Q.
struct Tiling {
  index_t th, tw;
  index_t per_image() const { return th * tw; }
};

Tiling tiling(const Conv2dShape& s) { return {ceil_div(s.P, 2), ceil_div(s.Q, 2)}; }

// U[xi][k][c] = (G g_kc G^T)[xi], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
template <class T>
void transform_filters(index_t K, index_t C, const T* w, T* U) {
  parallel_for(K * C, 64, [&](index_t lo, index_t hi) {
    for (index_t kc = lo; kc < hi; ++kc) {
      const T* g = w + kc * 9;
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
        const T u[4] = {g0, (g0 + g1 + g2) * T(0.5), (g0 - g1 + g2) * T(0.5), g2};
        for (int j = 0; j < 4; ++j) U[(i * 4 + j) * K * C + kc] = u[j];
      }
    }
  });
}

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

// V[xi][c][t0 + t] = (B^T d B)[xi] for the tiles of one image, d the 4x4 patch at
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

// y[k][2ty+i][2tx+j] = (A^T M_kt A)[i][j] (+ b[k]) inside P x Q, A^T = [1 1 1 0; 0 1 -1 -1].
// ldm = K * T. Full tiles (both rows and columns inside P x Q) in a loop over tx the
// compiler vectorises; a ragged last row or column of tiles checks bounds.
template <class T>
void transform_output(const Conv2dShape& s, const Tiling& tl, const T* M, index_t ldm, index_t T_cols,
                      index_t t0, const T* b, T* y_n) {
  const index_t full_tw = s.Q / 2;
  for (index_t k = 0; k < s.K; ++k) {
    const T* mk = M + k * T_cols + t0;
    T* yk = y_n + k * s.P * s.Q;
    const T bias = b != nullptr ? b[k] : T(0);
    for (index_t ty = 0; ty < tl.th; ++ty) {
      const T* mrow = mk + ty * tl.tw;
      const bool two_rows = 2 * ty + 1 < s.P;
      T* y0 = yk + 2 * ty * s.Q;
      T* y1 = two_rows ? y0 + s.Q : nullptr;
      auto tile = [&](index_t tx, T (&out)[2][2]) {
        T m[4][4];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) m[i][j] = mrow[(i * 4 + j) * ldm + tx];
        T am[2][4];  // A^T m
        for (int j = 0; j < 4; ++j) {
          am[0][j] = m[0][j] + m[1][j] + m[2][j];
          am[1][j] = m[1][j] - m[2][j] - m[3][j];
        }
        for (int i = 0; i < 2; ++i) {
          out[i][0] = am[i][0] + am[i][1] + am[i][2] + bias;
          out[i][1] = am[i][1] - am[i][2] - am[i][3] + bias;
        }
      };
      if (two_rows) {
        for (index_t tx = 0; tx < full_tw; ++tx) {
          T out[2][2];
          tile(tx, out);
          y0[2 * tx] = out[0][0];
          y0[2 * tx + 1] = out[0][1];
          y1[2 * tx] = out[1][0];
          y1[2 * tx + 1] = out[1][1];
        }
      }
      for (index_t tx = two_rows ? full_tw : 0; tx < tl.tw; ++tx) {
        T out[2][2];
        tile(tx, out);
        for (int i = 0; i < (two_rows ? 2 : 1); ++i)
          for (int j = 0; j < 2 && 2 * tx + j < s.Q; ++j) (i == 0 ? y0 : y1)[2 * tx + j] = out[i][j];
      }
    }
  }
}

}  // namespace

ConvAlgorithm conv_algorithm() { return static_cast<ConvAlgorithm>(g_algorithm.load()); }
void set_conv_algorithm(ConvAlgorithm a) { g_algorithm.store(static_cast<int>(a)); }

bool winograd_possible(const Conv2dShape& s) {
  const Conv2dParams& p = s.p;
  return s.R == 3 && s.S == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 &&
         p.groups == 1 && p.pad_t <= 2 && p.pad_b <= 2 && p.pad_l <= 2 && p.pad_r <= 2 && s.P > 0 && s.Q > 0;
}

bool winograd_chosen(const Conv2dShape& s) {
  if (!winograd_possible(s)) return false;
  switch (conv_algorithm()) {
    case ConvAlgorithm::winograd:
      return true;
    case ConvAlgorithm::im2col:
      return false;
    default: {
      // Measured on the zoo (cnnfast bench ops, conv_algorithm forced each way):
      // its 16 GEMMs are K x C x T and with fewer than 64 channels on either side
      // they are too thin to pay for the transforms' memory traffic; and when the
      // 2x2 tiles overhang P x Q by more than ~12% (7x7 outputs: 31%) the wasted
      // tiles eat the gain.
      const double covered = 4.0 * static_cast<double>(ceil_div(s.P, 2) * ceil_div(s.Q, 2));
      return s.C >= 64 && s.K >= 64 && covered <= 1.12 * static_cast<double>(s.P * s.Q);
    }
  }
}

template <class T>
void conv2d_forward_winograd(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const Tiling tl = tiling(s);
  const index_t TP = tl.per_image(), K = s.K, C = s.C;
  T* U = workspace<T>(Slot::winograd_filters, 16 * K * C);
  transform_filters(K, C, w, U);
  const index_t nb = std::max<index_t>(1, std::min(ceil_div(kMinTiles, TP), s.N));
  const index_t chunks = ceil_div(s.N, nb);
  const index_t grain = chunks >= get_num_threads() ? 1 : std::max<index_t>(chunks, 1);
  parallel_for(chunks, grain, [&](index_t lo, index_t hi) {
    T* V = workspace<T>(Slot::conv_columns, 16 * C * nb * TP);
    T* M = workspace<T>(Slot::conv_gather, 16 * K * nb * TP);
    for (index_t ch = lo; ch < hi; ++ch) {
      const index_t n0 = ch * nb, count = std::min(nb, s.N - n0), cols = count * TP;
      for (index_t j = 0; j < count; ++j)
        transform_input(s, tl, x + (n0 + j) * C * s.H * s.W, V, C * cols, cols, j * TP);
      for (int xi = 0; xi < 16; ++xi)
        gemm<T>(false, false, K, cols, C, T(1), U + xi * K * C, C, V + xi * C * cols, cols, T(0),
                M + xi * K * cols, cols);
      for (index_t j = 0; j < count; ++j)
        transform_output(s, tl, M, K * cols, cols, j * TP, b, y + (n0 + j) * K * s.P * s.Q);
    }
  });
}

template <class T>
void conv2d_backward_input_winograd(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  // dx = correlation of dy (K channels, P x Q) with w'[c][k] = w[k][c] rotated by
  // 180 degrees, padded by 2 - pad on each side: a forward F(2x2, 3x3) problem.
  Conv2dShape t = s;
  t.C = s.K;
  t.K = s.C;
  t.H = s.P;
  t.W = s.Q;
  t.P = s.H;
  t.Q = s.W;
  t.p.pad_t = 2 - s.p.pad_t;
  t.p.pad_b = 2 - s.p.pad_b;
  t.p.pad_l = 2 - s.p.pad_l;
  t.p.pad_r = 2 - s.p.pad_r;
  T* wt = workspace<T>(Slot::winograd_flipped, s.K * s.C * 9);
  for (index_t k = 0; k < s.K; ++k)
    for (index_t c = 0; c < s.C; ++c)
      for (int r = 0; r < 9; ++r) wt[(c * s.K + k) * 9 + r] = w[(k * s.C + c) * 9 + (8 - r)];
  conv2d_forward_winograd<T>(t, dy, wt, nullptr, dx);
}

#define CNNFAST_INSTANTIATE(T)                                                                    \
  template void conv2d_forward_winograd<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input_winograd<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
