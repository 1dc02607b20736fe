// Convolution as im2col + GEMM, one image and group at a time.
//
// For image n and group g, the input patches are unrolled into a column matrix
//   col (Cg*R*S, P*Q),  col[(c*R + r)*S + s][p*Q + q] = x[c][p*sh - pt + r*dh][q*sw - pl + s*dw]
// (zero where that falls in the padding), and then
//   forward          y_g  (Kg, PQ)     = w_g (Kg, CgRS) @ col
//   backward input   dcol (CgRS, PQ)   = w_g^T @ dy_g,  then col2im adds dcol into dx
//   backward weight  dw_g (Kg, CgRS)  += dy_g (Kg, PQ) @ col^T
// A 1x1 kernel with stride 1 and no padding needs no unrolling: col is x.
//
// Threads: with at least as many images as threads, each thread takes whole
// images (its own column buffer, single-threaded GEMM); otherwise images go
// one by one and the GEMM is threaded. The performance issue replaces this
// first algorithm per shape; the reference tests keep it honest.
#include "conv2d.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm/gemm.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

bool is_pointwise(const Conv2dShape& s) {
  const Conv2dParams& p = s.p;
  return s.R == 1 && s.S == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_t == 0 && p.pad_b == 0 &&
         p.pad_l == 0 && p.pad_r == 0;
}

// Output columns q whose input column iw = q*sw + shift lies inside [0, W):
// returns [q_lo, q_hi).
void valid_q_range(const Conv2dShape& s, index_t shift, index_t& q_lo, index_t& q_hi) {
  const index_t sw = s.p.stride_w;
  q_lo = shift >= 0 ? 0 : ceil_div(-shift, sw);
  q_hi = (s.W - shift) <= 0 ? 0 : ceil_div(s.W - shift, sw);
  q_lo = std::min(q_lo, s.Q);
  q_hi = std::max(q_lo, std::min(q_hi, s.Q));
}

// x_g (Cg,H,W) -> col (Cg*R*S, P*Q)
template <class T>
void im2col(const Conv2dShape& s, const T* x_g, T* col) {
  const Conv2dParams& p = s.p;
  const index_t PQ = s.P * s.Q;
  for (index_t c = 0; c < s.Cg(); ++c) {
    for (index_t r = 0; r < s.R; ++r) {
      for (index_t t = 0; t < s.S; ++t) {
        T* row = col + ((c * s.R + r) * s.S + t) * PQ;
        const index_t shift = t * p.dil_w - p.pad_l;
        index_t q_lo, q_hi;
        valid_q_range(s, shift, q_lo, q_hi);
        for (index_t oh = 0; oh < s.P; ++oh) {
          T* out = row + oh * s.Q;
          const index_t ih = oh * p.stride_h - p.pad_t + r * p.dil_h;
          if (ih < 0 || ih >= s.H) {
            std::fill(out, out + s.Q, T(0));
            continue;
          }
          const T* in = x_g + (c * s.H + ih) * s.W;  // input row; column q reads in[q*sw + shift]
          std::fill(out, out + q_lo, T(0));
          if (q_lo < q_hi && p.stride_w == 1) {
            std::memcpy(out + q_lo, in + q_lo + shift, sizeof(T) * (q_hi - q_lo));
          } else {
            for (index_t q = q_lo; q < q_hi; ++q) out[q] = in[q * p.stride_w + shift];
          }
          std::fill(out + q_hi, out + s.Q, T(0));
        }
      }
    }
  }
}

// dx_g (Cg,H,W) += col2im(col (Cg*R*S, P*Q))
template <class T>
void col2im_add(const Conv2dShape& s, const T* col, T* dx_g) {
  const Conv2dParams& p = s.p;
  const index_t PQ = s.P * s.Q;
  for (index_t c = 0; c < s.Cg(); ++c) {
    for (index_t r = 0; r < s.R; ++r) {
      for (index_t t = 0; t < s.S; ++t) {
        const T* row = col + ((c * s.R + r) * s.S + t) * PQ;
        const index_t shift = t * p.dil_w - p.pad_l;
        index_t q_lo, q_hi;
        valid_q_range(s, shift, q_lo, q_hi);
        for (index_t oh = 0; oh < s.P; ++oh) {
          const index_t ih = oh * p.stride_h - p.pad_t + r * p.dil_h;
          if (ih < 0 || ih >= s.H) continue;
          const T* in = row + oh * s.Q;
          T* out = dx_g + (c * s.H + ih) * s.W;
          for (index_t q = q_lo; q < q_hi; ++q) out[q * p.stride_w + shift] += in[q];
        }
      }
    }
  }
}

