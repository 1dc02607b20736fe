// GEMM driver: BLIS's five loops around a microkernel.
//
//   for jc in N step NC:          B panel  (kc x nc) packed once, shared
//     for pc in K step KC:
//       pack B(pc:pc+kc, jc:jc+nc) into NR-wide micro-panels
//       for ic in M step MC:      A block  (mc x kc) packed once, shared
//         pack A(ic:ic+mc, pc:pc+kc) into MR-tall micro-panels
//         for jr, ir over the block's MR x NR tiles (split across threads):
//           microkernel
//
// Threads cooperate on each packing step and on the tile loop (contiguous shares
// inside one parallel region, with barriers between packing and use), which
// parallelises well for the tall-skinny and short-wide shapes convolution produces.
// Transposes are absorbed by the packing routines.
#include "gemm/gemm.h"

#include <algorithm>
#include <cstring>

#include "gemm/gemm_ukernel.h"
#include "parallel.h"
#include "workspace.h"

namespace cnnfast {

namespace {

// Element (i, p) of op(A).
template <class T>
inline T at_a(const T* A, index_t lda, bool trans, index_t i, index_t p) {
  return trans ? A[p * lda + i] : A[i * lda + p];
}

// Packs rows [i0, i0+mr_eff) x cols [p0, p0+kc) of op(A) into an MR-row
// micro-panel: out[p*MR + i], zero-padded to MR rows.
template <class T>
void pack_a_panel(const T* A, index_t lda, bool trans, index_t i0, index_t mr_eff, index_t p0, index_t kc,
                  int MR, T* out) {
  for (index_t p = 0; p < kc; ++p) {
    T* o = out + p * MR;
    index_t i = 0;
    for (; i < mr_eff; ++i) o[i] = at_a(A, lda, trans, i0 + i, p0 + p);
    for (; i < MR; ++i) o[i] = T(0);
  }
}

// Packs rows [p0, p0+kc) x cols [j0, j0+nr_eff) of op(B) into an NR-column
// micro-panel: out[p*NR + j], zero-padded to NR columns.
template <class T>
void pack_b_panel(const T* B, index_t ldb, bool trans, index_t p0, index_t kc, index_t j0, index_t nr_eff,
                  int NR, T* out) {
  if (!trans && nr_eff == NR && (NR == 16 || NR == 8)) {
    // Whole rows of a panel: fixed-size copies the compiler inlines as vector
    // moves (a memcpy call per 64-byte row cost more than the copy itself).
    for (index_t p = 0; p < kc; ++p) {
      const T* src = B + (p0 + p) * ldb + j0;
      if (NR == 16)
        std::memcpy(out + p * 16, src, sizeof(T) * 16);
      else
        std::memcpy(out + p * 8, src, sizeof(T) * 8);
    }
    return;
  }
  if (trans) {
    // op(B) = B^T: column j of the panel is row j0 + j of B, contiguous in p. Read
    // it in that order (across rows, every load hit a different cache line).
    for (index_t j = 0; j < nr_eff; ++j) {
      const T* src = B + (j0 + j) * ldb + p0;
      for (index_t p = 0; p < kc; ++p) out[p * NR + j] = src[p];
    }
    for (index_t j = nr_eff; j < NR; ++j)
      for (index_t p = 0; p < kc; ++p) out[p * NR + j] = T(0);
    return;
  }
  for (index_t p = 0; p < kc; ++p) {
    T* o = out + p * NR;
    if (nr_eff == NR) {
      std::memcpy(o, B + (p0 + p) * ldb + j0, sizeof(T) * NR);
      continue;
    }
    index_t j = 0;
    for (; j < nr_eff; ++j) o[j] = B[(p0 + p) * ldb + j0 + j];
    for (; j < NR; ++j) o[j] = T(0);
  }
}

// C = beta * C, with beta == 0 writing zeros without reading C.
template <class T>
void scale_c(index_t M, index_t N, T beta, T* C, index_t ldc) {
  for (index_t i = 0; i < M; ++i) {
    T* ci = C + i * ldc;
    if (beta == T(0)) {
      std::fill(ci, ci + N, T(0));
    } else if (beta != T(1)) {
      for (index_t j = 0; j < N; ++j) ci[j] *= beta;
    }
  }
}

// Few rows of C (a small-batch dense layer: AlexNet's classifier at batch 8 reads
// a 151 MB weight matrix to produce 8 x 4096 outputs). Packing B would write and
// reread every byte of it, and 6-row microkernel tiles would be a third empty;
// the AVX2 kernels in gemm/avx2/sgemm_small_m_avx2.cpp stream B once instead,
// threads taking disjoint column ranges. Each C element is one thread's sum in a
// fixed order, so the result does not depend on the thread count. Only for
// float on AVX2, with alpha = 1 and beta = 0 (what matmul asks); everything else
// takes the blocked path.
constexpr index_t kSmallM = 8;

template <class T>
bool gemm_small_m(bool, bool, index_t, index_t, index_t, T, const T*, index_t, const T*, index_t, T, T*,
                  index_t) {
  return false;
}

#ifdef CNNFAST_HAVE_AVX2_KERNELS
template <>
bool gemm_small_m<float>(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                         const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                         index_t ldc) {
  if (M > kSmallM || N * K < (index_t{1} << 16) || alpha != 1.0f || beta != 0.0f || active_isa() != Isa::avx2)
    return false;
  const float* a = A;  // op(A) as contiguous rows (M*K is small)
  if (trans_a || lda != K) {
    float* buf = workspace<float>(Slot::gemm_pack_a, {M, K});
    for (index_t i = 0; i < M; ++i)
      for (index_t p = 0; p < K; ++p) buf[i * K + p] = at_a(A, lda, trans_a, i, p);
    a = buf;
  }
  const auto kernel = trans_b ? &sgemm_small_m_nt_avx2 : &sgemm_small_m_nn_avx2;
  // Column ranges in multiples of 8 (the nn kernel's width).
  parallel_for(ceil_div(N, 8), std::max<index_t>(1, (index_t{1} << 14) / std::max<index_t>(K, 1)),
               [&](index_t lo, index_t hi) { kernel(M, K, a, B, ldb, C, ldc, lo * 8, std::min(N, hi * 8)); });
  return true;
}
#endif

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
          const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (gemm_small_m<T>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return;
  const GemmUkernel<T>& uk = select_gemm_ukernel<T>(active_isa());
  const int MR = uk.mr, NR = uk.nr;
  const index_t MC = uk.mc, KC = uk.kc, NC = uk.nc;

  const index_t kc_max = std::min(KC, K);
  T* bpack = workspace<T>(Slot::gemm_pack_b, {round_up(std::min(NC, N), NR), kc_max});
  T* apack = workspace<T>(Slot::gemm_pack_a, {round_up(std::min(MC, M), MR), kc_max});

  // A thread per ~1 MFLOP of work, so small products stay on one core.
  const int nt = threads_for(saturating_mul(saturating_mul(M, N), K), index_t{1} << 19);

  // Each phase (pack B's panels; then per block of A: pack its panels, compute its
  // tiles) is one job whose ranges of panels or tiles any thread of the team claims (parallel.h
  // run_pieces): a thread that another process holds back takes fewer, and one that
  // has not woken yet is not waited for. The next phase starts when every piece of
  // this one has run. With one thread everything runs inline: for a tiny product a
  // job costs more than the arithmetic (a 1x9x36 matmul took 6 us).
  for (index_t jc = 0; jc < N; jc += NC) {
    const index_t nc = std::min(NC, N - jc);
    const index_t n_panels = ceil_div(nc, NR);
    for (index_t pc = 0; pc < K; pc += KC) {
      const index_t kc = std::min(KC, K - pc);
      const T beta_eff = pc == 0 ? beta : T(1);
      for_ranges(nt, n_panels, [&](index_t lo, index_t hi) {
        for (index_t jp = lo; jp < hi; ++jp) {
          const index_t j0 = jp * NR;
          pack_b_panel(B, ldb, trans_b, pc, kc, jc + j0, std::min<index_t>(NR, nc - j0), NR,
                       bpack + jp * NR * kc);
        }
      });
      for (index_t ic = 0; ic < M; ic += MC) {
        const index_t mc = std::min(MC, M - ic);
        const index_t m_panels = ceil_div(mc, MR);
        for_ranges(nt, m_panels, [&](index_t lo, index_t hi) {
          for (index_t ip = lo; ip < hi; ++ip) {
            const index_t i0 = ip * MR;
            pack_a_panel(A, lda, trans_a, ic + i0, std::min<index_t>(MR, mc - i0), pc, kc, MR,
                         apack + ip * MR * kc);
          }
        });
        for_ranges(nt, n_panels * m_panels, [&](index_t lo, index_t hi) {
          alignas(64) T edge[kMaxUkernelTile];
          for (index_t t = lo; t < hi; ++t) {
            const index_t jp = t / m_panels, ip = t % m_panels;
            const index_t j0 = jp * NR, i0 = ip * MR;
            const index_t nr_eff = std::min<index_t>(NR, nc - j0), mr_eff = std::min<index_t>(MR, mc - i0);
            T* c = C + (ic + i0) * ldc + (jc + j0);
            const T* a = apack + ip * MR * kc;
            const T* b = bpack + jp * NR * kc;
            if (mr_eff == MR && nr_eff == NR) {
              uk.fn(kc, a, b, c, ldc, alpha, beta_eff);
              continue;
            }
            // Partial tile: compute the full tile into scratch, copy the valid part.
            uk.fn(kc, a, b, edge, NR, alpha, T(0));
            for (index_t i = 0; i < mr_eff; ++i) {
              T* ci = c + i * ldc;
              const T* ei = edge + i * NR;
              if (beta_eff == T(0)) {
                for (index_t j = 0; j < nr_eff; ++j) ci[j] = ei[j];
              } else {
                for (index_t j = 0; j < nr_eff; ++j) ci[j] = ei[j] + beta_eff * ci[j];
              }
            }
          }
        });
      }
    }
  }
}

template <>
const GemmUkernel<float>& select_gemm_ukernel<float>(Isa isa) {
  static const GemmUkernel<float> generic{&gemm_ukernel_generic<float, 4, 8>, 4, 8, 128, 256, 4096,
                                          "sgemm_ukernel_4x8_generic"};
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  static const GemmUkernel<float> avx2{&sgemm_ukernel_6x16_avx2, 6, 16, 168, 256, 4080,
                                       "sgemm_ukernel_6x16_avx2"};
  if (isa == Isa::avx2) return avx2;
#endif
  (void)isa;
  return generic;
}

template <>
const GemmUkernel<double>& select_gemm_ukernel<double>(Isa isa) {
  static const GemmUkernel<double> generic{&gemm_ukernel_generic<double, 4, 4>, 4, 4, 128, 256, 4096,
                                           "dgemm_ukernel_4x4_generic"};
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  static const GemmUkernel<double> avx2{&dgemm_ukernel_6x8_avx2, 6, 8, 72, 256, 4080,
                                        "dgemm_ukernel_6x8_avx2"};
  if (isa == Isa::avx2) return avx2;
#endif
  (void)isa;
  return generic;
}

template void gemm<float>(bool, bool, index_t, index_t, index_t, float, const float*, index_t, const float*,
                          index_t, float, float*, index_t);
template void gemm<double>(bool, bool, index_t, index_t, index_t, double, const double*, index_t,
                           const double*, index_t, double, double*, index_t);

}  // namespace cnnfast
