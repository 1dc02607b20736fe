// Convolution as im2col + GEMM over chunks of images, one group at a time.
//
// For image n and group g, the input patches are unrolled into a column matrix
//   col (Cg*R*S, P*Q),  col[(c*R + r)*S + s][p*Q + q] = x[c][p*sh - pt + r*dh][q*sw - pl + s*dw]
// (zero where that falls in the padding). The columns of `nb` consecutive images
// sit side by side, col (CgRS, nb*PQ), so that one GEMM serves the chunk:
//   forward          y_g  (Kg, nb*PQ)    = w_g (Kg, CgRS) @ col
//   backward input   dcol (CgRS, nb*PQ)  = w_g^T @ dy_g,  then col2im adds dcol into dx
//   backward weight  dw_g (Kg, CgRS)    += dy_g (Kg, nb*PQ) @ col^T
// nb is chosen so a GEMM has at least kMinColumns columns: large outputs go image
// by image (nb = 1, straight into y), tiny ones (lenet5's C5 has P*Q = 1) are
// batched instead of becoming a pile of degenerate products. dy and y are
// gathered/scattered between (N, K, PQ) and the chunk's (Kg, nb*PQ) layout.
// A 1x1 kernel with stride 1 and no padding needs no unrolling when nb = 1.
//
// Threads: with at least as many chunks as threads, each thread takes whole
// chunks (its own buffers, single-threaded GEMM); otherwise chunks go one by one
// and the GEMM is threaded.
#include "conv2d/conv2d.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "conv2d/conv2d_algorithm.h"
#include "conv2d/conv2d_direct.h"
#include "conv2d/conv2d_taps.h"
#include "conv2d/conv2d_winograd.h"
#include "gemm/gemm.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

constexpr index_t kMinColumns = 256;

// dst[0, n) = src[0, n). Short rows (LeNet's are 10 floats) are copied inline: a
// memcpy call per row cost more than the copy, and im2col makes thousands of them
// per image. The attribute keeps GCC from turning the loop back into memcpy.
template <class T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) inline void copy_row(T* dst, const T* src,
                                                                                   index_t n) {
  if (n >= 64) {
    std::memcpy(dst, src, sizeof(T) * static_cast<std::size_t>(n));
    return;
  }
  for (index_t i = 0; i < n; ++i) dst[i] = src[i];
}

bool is_pointwise(const Conv2dShape& s) {
  const Conv2dParams& p = s.p;
  return s.R == 1 && s.S == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_t == 0 && p.pad_b == 0 &&
         p.pad_l == 0 && p.pad_r == 0;
}

// A kernel covering the whole unpadded input with one output per image (lenet5's
// C5, 5x5 on 5x5): a dense layer, y (N, K) = x (N, C*H*W) @ w (K, C*R*S)^T, one GEMM
// for the whole batch instead of per-image columns of height C*R*S and width 1.
bool is_dense(const Conv2dShape& s) {
  const Conv2dParams& p = s.p;
  return s.P == 1 && s.Q == 1 && s.R == s.H && s.S == s.W && p.dil_h == 1 && p.dil_w == 1 && p.groups == 1 &&
         p.pad_t == 0 && p.pad_b == 0 && p.pad_l == 0 && p.pad_r == 0;
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

// x_g (Cg,H,W) -> col (Cg*R*S rows of P*Q, row stride ld)
template <class T>
void im2col(const Conv2dShape& s, const T* x_g, T* col, index_t ld) {
  const Conv2dParams& p = s.p;
  for (index_t c = 0; c < s.Cg(); ++c) {
    for (index_t r = 0; r < s.R; ++r) {
      for (index_t t = 0; t < s.S; ++t) {
        T* row = col + ((c * s.R + r) * s.S + t) * ld;
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
            copy_row(out + q_lo, in + q_lo + shift, q_hi - q_lo);
          } else {
            for (index_t q = q_lo; q < q_hi; ++q) out[q] = in[q * p.stride_w + shift];
          }
          std::fill(out + q_hi, out + s.Q, T(0));
        }
      }
    }
  }
}

