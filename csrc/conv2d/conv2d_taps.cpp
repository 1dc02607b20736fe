#include "conv2d/conv2d_taps.h"

#include <algorithm>
#include <atomic>

#include "gemm/gemm.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

// [lo, hi) of outputs along one axis whose input, at tap offset `shift` = t*dil - pad,
// lies inside [0, extent).
struct Range {
  index_t lo, hi;
};

Range valid_outputs(index_t outputs, index_t extent, index_t shift) {
  const index_t lo = std::clamp<index_t>(-shift, 0, outputs);
  return {lo, std::clamp<index_t>(extent - shift, lo, outputs)};
}

// Calls f(r, t, p, q0, q1, h, w0) for every tap (r, t) and output row p it reaches
// (outputs [q0, q1) of row p read input row h from column w0 on), and tap_done()
// after each tap's rows.
template <class F, class D>
void for_each_tap_row(const Conv2dShape& s, F&& f, D&& tap_done) {
  const Conv2dParams& cp = s.p;
  for (index_t r = 0; r < s.R; ++r) {
    const index_t shift_h = r * cp.dil_h - cp.pad_t;
    const Range rows = valid_outputs(s.P, s.H, shift_h);
    for (index_t t = 0; t < s.S; ++t) {
      const index_t shift_w = t * cp.dil_w - cp.pad_l;
      const Range cols = valid_outputs(s.Q, s.W, shift_w);
      if (cols.lo == cols.hi) continue;
      for (index_t p = rows.lo; p < rows.hi; ++p)
        f(r, t, p, cols.lo, cols.hi, p + shift_h, cols.lo + shift_w);
      tap_done();
    }
  }
}

// a (N, C, HW) -> at (HW, N, C). Per image a (C x HW) transpose, written a row of
// C at a time (the maps this path takes are small, so the strided reads stay in L1).
template <class T>
void to_batch_inner(index_t N, index_t C, index_t HW, const T* a, T* at) {
  parallel_for(N, 1, [&](index_t lo, index_t hi) {
    for (index_t n = lo; n < hi; ++n)
      for (index_t i = 0; i < HW; ++i) {
        const T* src = a + n * C * HW + i;
        T* dst = at + (i * N + n) * C;
        for (index_t c = 0; c < C; ++c) dst[c] = src[c * HW];
      }
  });
}

// at (HW, N, C) -> a (N, C, HW), finished by e (+ bias[c] when given, ReLU when fused)
template <class T>
void from_batch_inner(index_t N, index_t C, index_t HW, const T* at, ConvEpilogue<T> e, T* a) {
  parallel_for(N, 1, [&](index_t lo, index_t hi) {
    for (index_t n = lo; n < hi; ++n)
      for (index_t i = 0; i < HW; ++i) {
        const T* src = at + (i * N + n) * C;
        T* dst = a + n * C * HW + i;
        if (e.bias != nullptr || e.relu) {
          for (index_t c = 0; c < C; ++c) dst[c * HW] = e.apply(src[c], e.bias_of(c));
        } else {
          for (index_t c = 0; c < C; ++c) dst[c * HW] = src[c];
        }
      }
  });
}

// One parallel region per call; each thread runs its share of every GEMM
// single-threaded (a threaded GEMM per tap and row entered a region, with its
// barriers, 27 times for a 3x3 map).
//
// Shared taps: the output blocks of one tap are disjoint (one per output row) but
// those of different taps overlap, so threads split each tap's rows and meet at a
// barrier before the next tap. f(part, parts, r, t, p, q0, q1, h, w0) computes rows
// [m0, m1) of its block, m = share_start(block rows, part / part + 1, parts).
// An exception (a thread's scratch allocation) is kept and rethrown afterwards; the
// thread still meets every barrier.
inline index_t share_start(index_t n, index_t part, index_t parts) { return n * part / parts; }

template <class F>
void for_each_tap_row_shared(const Conv2dShape& s, F&& f) {
  const int nt = in_parallel_region() ? 1 : get_num_threads();
  ExceptionCarrier carrier;
  std::atomic<bool> failed{false};
  auto run = [&](int tid, int nth, TeamBarrier& team) {
    for_each_tap_row(
        s,
        [&](index_t r, index_t t, index_t p, index_t q0, index_t q1, index_t h, index_t w0) {
          if (failed.load(std::memory_order_relaxed)) return;
          carrier.run([&] {
            try {
              f(tid, nth, r, t, p, q0, q1, h, w0);
            } catch (...) {
              failed.store(true);
              throw;
            }
          });
        },
        [&team] { team.wait(); });
  };
  run_team(nt, run);
  carrier.rethrow();
}

// The filters by tap, ws[g][r*S + t] (Cg x Kg) = w[g*Kg + k][c][r][t]: from w into
// ws when to_taps, else back. Threads take input channels; each moves a filter's
// R*S taps together.
template <class T>
void reorder_filters(const Conv2dShape& s, bool to_taps, const T* from, T* to) {
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  parallel_for(G * Cg, 16, [&](index_t lo, index_t hi) {
    for (index_t gc = lo; gc < hi; ++gc) {
      const index_t g = gc / Cg, c = gc % Cg;
      for (index_t k = 0; k < Kg; ++k)
        for (index_t rs = 0; rs < RS; ++rs) {
          const index_t in_w = ((g * Kg + k) * Cg + c) * RS + rs, in_ws = ((g * RS + rs) * Cg + c) * Kg + k;
          to[to_taps ? in_ws : in_w] = from[to_taps ? in_w : in_ws];
        }
    }
  });
}