// Runs f(n) for every image, threading over images when there are enough of
// them (GEMMs inside then stay single-threaded, see threads_for).
template <class F>
void for_each_image(index_t N, F&& f) {
  const index_t grain = N >= get_num_threads() ? 1 : N;
  parallel_for(N, grain, [&](index_t lo, index_t hi) {
    for (index_t n = lo; n < hi; ++n) f(n);
  });
}

}  // namespace

template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), PQ = s.P * s.Q, HW = s.H * s.W;
  const index_t CRS = Cg * s.R * s.S;
  const bool pointwise = is_pointwise(s);
  for_each_image(s.N, [&](index_t n) {
    T* col = pointwise ? nullptr : workspace<T>(Slot::conv_columns, CRS * PQ);
    for (index_t g = 0; g < G; ++g) {
      const T* x_g = x + (n * s.C + g * Cg) * HW;
      T* y_g = y + (n * s.K + g * Kg) * PQ;
      if (!pointwise) im2col(s, x_g, col);
      gemm<T>(false, false, Kg, PQ, CRS, T(1), w + g * Kg * CRS, CRS, pointwise ? x_g : col, PQ, T(0),
              y_g, PQ);
    }
    if (b != nullptr) {
      for (index_t k = 0; k < s.K; ++k) {
        T* yk = y + (n * s.K + k) * PQ;
        for (index_t i = 0; i < PQ; ++i) yk[i] += b[k];
      }
    }
  });
}

template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), PQ = s.P * s.Q, HW = s.H * s.W;
  const index_t CRS = Cg * s.R * s.S;
  const bool pointwise = is_pointwise(s);
  for_each_image(s.N, [&](index_t n) {
    T* dx_n = dx + n * s.C * HW;
    if (pointwise) {
      for (index_t g = 0; g < G; ++g)
        gemm<T>(true, false, Cg, PQ, Kg, T(1), w + g * Kg * CRS, CRS, dy + (n * s.K + g * Kg) * PQ, PQ,
                T(0), dx_n + g * Cg * HW, HW);
      return;
    }
    std::fill(dx_n, dx_n + s.C * HW, T(0));
    T* col = workspace<T>(Slot::conv_columns, CRS * PQ);
    for (index_t g = 0; g < G; ++g) {
      gemm<T>(true, false, CRS, PQ, Kg, T(1), w + g * Kg * CRS, CRS, dy + (n * s.K + g * Kg) * PQ, PQ,
              T(0), col, PQ);
      col2im_add(s, col, dx_n + g * Cg * HW);
    }
  });
}

template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), PQ = s.P * s.Q, HW = s.H * s.W;
  const index_t CRS = Cg * s.R * s.S, wsize = s.K * CRS;
  const bool pointwise = is_pointwise(s);
  std::fill(dw, dw + wsize, T(0));
  if (s.N == 0) return;

  // Each chunk of images accumulates into its own copy of dw (chunk 0 into dw
  // itself); the copies are then added in chunk order, so the result does not
  // depend on thread timing.
  const int chunks_max = s.N >= get_num_threads() ? get_num_threads() : 1;
  T* partial = chunks_max > 1 ? workspace<T>(Slot::conv_partial, (chunks_max - 1) * wsize) : nullptr;
  const index_t grain = chunks_max > 1 ? 1 : s.N;
  const int chunks = parallel_chunks(s.N, grain, [&](int chunk, index_t lo, index_t hi) {
    T* acc = chunk == 0 ? dw : partial + (chunk - 1) * wsize;
    if (chunk != 0) std::fill(acc, acc + wsize, T(0));
    T* col = pointwise ? nullptr : workspace<T>(Slot::conv_columns, CRS * PQ);
    for (index_t n = lo; n < hi; ++n) {
      for (index_t g = 0; g < G; ++g) {
        const T* x_g = x + (n * s.C + g * Cg) * HW;
        if (!pointwise) im2col(s, x_g, col);
        gemm<T>(false, true, Kg, CRS, PQ, T(1), dy + (n * s.K + g * Kg) * PQ, PQ,
                pointwise ? x_g : col, PQ, T(1), acc + g * Kg * CRS, CRS);
      }
    }
  });
  for (int c = 1; c < chunks; ++c) {
    const T* src = partial + (c - 1) * wsize;
    for (index_t i = 0; i < wsize; ++i) dw[i] += src[i];
  }
}

#define CNNFAST_INSTANTIATE(T)                                                           \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