// dx_g (Cg,H,W) += col2im(col (Cg*R*S rows of P*Q, row stride ld))
template <class T>
void col2im_add(const Conv2dShape& s, const T* col, index_t ld, T* dx_g) {
  const Conv2dParams& p = s.p;
  for (index_t c = 0; c < s.Cg(); ++c) {
    for (index_t r = 0; r < s.R; ++r) {
      for (index_t t = 0; t < s.S; ++t) {
        const T* row = col + ((c * s.R + r) * s.S + t) * ld;
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

// A run of images [n0, n0 + count) processed with one GEMM per group.
struct Chunk {
  index_t n0, count;
};

index_t images_per_chunk(const Conv2dShape& s) {
  const index_t pq = std::max<index_t>(s.P * s.Q, 1);
  return std::max<index_t>(1, std::min(ceil_div(kMinColumns, pq), s.N));
}

// Runs f(chunk_index, chunk) over every chunk, threading over chunks when there
// are enough of them (GEMMs inside then stay single-threaded, see threads_for).
// Returns the number of thread partitions used (for per-partition partials, at
// most max_parts), f receiving the partition index as its first argument.
template <class F>
int for_each_chunk(const Conv2dShape& s, F&& f, int max_parts = kMaxThreads) {
  const index_t nb = images_per_chunk(s), chunks = ceil_div(s.N, nb);
  const index_t grain = chunks >= get_num_threads() ? 1 : std::max<index_t>(chunks, 1);
  return parallel_chunks(
      chunks, grain,
      [&](int part, index_t lo, index_t hi) {
        for (index_t c = lo; c < hi; ++c) f(part, Chunk{c * nb, std::min(nb, s.N - c * nb)});
      },
      max_parts);
}

// (N,K,PQ) rows of group g for the chunk's images <-> the chunk's (Kg, count*PQ).
template <class T>
void gather_rows(const Conv2dShape& s, const T* src, index_t g, Chunk ch, T* dst) {
  const index_t PQ = s.P * s.Q, cols = ch.count * PQ;
  for (index_t k = 0; k < s.Kg(); ++k)
    for (index_t j = 0; j < ch.count; ++j)
      std::memcpy(dst + k * cols + j * PQ, src + ((ch.n0 + j) * s.K + g * s.Kg() + k) * PQ, sizeof(T) * PQ);
}

template <class T>
void scatter_rows(const Conv2dShape& s, const T* src, index_t g, Chunk ch, T* dst) {
  const index_t PQ = s.P * s.Q, cols = ch.count * PQ;
  for (index_t k = 0; k < s.Kg(); ++k)
    for (index_t j = 0; j < ch.count; ++j)
      std::memcpy(dst + ((ch.n0 + j) * s.K + g * s.Kg() + k) * PQ, src + k * cols + j * PQ, sizeof(T) * PQ);
}

// The chunk's column matrix for group g: x itself for a single pointwise image,
// else unrolled into `col`. Returns the matrix and sets its row stride.
template <class T>
const T* columns(const Conv2dShape& s, const T* x, index_t g, Chunk ch, T* col, index_t& ld) {
  const index_t PQ = s.P * s.Q, HW = s.H * s.W;
  ld = ch.count * PQ;
  if (ch.count == 1 && is_pointwise(s)) return x + (ch.n0 * s.C + g * s.Cg()) * HW;
  for (index_t j = 0; j < ch.count; ++j)
    im2col(s, x + ((ch.n0 + j) * s.C + g * s.Cg()) * HW, col + j * PQ, ld);
  return col;
}

// Non-finite values: every algorithm must give the non-finite outputs of the exact
// sum im2col + GEMM computes, padding included (0 * Inf is NaN there, as in the
// reference). Direct and taps form the same products as the exact sum except those
// with the padding, which they skip or, for backward-input, take from padded dy: so
// where the operand that meets the padding (w, or dy for the weight gradient) is
// finite, those products are 0 either way and every output has the exact sum's
// terms, hence its NaN / +-Inf (in another order, which does not change them). That
// operand is scanned (it is small, or for the weight gradient read anyway), and
// where it holds a non-finite value im2col computes the pass. Winograd's transforms
// mix every value of a tile, so a NaN reaches outputs outside its receptive field and
// +Inf - +Inf turns an exact +-Inf into NaN: after a Winograd-family pass the result
// is scanned too, and computed again by im2col where it holds a non-finite value.
// Both are rare. (Finite sums that overflow may still differ with the order.)
template <class T>
bool any_nonfinite(const T* a, index_t n) {
  if (!nonfinite_scans()) return false;
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = static_cast<Bits>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
  std::atomic<bool> found{false};
  parallel_for(n, index_t{1} << 16, [&](index_t lo, index_t hi) {
    Bits bad = 0;
    for (index_t i = lo; i < hi; ++i) {
      Bits b;
      std::memcpy(&b, a + i, sizeof b);
      bad |= static_cast<Bits>((b & exponent) == exponent);
    }
    if (bad) found.store(true, std::memory_order_relaxed);
  });
  return found.load(std::memory_order_relaxed);
}

// The Winograd family, whose results must be scanned (above).
bool mixes_tiles(ConvAlgorithm a) {
  return a == ConvAlgorithm::winograd || a == ConvAlgorithm::winograd4 || a == ConvAlgorithm::expand ||
         a == ConvAlgorithm::expand4;
}

template <class T>
void forward_im2col(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y);
template <class T>
void backward_input_im2col(const Conv2dShape& s, const T* w, const T* dy, T* dx);
template <class T>
void backward_weight_im2col(const Conv2dShape& s, const T* x, const T* dy, T* dw);

}  // namespace

// Empty dimensions (found by fuzzing: a workspace of 0 elements is a null pointer the
// drivers offset, and a plane of 0 pixels divided the direct driver's chunking by 0):
// an empty result needs no work; an empty sum (no input channels, no filters, no
// images) is 0, plus the bias; an input plane of 0 pixels (every window all padding)
// goes to im2col, whose exact sum gives 0 * w (NaN where w is infinite) as the
// reference does. So the algorithms only ever see non-empty N, C, K and results.
//
// A fused ReLU would hide from the scan of a Winograd-family result the -Inf that
// mixing put where the exact sum is finite (ReLU makes it 0): with ReLU, x is
// scanned instead, before the pass. With x and w finite, only overflow can make a
// result non-finite (the caveat above).
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  if (s.N == 0 || s.K == 0) return;
  if (s.Cg() == 0) {
    const index_t PQ = s.P * s.Q;
    for (index_t i = 0; i < s.N * s.K; ++i)
      std::fill(y + i * PQ, y + (i + 1) * PQ, e.activate(e.bias_of(i % s.K)));
    return;
  }
  ConvAlgorithm a = conv2d_algorithm(s, ConvPass::forward);
  if (s.H == 0 || s.W == 0) a = ConvAlgorithm::im2col;
  if (a != ConvAlgorithm::im2col && any_nonfinite(w, s.K * s.Cg() * s.R * s.S)) a = ConvAlgorithm::im2col;
  if (e.relu && mixes_tiles(a) && any_nonfinite(x, s.N * s.C * s.H * s.W)) a = ConvAlgorithm::im2col;
  switch (a) {
    case ConvAlgorithm::winograd:
      conv2d_forward_winograd(s, x, w, e, y);
      break;
    case ConvAlgorithm::winograd4:
      conv2d_forward_winograd4(s, x, w, e, y);
      break;
    case ConvAlgorithm::expand:
      conv2d_forward_winograd_expand(s, false, x, w, e, y);
      break;
    case ConvAlgorithm::expand4:
      conv2d_forward_winograd_expand(s, true, x, w, e, y);
      break;
    case ConvAlgorithm::direct:
      conv2d_forward_direct(s, x, w, e, y);
      break;
    case ConvAlgorithm::taps:
      conv2d_forward_taps(s, x, w, e, y);
      break;
    default:
      return forward_im2col(s, x, w, e, y);
  }
  if (!e.relu && mixes_tiles(a) && any_nonfinite(y, s.N * s.K * s.P * s.Q)) forward_im2col(s, x, w, e, y);
}

template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  if (s.N == 0 || s.C == 0 || s.H == 0 || s.W == 0) return;
  if (s.K == 0) return std::fill(dx, dx + s.N * s.C * s.H * s.W, T(0));
  ConvAlgorithm a = conv2d_algorithm(s, ConvPass::backward_input);
  if (a != ConvAlgorithm::im2col && any_nonfinite(w, s.K * s.Cg() * s.R * s.S)) a = ConvAlgorithm::im2col;
  switch (a) {
    case ConvAlgorithm::winograd:
      conv2d_backward_input_winograd(s, w, dy, dx);
      break;
    case ConvAlgorithm::winograd4:
      conv2d_backward_input_winograd4(s, w, dy, dx);
      break;
    case ConvAlgorithm::expand:
      conv2d_backward_input_winograd_expand(s, false, w, dy, dx);
      break;
    case ConvAlgorithm::expand4:
      conv2d_backward_input_winograd_expand(s, true, w, dy, dx);
      break;
    case ConvAlgorithm::direct:
      conv2d_backward_input_direct(s, w, dy, dx);
      break;
    case ConvAlgorithm::taps:
      conv2d_backward_input_taps(s, w, dy, dx);
      break;
    default:
      return backward_input_im2col(s, w, dy, dx);
  }
  if (mixes_tiles(a) && any_nonfinite(dx, s.N * s.C * s.H * s.W)) backward_input_im2col(s, w, dy, dx);
}

template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  if (s.K == 0 || s.Cg() == 0) return;
  if (s.N == 0) return std::fill(dw, dw + s.K * s.Cg() * s.R * s.S, T(0));
  ConvAlgorithm a = conv2d_algorithm(s, ConvPass::backward_weight);
  if (s.H == 0 || s.W == 0) a = ConvAlgorithm::im2col;
  if (a != ConvAlgorithm::im2col && any_nonfinite(dy, s.N * s.K * s.P * s.Q)) a = ConvAlgorithm::im2col;
  switch (a) {
    case ConvAlgorithm::winograd:
      conv2d_backward_weight_winograd(s, x, dy, dw);
      break;
    case ConvAlgorithm::direct:
      conv2d_backward_weight_direct(s, x, dy, dw);
      break;
    case ConvAlgorithm::taps:
      conv2d_backward_weight_taps(s, x, dy, dw);
      break;
    default:
      return backward_weight_im2col(s, x, dy, dw);
  }
  if (mixes_tiles(a) && any_nonfinite(dw, s.K * s.Cg() * s.R * s.S)) backward_weight_im2col(s, x, dy, dw);
}

