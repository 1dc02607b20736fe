// Max pooling with one-byte argmax codes, optionally fused with a preceding
// ReLU (see pool2d.h). The lectures' 2x2 stride-2 windows take a branch-free
// path (vectorised with AVX2 for float); other windows use the general scan.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cpu_features.h"
#include "parallel.h"
#include "pool2d/pool2d.h"

#ifdef CNNFAST_HAVE_AVX2_KERNELS
#include "pool2d/avx2/max_pool2x2_avx2.h"
#endif

namespace cnnfast {

namespace {

// The window scan's rule as a sequence of selects: the first maximum wins ties,
// the first NaN wins outright. Used for the 2x2 cells a b / c d in order.
template <class T>
struct ArgmaxScan {
  T m;
  int k = 0;
  bool done;
  explicit ArgmaxScan(T first) : m(first), done(std::isnan(first)) {}
  void add(T v, int j) {
    const bool nan = !done && std::isnan(v);
    const bool take = nan || (!done && v > m);
    m = take ? v : m;
    k = take ? j : k;
    done = done || nan;
  }
};

// y, code for a winning value v with window-relative index k (ReLU applied if asked).
template <class T>
inline void emit(bool relu, T v, int k, T& y, std::uint8_t& code) {
  if (relu && v <= T(0)) {  // v <= 0 is false for NaN, which ReLU passes on
    y = v < T(0) ? T(0) : v;
    code = kPoolNoGradient;
    return;
  }
  y = v;
  code = static_cast<std::uint8_t>(k);
}

template <class T>
void row_2x2(index_t Q, const T* r0, const T* r1, bool relu, T* y, std::uint8_t* code, index_t ow) {
  for (; ow < Q; ++ow) {
    ArgmaxScan<T> scan(r0[2 * ow]);
    scan.add(r0[2 * ow + 1], 1);
    scan.add(r1[2 * ow], 2);
    scan.add(r1[2 * ow + 1], 3);
    emit(relu, scan.m, scan.k, y[ow], code[ow]);
  }
}

// The SIMD row kernels of the 2x2 stride-2 path, chosen per ISA as GEMM's are
// (select_gemm_ukernel). Each does a prefix of the row's Q outputs and returns how
// many; the scalar loops finish the rest (all of it where there is no SIMD kernel).
template <class T>
struct MaxPool2x2Ukernel {
  index_t (*row)(index_t Q, const T* r0, const T* r1, bool relu, T* y, std::uint8_t* code);
  index_t (*backward_row)(index_t Q, const std::uint8_t* code, const T* dy, T* d0, T* d1);
  const char* name;
};

template <class T>
index_t no_row(index_t, const T*, const T*, bool, T*, std::uint8_t*) {
  return 0;
}
template <class T>
index_t no_backward_row(index_t, const std::uint8_t*, const T*, T*, T*) {
  return 0;
}

template <class T>
const MaxPool2x2Ukernel<T>& select_max_pool2x2_ukernel(Isa isa) {
  static const MaxPool2x2Ukernel<T> generic{&no_row<T>, &no_backward_row<T>, "max_pool2x2_generic"};
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  if constexpr (std::is_same_v<T, float>) {
    static const MaxPool2x2Ukernel<float> avx2{&max_pool2x2_row_avx2, &max_pool2x2_backward_row_avx2,
                                               "max_pool2x2_avx2"};
    if (isa == Isa::avx2) return avx2;
  }
#endif
  (void)isa;
  return generic;
}

// Any window: scan the part inside the input, row by row.
template <class T>
void plane_general(const Pool2dShape& s, bool relu, const T* plane, T* y, std::uint8_t* code) {
  const Pool2dParams& p = s.p;
  for (index_t oh = 0; oh < s.P; ++oh) {
    const index_t hs = oh * p.stride_h - p.pad_t;
    const index_t h0 = std::max<index_t>(hs, 0), h1 = std::min(hs + p.kh, s.H);
    for (index_t ow = 0; ow < s.Q; ++ow) {
      const index_t ws = ow * p.stride_w - p.pad_l;
      const index_t w0 = std::max<index_t>(ws, 0), w1 = std::min(ws + p.kw, s.W);
      index_t bh = h0, bw = w0;
      T best = plane[h0 * s.W + w0];
      for (index_t h = h0; h < h1 && !std::isnan(best); ++h) {
        for (index_t w = h == h0 ? w0 + 1 : w0; w < w1; ++w) {
          const T v = plane[h * s.W + w];
          if (v > best || std::isnan(v)) {
            best = v;
            bh = h;
            bw = w;
            if (std::isnan(v)) break;
          }
        }
      }
      emit(relu, best, static_cast<int>((bh - hs) * p.kw + (bw - ws)), y[oh * s.Q + ow], code[oh * s.Q + ow]);
    }
  }
}

// Windows that all lie inside the input (AlexNet's 3x3 stride 2): the window
// scan's rule applied cell by cell to a whole row of outputs at once, so the
// loop over outputs (stride-s loads, selects, no branches) vectorises. State per
// output: the running max, its cell, whether a NaN has won.
bool windows_inside(const Pool2dShape& s) {
  const Pool2dParams& p = s.p;
  return p.pad_t == 0 && p.pad_l == 0 && (s.P - 1) * p.stride_h + p.kh <= s.H &&
         (s.Q - 1) * p.stride_w + p.kw <= s.W && s.Q <= 1024;
}

template <class T>
void plane_inside(const Pool2dShape& s, bool relu, const T* plane, T* y, std::uint8_t* code) {
  const Pool2dParams& p = s.p;
  T m[1024], k[1024], done[1024];
  for (index_t oh = 0; oh < s.P; ++oh) {
    const T* top = plane + oh * p.stride_h * s.W;
    for (index_t ow = 0; ow < s.Q; ++ow) {
      const T v = top[ow * p.stride_w];
      m[ow] = v;
      k[ow] = T(0);
      done[ow] = v != v ? T(1) : T(0);
    }
    for (index_t a = 0; a < p.kh; ++a)
      for (index_t b = a == 0 ? 1 : 0; b < p.kw; ++b) {
        const T* row = top + a * s.W + b;
        const T cell = static_cast<T>(a * p.kw + b);
        for (index_t ow = 0; ow < s.Q; ++ow) {
          const T v = row[ow * p.stride_w];
          const bool open = done[ow] == T(0), nan = v != v;
          const bool take = open & (nan | (v > m[ow]));
          m[ow] = take ? v : m[ow];
          k[ow] = take ? cell : k[ow];
          done[ow] = (open & nan) ? T(1) : done[ow];
        }
      }
    for (index_t ow = 0; ow < s.Q; ++ow)
      emit(relu, m[ow], static_cast<int>(k[ow]), y[oh * s.Q + ow], code[oh * s.Q + ow]);
  }
}

}  // namespace

template <class T>
void max_pool2d_forward_argmax(const Pool2dShape& s, bool relu, const T* x, T* y, std::uint8_t* argmax) {
  const index_t HW = s.H * s.W, PQ = s.P * s.Q;
  const bool fast = is_inner_2x2_stride2(s);
  const MaxPool2x2Ukernel<T>& uk = select_max_pool2x2_ukernel<T>(active_isa());
  for_pool_planes(s, s.H * s.W, [&](index_t nc) {
    const T* plane = x + nc * HW;
    T* yp = y + nc * PQ;
    std::uint8_t* cp = argmax + nc * PQ;
    if (!fast) {
      if (windows_inside(s))
        plane_inside(s, relu, plane, yp, cp);
      else
        plane_general(s, relu, plane, yp, cp);
      return;
    }
    for (index_t oh = 0; oh < s.P; ++oh) {
      const T *r0 = plane + 2 * oh * s.W, *r1 = r0 + s.W;
      T* yr = yp + oh * s.Q;
      std::uint8_t* cr = cp + oh * s.Q;
      row_2x2(s.Q, r0, r1, relu, yr, cr, uk.row(s.Q, r0, r1, relu, yr, cr));
    }
  });
}

template <class T>
void max_pool2d_backward_argmax(const Pool2dShape& s, const std::uint8_t* argmax, const T* dy, T* dx) {
  const index_t HW = s.H * s.W, PQ = s.P * s.Q;
  const Pool2dParams& p = s.p;
  const bool fast = is_inner_2x2_stride2(s);
  const MaxPool2x2Ukernel<T>& uk = select_max_pool2x2_ukernel<T>(active_isa());
  for_pool_planes(s, s.H * s.W, [&](index_t nc) {
    T* dp = dx + nc * HW;
    const T* g = dy + nc * PQ;
    const std::uint8_t* cp = argmax + nc * PQ;
    if (!fast) {  // windows may overlap: accumulate
      std::fill(dp, dp + HW, T(0));
      for (index_t oh = 0; oh < s.P; ++oh)
        for (index_t ow = 0; ow < s.Q; ++ow) {
          const std::uint8_t k = cp[oh * s.Q + ow];
          if (k == kPoolNoGradient) continue;
          const index_t h = oh * p.stride_h - p.pad_t + k / p.kw, w = ow * p.stride_w - p.pad_l + k % p.kw;
          if (k >= p.kh * p.kw || h < 0 || h >= s.H || w < 0 || w >= s.W)
            throw std::invalid_argument("max_pool2d_backward_argmax: argmax " + std::to_string(k) +
                                        " names no cell of its window inside the input");
          dp[h * s.W + w] += g[oh * s.Q + ow];
        }
      return;
    }
    // Disjoint 2x2 blocks: every cell of rows [0, 2P) x cols [0, 2Q) is written once.
    for (index_t oh = 0; oh < s.P; ++oh) {
      T *d0 = dp + 2 * oh * s.W, *d1 = d0 + s.W;
      const T* gr = g + oh * s.Q;
      const std::uint8_t* cr = cp + oh * s.Q;
      for (index_t ow = uk.backward_row(s.Q, cr, gr, d0, d1); ow < s.Q; ++ow) {
        const std::uint8_t k = cr[ow];
        d0[2 * ow] = k == 0 ? gr[ow] : T(0);
        d0[2 * ow + 1] = k == 1 ? gr[ow] : T(0);
        d1[2 * ow] = k == 2 ? gr[ow] : T(0);
        d1[2 * ow + 1] = k == 3 ? gr[ow] : T(0);
      }
      std::fill(d0 + 2 * s.Q, d0 + s.W, T(0));  // an odd last column no window covers
      std::fill(d1 + 2 * s.Q, d1 + s.W, T(0));
    }
    std::fill(dp + 2 * s.P * s.W, dp + HW, T(0));  // an odd last row
  });
}

#define CNNFAST_INSTANTIATE(T)                                                                       \
  template void max_pool2d_forward_argmax<T>(const Pool2dShape&, bool, const T*, T*, std::uint8_t*); \
  template void max_pool2d_backward_argmax<T>(const Pool2dShape&, const std::uint8_t*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