// The forward pass and the backward-input pass are the same accumulation with the
// roles of input and output exchanged:
//   forward:        yt rows at (p, q0)  (K columns) += xt rows at (h, w0)  (C columns) @ tap matrix
//   backward-input: dxt rows at (h, w0) (C columns) += dyt rows at (p, q0) (K columns) @ tap matrix^T
// with the tap matrix ws[g][r*S + t] (Cg x Kg). `in` and `out` are batch-inner.
template <class T>
void accumulate_taps(const Conv2dShape& s, bool backward, const T* in, const T* ws, T* out) {
  const index_t N = s.N, G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  const index_t in_c = backward ? s.K : s.C, out_c = backward ? s.C : s.K;
  const index_t in_g = in_c / G, out_g = out_c / G;
  for_each_tap_row_shared(s, [&](index_t part, index_t parts, index_t r, index_t t, index_t p, index_t q0,
                                 index_t q1, index_t h, index_t w0) {
    const index_t rows = (q1 - q0) * N, m0 = share_start(rows, part, parts);
    const index_t m1 = share_start(rows, part + 1, parts);
    const index_t at_x = (h * s.W + w0) * N + m0, at_y = (p * s.Q + q0) * N + m0;  // first row
    const index_t in_row = backward ? at_y : at_x, out_row = backward ? at_x : at_y;
    for (index_t g = 0; g < G && m0 < m1; ++g)
      gemm<T>(false, backward, m1 - m0, out_g, in_g, T(1), in + in_row * in_c + g * in_g, in_c,
              ws + (g * RS + r * s.S + t) * Cg * Kg, Kg, T(1), out + out_row * out_c + g * out_g, out_c);
  });
}

// A whole forward (in = x, out = y, + bias) or backward-input (in = dy, out = dx)
// pass: transpose in, accumulate every tap, transpose out.
template <class T>
void taps_pass(const Conv2dShape& s, bool backward, const T* in, const T* w, ConvEpilogue<T> e, T* out) {
  const index_t N = s.N, in_c = backward ? s.K : s.C, out_c = backward ? s.C : s.K;
  const index_t in_hw = backward ? s.P * s.Q : s.H * s.W, out_hw = backward ? s.H * s.W : s.P * s.Q;
  T* in_t = workspace<T>(Slot::conv_columns, {in_hw, N, in_c});
  T* out_t = workspace<T>(Slot::conv_gather, {out_hw, N, out_c});
  T* ws = workspace<T>(Slot::conv_flipped, {s.K, s.Cg(), s.R, s.S});
  to_batch_inner(N, in_c, in_hw, in, in_t);
  reorder_filters(s, true, w, ws);
  std::fill(out_t, out_t + out_hw * N * out_c, T(0));
  accumulate_taps(s, backward, in_t, ws, out_t);
  from_batch_inner(N, out_c, out_hw, out_t, e, out);
}

}  // namespace

bool taps_possible(const Conv2dShape& s) {
  return s.p.stride_h == 1 && s.p.stride_w == 1 && s.P > 0 && s.Q > 0;
}

template <class T>
void conv2d_forward_taps(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  taps_pass(s, false, x, w, e, y);
}

template <class T>
void conv2d_backward_input_taps(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  taps_pass(s, true, dy, w, ConvEpilogue<T>{}, dx);
}

template <class T>
void conv2d_backward_weight_taps(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const index_t N = s.N, C = s.C, K = s.K, G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  T* xt = workspace<T>(Slot::conv_columns, {s.H, s.W, N, C});
  T* dyt = workspace<T>(Slot::conv_gather, {s.P, s.Q, N, K});
  T* dws = workspace<T>(Slot::conv_flipped, {K, Cg, RS});
  to_batch_inner(N, C, s.H * s.W, x, xt);
  to_batch_inner(N, K, s.P * s.Q, dy, dyt);
  std::fill(dws, dws + K * Cg * RS, T(0));
  // (Cg x Kg tap matrix) += xt[h][w0 + .]^T (Cg x rows) @ dyt[p][q0 + .] (rows x Kg)
  // Threads own input channels (rows of every tap's Cg x Kg gradient): no two
  // write the same element, so no barriers.
  const index_t parts = get_num_threads();
  parallel_chunks(parts, 1, [&](int, index_t lo, index_t hi) {
    const index_t c0 = share_start(Cg, lo, parts), c1 = share_start(Cg, hi, parts);
    if (c0 == c1) return;
    for_each_tap_row(
        s,
        [&](index_t r, index_t t, index_t p, index_t q0, index_t q1, index_t h, index_t w0) {
          for (index_t g = 0; g < G; ++g)
            gemm<T>(true, false, c1 - c0, Kg, (q1 - q0) * N, T(1), xt + (h * s.W + w0) * N * C + g * Cg + c0,
                    C, dyt + (p * s.Q + q0) * N * K + g * Kg, K, T(1),
                    dws + ((g * RS + r * s.S + t) * Cg + c0) * Kg, Kg);
        },
        [] {});
  });
  reorder_filters(s, false, dws, dw);
}

#define CNNFAST_INSTANTIATE(T)                                                                       \
  template void conv2d_forward_taps<T>(const Conv2dShape&, const T*, const T*, ConvEpilogue<T>, T*); \
  template void conv2d_backward_input_taps<T>(const Conv2dShape&, const T*, const T*, T*);           \
  template void conv2d_backward_weight_taps<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