namespace {

// Images [n0, n0 + count) of y (N, K, L) finished by e: + bias, ReLU.
template <class T>
void finish_images(const Conv2dShape& s, ConvEpilogue<T> e, index_t n0, index_t count, index_t L, T* y) {
  if (e.bias == nullptr && !e.relu) return;
  for (index_t n = n0; n < n0 + count; ++n)
    for (index_t k = 0; k < s.K; ++k) {
      T* yk = y + (n * s.K + k) * L;
      const T bk = e.bias_of(k);
      for (index_t i = 0; i < L; ++i) yk[i] = e.apply(yk[i], bk);
    }
}

template <class T>
void forward_im2col(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  const index_t G = s.p.groups, Kg = s.Kg(), PQ = s.P * s.Q;
  const index_t CRS = s.Cg() * s.R * s.S, nb = images_per_chunk(s);
  if (is_dense(s)) {
    gemm<T>(false, true, s.N, s.K, CRS, T(1), x, CRS, w, CRS, T(0), y, s.K);
    return finish_images(s, e, 0, s.N, 1, y);
  }
  for_each_chunk(s, [&](int, Chunk ch) {
    T* col = workspace<T>(Slot::conv_columns, {CRS, nb, PQ});
    T* ybuf = ch.count > 1 ? workspace<T>(Slot::conv_gather, {Kg, nb, PQ}) : nullptr;
    for (index_t g = 0; g < G; ++g) {
      index_t ld;
      const T* B = columns(s, x, g, ch, col, ld);
      if (ch.count == 1) {
        gemm<T>(false, false, Kg, PQ, CRS, T(1), w + g * Kg * CRS, CRS, B, ld, T(0),
                y + (ch.n0 * s.K + g * Kg) * PQ, PQ);
      } else {
        gemm<T>(false, false, Kg, ld, CRS, T(1), w + g * Kg * CRS, CRS, B, ld, T(0), ybuf, ld);
        scatter_rows(s, ybuf, g, ch, y);
      }
    }
    finish_images(s, e, ch.n0, ch.count, PQ, y);
  });
}

template <class T>
void backward_input_im2col(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), PQ = s.P * s.Q, HW = s.H * s.W;
  const index_t CRS = Cg * s.R * s.S, nb = images_per_chunk(s);
  if (is_dense(s)) return gemm<T>(false, false, s.N, CRS, s.K, T(1), dy, s.K, w, CRS, T(0), dx, CRS);
  const bool pointwise = is_pointwise(s);
  for_each_chunk(s, [&](int, Chunk ch) {
    T* dx_chunk = dx + ch.n0 * s.C * HW;
    const index_t cols = ch.count * PQ;
    T* dybuf = ch.count > 1 ? workspace<T>(Slot::conv_gather, {Kg, nb, PQ}) : nullptr;
    const bool direct = ch.count == 1 && pointwise;
    if (!direct) std::fill(dx_chunk, dx_chunk + ch.count * s.C * HW, T(0));
    T* col = direct ? nullptr : workspace<T>(Slot::conv_columns, {CRS, nb, PQ});
    for (index_t g = 0; g < G; ++g) {
      const T* B = dy + (ch.n0 * s.K + g * Kg) * PQ;
      if (ch.count > 1) {
        gather_rows(s, dy, g, ch, dybuf);
        B = dybuf;
      }
      if (direct) {
        gemm<T>(true, false, Cg, PQ, Kg, T(1), w + g * Kg * CRS, CRS, B, PQ, T(0), dx_chunk + g * Cg * HW,
                HW);
        continue;
      }
      gemm<T>(true, false, CRS, cols, Kg, T(1), w + g * Kg * CRS, CRS, B, cols, T(0), col, cols);
      for (index_t j = 0; j < ch.count; ++j)
        col2im_add(s, col + j * PQ, cols, dx_chunk + (j * s.C + g * Cg) * HW);
    }
  });
}

