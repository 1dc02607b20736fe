// Pooling: direct loops over windows, threads over the N*C planes.
#include "pool2d/pool2d.h"

#include <algorithm>
#include <cmath>

#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

// The window of output (oh, ow), clipped to the input: rows [h0, h1), cols [w0, w1).
struct Window {
  index_t h0, h1, w0, w1;
};

inline Window window_at(const Pool2dShape& s, index_t oh, index_t ow) {
  const Pool2dParams& p = s.p;
  const index_t hs = oh * p.stride_h - p.pad_t, ws = ow * p.stride_w - p.pad_l;
  return {std::max<index_t>(hs, 0), std::min(hs + p.kh, s.H), std::max<index_t>(ws, 0),
          std::min(ws + p.kw, s.W)};
}

// Divisor of an average window: with count_include_pad the window clipped to
// the padded input, else clipped to the input itself (PyTorch's rule). A double:
// a padded window of huge extent counts more cells than index_t holds.
inline double avg_divisor(const Pool2dShape& s, bool count_include_pad, index_t oh, index_t ow,
                          const Window& win) {
  if (!count_include_pad) return static_cast<double>(win.h1 - win.h0) * static_cast<double>(win.w1 - win.w0);
  const Pool2dParams& p = s.p;
  const index_t hs = oh * p.stride_h - p.pad_t, ws = ow * p.stride_w - p.pad_l;
  const index_t he = std::min(hs + p.kh, s.H + p.pad_b), we = std::min(ws + p.kw, s.W + p.pad_r);
  return static_cast<double>(he - hs) * static_cast<double>(we - ws);
}

// Index (h*W + w) of the first maximum in the window; a NaN wins at once.
template <class T>
inline index_t window_argmax(const T* plane, index_t W, const Window& win) {
  index_t best = win.h0 * W + win.w0;
  T best_v = plane[best];
  if (std::isnan(best_v)) return best;
  for (index_t h = win.h0; h < win.h1; ++h) {
    for (index_t w = win.w0; w < win.w1; ++w) {
      const T v = plane[h * W + w];
      if (v > best_v) {
        best_v = v;
        best = h * W + w;
      } else if (std::isnan(v)) {
        return h * W + w;
      }
    }
  }
  return best;
}

}  // namespace

template <class T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, std::int64_t* indices) {
  const index_t HW = s.H * s.W, PQ = s.P * s.Q;
  if (fits_byte_argmax(s.p)) {
    // The byte-argmax kernel's vectorised paths (pool2d_argmax.cpp); indices, when
    // asked for, are rebuilt from its codes.
    auto* code = workspace<std::uint8_t>(Slot::pool_codes, {s.N, s.C, PQ});
    max_pool2d_forward_argmax(s, false, x, y, code);
    if (indices != nullptr)
      for_pool_planes(s, PQ, [&](index_t nc) {
        for (index_t oh = 0; oh < s.P; ++oh)
          for (index_t ow = 0; ow < s.Q; ++ow) {
            const index_t o = nc * PQ + oh * s.Q + ow, k = code[o];
            indices[o] = (oh * s.p.stride_h - s.p.pad_t + k / s.p.kw) * s.W + ow * s.p.stride_w - s.p.pad_l +
                         k % s.p.kw;
          }
      });
    return;
  }
  for_pool_planes(s, saturating_mul(PQ, window_cells(s)), [&](index_t nc) {
    const T* plane = x + nc * HW;
    for (index_t oh = 0; oh < s.P; ++oh) {
      for (index_t ow = 0; ow < s.Q; ++ow) {
        const index_t i = window_argmax(plane, s.W, window_at(s, oh, ow));
        y[nc * PQ + oh * s.Q + ow] = plane[i];
        if (indices != nullptr) indices[nc * PQ + oh * s.Q + ow] = i;
      }
    }
  });
}

template <class T>
void max_pool2d_backward(const Pool2dShape& s, const T* x, const T* dy, T* dx) {
  const index_t HW = s.H * s.W, PQ = s.P * s.Q;
  if (fits_byte_argmax(s.p)) {  // the argmax codes first, then their scatter
    auto* code = workspace<std::uint8_t>(Slot::pool_codes, {s.N, s.C, PQ});
    T* y = workspace<T>(Slot::pool_values, {s.N, s.C, PQ});
    max_pool2d_forward_argmax(s, false, x, y, code);
    max_pool2d_backward_argmax(s, code, dy, dx);
    return;
  }
  for_pool_planes(s, saturating_mul(PQ, window_cells(s)), [&](index_t nc) {
    const T* plane = x + nc * HW;
    T* dplane = dx + nc * HW;
    std::fill(dplane, dplane + HW, T(0));
    for (index_t oh = 0; oh < s.P; ++oh)
      for (index_t ow = 0; ow < s.Q; ++ow)
        dplane[window_argmax(plane, s.W, window_at(s, oh, ow))] += dy[nc * PQ + oh * s.Q + ow];
  });
}

