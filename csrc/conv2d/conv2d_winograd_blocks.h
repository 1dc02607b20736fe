// The cache-blocked Winograd forward driver, shared by F(2x2, 3x3)
// (conv2d_winograd.cpp) and F(4x4, 3x3) (conv2d_winograd4.cpp). Internal header.
//
// A transform policy F supplies the tile size and the three transforms as fixed
// arithmetic on arrays (no generic matrix loops: multiplying by a constant 0 is not
// free, nor NaN-preserving, so each transform is written out):
//   F::m, F::alpha = m + 2, F::points = alpha * alpha
//   F::filter(g (3x3), u (points))                       U = G g G^T
//   F::input<T, NR>(d[alpha][alpha][NR], V, ldv)          V row xi = (B^T d B)[xi], NR tiles
//   F::output<T, NR>(M, ldm, bias, out[m][m][NR])         A^T M A + bias, M row xi
//
// Per call the filters are transformed and packed once as the GEMM microkernel's A
// operand. Threads then take runs of NR tiles (numbered across images): for each
// run, the input transform writes packed B micro-panels straight from x, the
// microkernel fills points x (K/MR) tiles of M in an L2-sized buffer, and the
// output transform stores y. No buffer outgrows L2 and nothing is re-packed.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common.h"
#include "conv2d/conv2d_epilogue.h"
#include "conv2d/conv2d_transforms.h"
#include "cpu_features.h"
#include "gemm/gemm_ukernel.h"
#include "gemm/pack_a_blocks.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {
namespace winograd {

// Tiles of m x m outputs covering P x Q.
struct Tiling {
  index_t m, th, tw;
  index_t per_image() const { return th * tw; }
};

inline Tiling tiling(const Conv2dShape& s, index_t m) { return {m, ceil_div(s.P, m), ceil_div(s.Q, m)}; }

// Where tile t (numbered across images) of the problem lies.
struct TilePos {
  index_t n, ty, tx;
};

inline TilePos tile_pos(const Tiling& tl, index_t t) {
  const index_t TP = tl.per_image(), r = t % TP;
  return {t / TP, r / tl.tw, r % tl.tw};
}

// For NR tiles [t0, t0 + nt) and every input channel: the alpha x alpha patches
// gathered (zero outside the image), transformed for all NR tiles at once (the
// loops over j vectorise), written as each point's packed B micro-panel:
// V[xi][c * NR + j], ldv = C * NR.
template <class F, class T, int NR>
void input_block(const Conv2dShape& s, const Tiling& tl, const T* x, index_t t0, index_t nt, T* V) {
  constexpr int A = F::alpha;
  const index_t ldv = s.C * NR, HW = s.H * s.W;
  // Where each patch cell of each tile sits in its image's channel plane (-1:
  // padding), worked out once for all channels: small maps are mostly border
  // tiles, and bounds checks per cell per channel dominated them.
  index_t off[A][A][NR];
  index_t img[NR];
  for (int j = 0; j < NR; ++j) {
    const TilePos tp = tile_pos(tl, t0 + std::min<index_t>(j, nt - 1));
    img[j] = tp.n * s.C * HW;
    const index_t h0 = tl.m * tp.ty - s.p.pad_t, w0 = tl.m * tp.tx - s.p.pad_l;
    for (int a = 0; a < A; ++a)
      for (int b = 0; b < A; ++b) {
        const index_t h = h0 + a, w = w0 + b;
        off[a][b][j] = (h >= 0 && h < s.H && w >= 0 && w < s.W) ? h * s.W + w : -1;
      }
  }
  for (index_t c = 0; c < s.C; ++c) {
    T d[A][A][NR];
    for (int j = 0; j < NR; ++j) {
      const T* plane = x + img[j] + c * HW;
      for (int a = 0; a < A; ++a)
        for (int b = 0; b < A; ++b) d[a][b][j] = off[a][b][j] >= 0 ? plane[off[a][b][j]] : T(0);
    }
    F::template input<T, NR>(d, V + c * NR, ldv);
  }
}

// From M[xi][k * NR + j] (the GEMM results for NR tiles), y = A^T M A (+ b[k], then
// ReLU when e fuses it) for every filter k and tile j < nt, stored where the tile's
// outputs lie inside P x Q. ldm = Kpad * NR.
template <class F, class T, int NR>
void output_block(const Conv2dShape& s, const Tiling& tl, const T* M, index_t ldm, index_t t0, index_t nt,
                  ConvEpilogue<T> e, T* y) {
  constexpr int m = F::m;
  const index_t PQ = s.P * s.Q;
  index_t base[NR], off[m][m][NR];  // each tile's image in y, and its outputs (-1: past P x Q)
  for (index_t j = 0; j < nt; ++j) {
    const TilePos tp = tile_pos(tl, t0 + j);
    base[j] = tp.n * s.K * PQ;
    for (int a = 0; a < m; ++a)
      for (int c = 0; c < m; ++c) {
        const index_t oh = m * tp.ty + a, ow = m * tp.tx + c;
        off[a][c][j] = (oh < s.P && ow < s.Q) ? oh * s.Q + ow : -1;
      }
  }
  for (index_t k = 0; k < s.K; ++k) {
    T out[m][m][NR];
    F::template output<T, NR>(M + k * NR, ldm, e.bias_of(k), out);
    for (index_t j = 0; j < nt; ++j) {
      T* yk = y + base[j] + k * PQ;
      for (int a = 0; a < m; ++a)
        for (int c = 0; c < m; ++c)
          if (off[a][c][j] >= 0) yk[off[a][c][j]] = e.activate(out[a][c][j]);
    }
  }
}

template <class F, class T, int NR>
void blocks(const Conv2dShape& s, const Tiling& tl, const GemmUkernel<T>& uk, const T* Upack, const T* x,
            ConvEpilogue<T> e, T* y) {
  constexpr int points = F::points;
  const int MR = uk.mr;
  const index_t KC = uk.kc, C = s.C, K = s.K;
  const index_t mpanels = ceil_div(K, MR), cblocks = ceil_div(C, KC), Kpad = mpanels * MR;
  const index_t tiles = s.N * tl.per_image(), nblocks = ceil_div(tiles, NR);
  parallel_for(nblocks, 1, [&](index_t lo, index_t hi) {
    T* V = workspace<T>(Slot::conv_columns, {points, C, NR});
    T* M = workspace<T>(Slot::conv_gather, {points, Kpad, NR});
    for (index_t blk = lo; blk < hi; ++blk) {
      const index_t t0 = blk * NR, nt = std::min<index_t>(NR, tiles - t0);
      input_block<F, T, NR>(s, tl, x, t0, nt, V);
      for (int xi = 0; xi < points; ++xi)
        for (index_t cb = 0; cb < cblocks; ++cb) {
          const index_t c0 = cb * KC, kcb = std::min(KC, C - c0);
          const T* A = Upack + (xi * cblocks + cb) * mpanels * MR * KC;
          for (index_t ip = 0; ip < mpanels; ++ip)
            uk.fn(kcb, A + ip * MR * kcb, V + xi * C * NR + c0 * NR, M + xi * Kpad * NR + ip * MR * NR, NR,
                  T(1), cb == 0 ? T(0) : T(1));
        }
      output_block<F, T, NR>(s, tl, M, Kpad * NR, t0, nt, e, y);
    }
  });
}

// The whole forward pass: x (N,C,H,W), w (K,C,3,3) -> y, finished by e.
template <class F, class T>
void forward(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  constexpr int points = F::points;
  const Tiling tl = tiling(s, F::m);
  const index_t K = s.K, C = s.C;
  const GemmUkernel<T>& uk = select_gemm_ukernel<T>(active_isa());
  T* U = workspace<T>(Slot::winograd_filters, {points, K, C});
  parallel_for(K * C, 64, [&](index_t lo, index_t hi) {
    for (index_t kc = lo; kc < hi; ++kc) {
      T u[points];
      F::filter(w + kc * 9, u);
      for (int xi = 0; xi < points; ++xi) U[xi * K * C + kc] = u[xi];
    }
  });
  const index_t packed = points * ceil_div(C, uk.kc) * ceil_div(K, uk.mr) * uk.mr * uk.kc;
  T* Upack = workspace<T>(Slot::winograd_packed, {packed});
  pack_a_blocks(points, K, C, U, uk.mr, uk.kc, Upack);
  switch (uk.nr) {  // the transforms' loops over tiles need NR at compile time
    case 16:
      return blocks<F, T, 16>(s, tl, uk, Upack, x, e, y);
    case 8:
      return blocks<F, T, 8>(s, tl, uk, Upack, x, e, y);
    case 4:
      return blocks<F, T, 4>(s, tl, uk, Upack, x, e, y);
    default:
      throw std::logic_error("conv2d winograd: unsupported microkernel width " + std::to_string(uk.nr));
  }
}

// The backward-input pass: dy correlated with the filters flipped and transposed,
// padded by 2 - pad on each side, as a forward problem.
template <class F, class T>
void backward_input(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  backward_input_as_forward(s, w, dy, dx, [](const Conv2dShape& t, const T* in, const T* wt, T* out) {
    forward<F>(t, in, wt, ConvEpilogue<T>{}, out);
  });
}

}  // namespace winograd
}  // namespace cnnfast