template <class T>
void backward_weight_im2col(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const index_t G = s.p.groups, Kg = s.Kg(), PQ = s.P * s.Q;
  const index_t CRS = s.Cg() * s.R * s.S, wsize = s.K * CRS, nb = images_per_chunk(s);
  std::fill(dw, dw + wsize, T(0));
  if (s.N == 0) return;
  if (is_dense(s)) return gemm<T>(true, false, s.K, CRS, s.N, T(1), dy, s.K, x, CRS, T(0), dw, CRS);

  // Each thread partition accumulates into its own copy of dw (partition 0 into
  // dw itself); the copies are then added in partition order, so the result
  // does not depend on thread timing.
  const index_t chunks = ceil_div(s.N, nb);
  const int parts_max = chunks >= get_num_threads() ? get_num_threads() : 1;
  T* partial = parts_max > 1 ? workspace<T>(Slot::conv_partial, {(parts_max - 1), wsize}) : nullptr;
  if (partial != nullptr) std::fill(partial, partial + (parts_max - 1) * wsize, T(0));
  const int parts = for_each_chunk(
      s,
      [&](int part, Chunk ch) {
        T* acc = part == 0 ? dw : partial + (part - 1) * wsize;
        T* col = workspace<T>(Slot::conv_columns, {CRS, nb, PQ});
        T* dybuf = ch.count > 1 ? workspace<T>(Slot::conv_gather, {Kg, nb, PQ}) : nullptr;
        for (index_t g = 0; g < G; ++g) {
          index_t ld;
          const T* B = columns(s, x, g, ch, col, ld);
          const T* A = dy + (ch.n0 * s.K + g * Kg) * PQ;
          if (ch.count > 1) {
            gather_rows(s, dy, g, ch, dybuf);
            A = dybuf;
          }
          gemm<T>(false, true, Kg, CRS, ld, T(1), A, ld, B, ld, T(1), acc + g * Kg * CRS, CRS);
        }
      },
      parts_max);
  for (int c = 1; c < parts; ++c) {
    const T* src = partial + (c - 1) * wsize;
    for (index_t i = 0; i < wsize; ++i) dw[i] += src[i];
  }
}

}  // namespace

#define CNNFAST_INSTANTIATE(T)                                                                  \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, ConvEpilogue<T>, T*); \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);           \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
