#include "conv2d/conv2d_direct.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "conv2d/conv2d_transforms.h"
#include "cpu_features.h"
#include "gemm/pack_a_blocks.h"
#include "parallel.h"
#include "workspace.h"
#ifdef CNNFAST_HAVE_AVX2_KERNELS
#include "conv2d/avx2/conv_direct_avx2.h"
#endif

namespace cnnfast {

namespace {

// c[i*ldc + j] (+)= sum_p a[p*MR + i] * x[off[p] + j], 0 <= i < MR, 0 <= j < NR.
template <class T>
using DirectFn = void (*)(index_t k, const T* a, const T* x, const std::int32_t* off, T* c, index_t ldc,
                          bool accumulate);

// c[i*ldc + j] += sum_l rows[i][pos[l]] * b[l*NR + j], 0 <= i < MR, 0 <= j < NR.
template <class T>
using WgradFn = void (*)(index_t L, const T* const* rows, const std::int32_t* pos, const T* b, T* c,
                         index_t ldc);

template <class T>
struct DirectUkernel {
  DirectFn<T> fn;
  WgradFn<T> wgrad;
  int mr, nr;
  index_t kc;  // reduction steps per call: filter rows (forward), pixels (wgrad)
};

// Portable microkernel (the compiler vectorises the j loops for the baseline).
template <class T, int MR, int NR>
void conv_direct_generic(index_t k, const T* a, const T* x, const std::int32_t* off, T* c, index_t ldc,
                         bool accumulate) {
  T acc[MR][NR] = {};
  for (index_t p = 0; p < k; ++p) {
    const T* b = x + off[p];
    for (int i = 0; i < MR; ++i) {
      const T ai = a[p * MR + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

template <class T, int MR, int NR>
void conv_wgrad_generic(index_t L, const T* const* rows, const std::int32_t* pos, const T* b, T* c,
                        index_t ldc) {
  T acc[MR][NR] = {};
  for (index_t l = 0; l < L; ++l) {
    const T* bl = b + l * NR;
    for (int i = 0; i < MR; ++i) {
      const T ai = rows[i][pos[l]];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bl[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] += acc[i][j];
}

template <class T>
const DirectUkernel<T>& select_conv_direct_ukernel(Isa isa);

template <>
const DirectUkernel<float>& select_conv_direct_ukernel<float>(Isa isa) {
  static const DirectUkernel<float> generic{conv_direct_generic<float, 6, 16>,
                                            conv_wgrad_generic<float, 6, 16>, 6, 16, 256};
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  static const DirectUkernel<float> avx2{sconv_direct_6x16_avx2, sconv_wgrad_6x16_avx2, 6, 16, 256};
  if (isa == Isa::avx2) return avx2;
#endif
  (void)isa;
  return generic;
}

template <>
const DirectUkernel<double>& select_conv_direct_ukernel<double>(Isa) {
  static const DirectUkernel<double> generic{conv_direct_generic<double, 6, 8>,
                                             conv_wgrad_generic<double, 6, 8>, 6, 8, 256};
  return generic;
}

// The padded plane of one image and group, and the output columns over it.
struct Plane {
  index_t Hp, Wp;  // padded height and width
  index_t J;       // output columns j = p*Wp + q, 0 <= p < P, 0 <= q < Wp
  index_t tiles;   // NR-wide tiles covering J
  index_t ldy;     // tiles * NR: row stride of the tile results
  index_t size;    // elements, with the slack the last tile's reads run into
};

Plane plane_geometry(const Conv2dShape& s, index_t nr) {
  Plane pl;
  pl.Hp = s.P + (s.R - 1) * s.p.dil_h;
  pl.Wp = s.Q + (s.S - 1) * s.p.dil_w;
  pl.J = s.P * pl.Wp;
  pl.tiles = ceil_div(pl.J, nr);
  pl.ldy = pl.tiles * nr;
  // The last tile reads up to column ldy - 1 shifted by the largest offset.
  pl.size = s.Cg() * pl.Hp * pl.Wp + (pl.ldy - pl.J) + (s.S - 1) * s.p.dil_w;
  return pl;
}

// plane (Cg, Hp, Wp) = x_g (Cg, H, W) placed at (pad_t, pad_l), zero around it
// (a negative padding crops), then zero slack.
template <class T>
void build_plane(const Conv2dShape& s, const Plane& pl, const T* x_g, T* plane) {
  const index_t pt = s.p.pad_t, pL = s.p.pad_l;
  const index_t lo = std::clamp<index_t>(pL, 0, pl.Wp), hi = std::clamp<index_t>(s.W + pL, lo, pl.Wp);
  for (index_t c = 0; c < s.Cg(); ++c)
    for (index_t hp = 0; hp < pl.Hp; ++hp) {
      T* row = plane + (c * pl.Hp + hp) * pl.Wp;
      const index_t h = hp - pt;
      if (h < 0 || h >= s.H || lo == hi) {
        std::fill(row, row + pl.Wp, T(0));
        continue;
      }
      std::fill(row, row + lo, T(0));
      std::memcpy(row + lo, x_g + (c * s.H + h) * s.W + (lo - pL), sizeof(T) * (hi - lo));
      std::fill(row + hi, row + pl.Wp, T(0));
    }
  T* end = plane + s.Cg() * pl.Hp * pl.Wp;
  std::fill(end, plane + pl.size, T(0));
}

// off[(c*R + r)*S + s]: where row (c, r, s) of the implicit column matrix starts
// in the plane.
std::int32_t* plane_offsets(const Conv2dShape& s, const Plane& pl) {
  std::int32_t* off = workspace<std::int32_t>(Slot::conv_offsets, {s.Cg(), s.R, s.S});
  for (index_t c = 0; c < s.Cg(); ++c)
    for (index_t r = 0; r < s.R; ++r)
      for (index_t t = 0; t < s.S; ++t)
        off[(c * s.R + r) * s.S + t] =
            static_cast<std::int32_t>(c * pl.Hp * pl.Wp + r * s.p.dil_h * pl.Wp + t * s.p.dil_w);
  return off;
}

// Images per chunk of the weight gradient: a reduction of >= 256 pixels per
// microkernel call, with every pixel's position in the chunk's planes within 32 bits.
index_t weight_chunk_images(const Conv2dShape& s, const Plane& pl) {
  const index_t nb =
      std::clamp<index_t>(ceil_div(256, std::max<index_t>(s.P * s.Q, 1)), 1, std::max<index_t>(s.N, 1));
  return std::max<index_t>(1, std::min(nb, ((index_t{1} << 31) - 1) / pl.size));
}

}  // namespace

index_t direct_weight_chunk_floats(const Conv2dShape& s) {
  const Plane pl = plane_geometry(s, 16);
  return weight_chunk_images(s, pl) * pl.size;
}

bool direct_possible(const Conv2dShape& s) {
  if (s.p.stride_h != 1 || s.p.stride_w != 1 || s.P <= 0 || s.Q <= 0) return false;
  const Plane pl = plane_geometry(s, 16);
  return pl.size < (index_t{1} << 30);
}

index_t direct_columns(const Conv2dShape& s) { return s.P * (s.Q + (s.S - 1) * s.p.dil_w); }

template <class T>
void conv2d_forward_direct(const Conv2dShape& s, const T* x, const T* w, ConvEpilogue<T> e, T* y) {
  const DirectUkernel<T>& uk = select_conv_direct_ukernel<T>(active_isa());
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), CRS = Cg * s.R * s.S;
  const index_t panels = ceil_div(Kg, uk.mr), kblocks = ceil_div(CRS, uk.kc), PQ = s.P * s.Q;
  const Plane pl = plane_geometry(s, uk.nr);

  T* packed = workspace<T>(Slot::conv_packed_filters, {G, kblocks, panels, uk.mr, uk.kc});
  pack_a_blocks(G, Kg, CRS, w, uk.mr, uk.kc, packed);  // w is (G, Kg, Cg*R*S)
  const std::int32_t* off = plane_offsets(s, pl);

  // Tiles [t_lo, t_hi) of group g from its plane into ybuf (panels*MR rows of ldy).
  // (Storing each finished tile's row segments straight into y measured slower on
  // every layer: many short masked copies instead of one pass over long rows.)
  auto compute = [&](index_t g, const T* plane, T* ybuf, index_t t_lo, index_t t_hi) {
    const T* a_g = packed + g * kblocks * panels * uk.mr * uk.kc;
    for (index_t t = t_lo; t < t_hi; ++t)
      for (index_t kb = 0; kb < kblocks; ++kb) {
        const index_t p0 = kb * uk.kc, kcb = std::min(uk.kc, CRS - p0);
        for (index_t ip = 0; ip < panels; ++ip)
          uk.fn(kcb, a_g + kb * panels * uk.mr * uk.kc + ip * uk.mr * kcb, plane + t * uk.nr, off + p0,
                ybuf + ip * uk.mr * pl.ldy + t * uk.nr, pl.ldy, kb > 0);
      }
  };
  // Output channels [k_lo, k_hi) of image n, group g: the columns q < Q of each
  // row of ybuf, finished by e (+ bias, ReLU).
  auto store = [&](index_t n, index_t g, const T* ybuf, index_t k_lo, index_t k_hi) {
    for (index_t k = k_lo; k < k_hi; ++k) {
      const index_t kk = g * Kg + k;
      T* yk = y + (n * s.K + kk) * PQ;
      const T bias = e.bias_of(kk);
      for (index_t p = 0; p < s.P; ++p) {
        const T* src = ybuf + k * pl.ldy + p * pl.Wp;
        T* dst = yk + p * s.Q;
        for (index_t q = 0; q < s.Q; ++q) dst[q] = e.apply(src[q], bias);
      }
    }
  };
  const index_t items = s.N * G, HW = s.H * s.W;
  const auto x_of = [&](index_t n, index_t g) { return x + (n * s.C + g * Cg) * HW; };
  const index_t ybuf_size = panels * uk.mr * pl.ldy;
  if (items >= get_num_threads()) {
    // Whole images (and groups) per thread, each with its own plane and results.
    parallel_for(items, 1, [&](index_t lo, index_t hi) {
      T* plane = workspace<T>(Slot::conv_columns, {pl.size});
      T* ybuf = workspace<T>(Slot::conv_gather, {ybuf_size});
      for (index_t it = lo; it < hi; ++it) {
        build_plane(s, pl, x_of(it / G, it % G), plane);
        compute(it % G, plane, ybuf, 0, pl.tiles);
        store(it / G, it % G, ybuf, 0, Kg);
      }
    });
    return;
  }
  // Fewer images than threads (inference on one image): threads share each plane.
  T* plane = workspace<T>(Slot::conv_columns, {pl.size});
  T* ybuf = workspace<T>(Slot::conv_gather, {ybuf_size});
  for (index_t it = 0; it < items; ++it) {
    build_plane(s, pl, x_of(it / G, it % G), plane);
    parallel_for(pl.tiles, 4, [&](index_t lo, index_t hi) { compute(it % G, plane, ybuf, lo, hi); });
    parallel_for(Kg, 4, [&](index_t lo, index_t hi) { store(it / G, it % G, ybuf, lo, hi); });
  }
}

template <class T>
void conv2d_backward_input_direct(const Conv2dShape& s, const T* w, const T* dy, T* dx) {
  backward_input_as_forward(s, w, dy, dx, [](const Conv2dShape& t, const T* in, const T* wt, T* out) {
    conv2d_forward_direct<T>(t, in, wt, ConvEpilogue<T>{}, out);
  });
}

template <class T>
void conv2d_backward_weight_direct(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const DirectUkernel<T>& uk = select_conv_direct_ukernel<T>(active_isa());
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  const index_t MR = uk.mr, NR = uk.nr, HW = s.H * s.W;
  const index_t kpanels = ceil_div(Kg, NR), Kpad = kpanels * NR, rpanels = ceil_div(CRS, MR),
                Rpad = rpanels * MR;
  std::fill(dw, dw + s.K * CRS, T(0));
  if (s.N == 0) return;
  const Plane pl = plane_geometry(s, NR);
  const std::int32_t* off = plane_offsets(s, pl);

  const index_t nb = weight_chunk_images(s, pl);
  const index_t chunks = ceil_div(s.N, nb), L = nb * PQ;

  // Each thread partition sums into its own dw^T (G, Rpad, Kpad); they are added in
  // partition order at the end, so the result does not depend on thread timing.
  const index_t per_part = G * Rpad * Kpad;
  const int parts_max = chunks >= get_num_threads() ? get_num_threads() : 1;
  T* partial = workspace<T>(Slot::conv_partial, {parts_max, per_part});
  std::fill(partial, partial + parts_max * per_part, T(0));
  const index_t grain = chunks >= get_num_threads() ? 1 : chunks;
  const int parts = parallel_chunks(
      chunks, grain,
      [&](int part, index_t lo, index_t hi) {
        T* acc = partial + part * per_part;
        T* planes = workspace<T>(Slot::conv_columns, {nb, pl.size});
        T* dyT = workspace<T>(Slot::conv_gather, {kpanels, L, NR});
        std::int32_t* pos = workspace<std::int32_t>(Slot::conv_positions, {L});
        for (index_t ch = lo; ch < hi; ++ch) {
          const index_t n0 = ch * nb, cnt = std::min(nb, s.N - n0), Lc = cnt * PQ;
          for (index_t j = 0; j < cnt; ++j)
            for (index_t p = 0; p < s.P; ++p)
              for (index_t q = 0; q < s.Q; ++q)
                pos[(j * s.P + p) * s.Q + q] = static_cast<std::int32_t>(j * pl.size + p * pl.Wp + q);
          for (index_t g = 0; g < G; ++g) {
            for (index_t j = 0; j < cnt; ++j)
              build_plane(s, pl, x + ((n0 + j) * s.C + g * Cg) * HW, planes + j * pl.size);
            // dyT[kp][l][kk] = dy of output channel kp*NR + kk at pixel l (zero past Kg).
            for (index_t kp = 0; kp < kpanels; ++kp)
              for (index_t kk = 0; kk < NR; ++kk) {
                const index_t k = kp * NR + kk;
                T* dst = dyT + kp * Lc * NR + kk;
                for (index_t j = 0; j < cnt; ++j) {
                  T* d = dst + j * PQ * NR;
                  if (k >= Kg) {
                    for (index_t l = 0; l < PQ; ++l) d[l * NR] = T(0);
                    continue;
                  }
                  const T* src = dy + ((n0 + j) * s.K + g * Kg + k) * PQ;
                  for (index_t l = 0; l < PQ; ++l) d[l * NR] = src[l];
                }
              }
            T* acc_g = acc + g * Rpad * Kpad;
            for (index_t l0 = 0; l0 < Lc; l0 += uk.kc) {
              const index_t lb = std::min(uk.kc, Lc - l0);
              for (index_t kp = 0; kp < kpanels; ++kp)
                for (index_t ip = 0; ip < rpanels; ++ip) {
                  const T* rows[16];
                  for (index_t i = 0; i < MR; ++i) rows[i] = planes + off[std::min(ip * MR + i, CRS - 1)];
                  uk.wgrad(lb, rows, pos + l0, dyT + (kp * Lc + l0) * NR, acc_g + ip * MR * Kpad + kp * NR,
                           Kpad);
                }
            }
          }
        }
      },
      parts_max);
  for (index_t g = 0; g < G; ++g)
    for (index_t k = 0; k < Kg; ++k) {
      T* dwk = dw + (g * Kg + k) * CRS;
      for (int part = 0; part < parts; ++part) {
        const T* src = partial + part * per_part + g * Rpad * Kpad + k;
        for (index_t i = 0; i < CRS; ++i) dwk[i] += src[i * Kpad];
      }
    }
}

#define CNNFAST_INSTANTIATE(T)                                                                         \
  template void conv2d_forward_direct<T>(const Conv2dShape&, const T*, const T*, ConvEpilogue<T>, T*); \
  template void conv2d_backward_input_direct<T>(const Conv2dShape&, const T*, const T*, T*);           \
  template void conv2d_backward_weight_direct<T>(const Conv2dShape&, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