template <class T>
void avg_pool2d_forward(const Pool2dShape& s, bool count_include_pad, const T* x, T* y) {
  const index_t HW = s.H * s.W, PQ = s.P * s.Q;
  if (is_inner_2x2_stride2(s)) {  // LeNet's subsampling: no padding in any window, divisor 4
    for_pool_planes(s, 4 * PQ, [&](index_t nc) {
      const T* plane = x + nc * HW;
      for (index_t oh = 0; oh < s.P; ++oh) {
        const T *r0 = plane + 2 * oh * s.W, *r1 = r0 + s.W;
        T* yr = y + nc * PQ + oh * s.Q;
        for (index_t ow = 0; ow < s.Q; ++ow)  // the general path's order: row by row
          yr[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / T(4);
      }
    });
    return;
  }
  for_pool_planes(s, saturating_mul(PQ, window_cells(s)), [&](index_t nc) {
    const T* plane = x + nc * HW;
    for (index_t oh = 0; oh < s.P; ++oh) {
      for (index_t ow = 0; ow < s.Q; ++ow) {
        const Window win = window_at(s, oh, ow);
        T sum = 0;
        for (index_t h = win.h0; h < win.h1; ++h)
          for (index_t w = win.w0; w < win.w1; ++w) sum += plane[h * s.W + w];
        y[nc * PQ + oh * s.Q + ow] = sum / static_cast<T>(avg_divisor(s, count_include_pad, oh, ow, win));
      }
    }
  });
}

template <class T>
void avg_pool2d_backward(const Pool2dShape& s, bool count_include_pad, const T* dy, T* dx) {
  const index_t HW = s.H * s.W, PQ = s.P * s.Q;
  if (is_inner_2x2_stride2(s)) {  // disjoint windows: each cell gets one quarter, once
    for_pool_planes(s, 4 * PQ, [&](index_t nc) {
      T* dp = dx + nc * HW;
      for (index_t oh = 0; oh < s.P; ++oh) {
        T *d0 = dp + 2 * oh * s.W, *d1 = d0 + s.W;
        const T* g = dy + nc * PQ + oh * s.Q;
        for (index_t ow = 0; ow < s.Q; ++ow) {
          const T q = g[ow] / T(4);
          d0[2 * ow] = d0[2 * ow + 1] = d1[2 * ow] = d1[2 * ow + 1] = q;
        }
        std::fill(d0 + 2 * s.Q, d0 + s.W, T(0));
        std::fill(d1 + 2 * s.Q, d1 + s.W, T(0));
      }
      std::fill(dp + 2 * s.P * s.W, dp + HW, T(0));
    });
    return;
  }
  for_pool_planes(s, saturating_mul(PQ, window_cells(s)), [&](index_t nc) {
    T* dplane = dx + nc * HW;
    std::fill(dplane, dplane + HW, T(0));
    for (index_t oh = 0; oh < s.P; ++oh) {
      for (index_t ow = 0; ow < s.Q; ++ow) {
        const Window win = window_at(s, oh, ow);
        const T g =
            dy[nc * PQ + oh * s.Q + ow] / static_cast<T>(avg_divisor(s, count_include_pad, oh, ow, win));
        for (index_t h = win.h0; h < win.h1; ++h)
          for (index_t w = win.w0; w < win.w1; ++w) dplane[h * s.W + w] += g;
      }
    }
  });
}

template <class T>
void global_avg_pool2d_forward(index_t N, index_t C, index_t HW, const T* x, T* y) {
  parallel_for(N * C, std::max<index_t>(1, (index_t{1} << 15) / std::max<index_t>(HW, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t nc = lo; nc < hi; ++nc) {
                   double sum = 0;
                   for (index_t i = 0; i < HW; ++i) sum += x[nc * HW + i];
                   y[nc] = static_cast<T>(sum / static_cast<double>(HW));
                 }
               });
}

template <class T>
void global_avg_pool2d_backward(index_t N, index_t C, index_t HW, const T* dy, T* dx) {
  parallel_for(N * C, std::max<index_t>(1, (index_t{1} << 15) / std::max<index_t>(HW, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t nc = lo; nc < hi; ++nc) {
                   const T g = dy[nc] / static_cast<T>(HW);
                   std::fill(dx + nc * HW, dx + (nc + 1) * HW, g);
                 }
               });
}

#define CNNFAST_INSTANTIATE(T)                                                          \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*, std::int64_t*); \
  template void max_pool2d_backward<T>(const Pool2dShape&, const T*, const T*, T*);     \
  template void avg_pool2d_forward<T>(const Pool2dShape&, bool, const T*, T*);          \
  template void avg_pool2d_backward<T>(const Pool2dShape&, bool, const T*, T*);         \
  template void global_avg_pool2d_forward<T>(index_t, index_t, index_t, const T*, T*);  \
  template void global_avg_pool2d_backward<T>(index_t, index_t, index_t, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
