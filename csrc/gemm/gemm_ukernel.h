// GEMM microkernels: one MR x NR tile of C from packed panels.
//
//   C[i*ldc + j] = alpha * sum_p a[p*MR + i] * b[p*NR + j] + beta * C[i*ldc + j]
//
// for 0 <= i < MR, 0 <= j < NR, where `a` is an MR-row micro-panel and `b` an
// NR-column micro-panel of length k, both packed by the driver (zero-padded at
// the edges). beta == 0 means C is not read. The driver sends partial tiles to
// a scratch tile, so a microkernel always writes a full MR x NR tile.
#pragma once

#include "common.h"
#include "cpu_features.h"

namespace cnnfast {

template <class T>
using gemm_ukernel_fn = void (*)(index_t k, const T* a, const T* b, T* c, index_t ldc, T alpha, T beta);

// A microkernel and the cache blocking that suits it.
template <class T>
struct GemmUkernel {
  gemm_ukernel_fn<T> fn;
  int mr, nr;          // register tile
  index_t mc, kc, nc;  // cache blocks: A block mc x kc in L2, B panel kc x nc in L3
  const char* name;
};

// The largest tile any microkernel uses (for the driver's edge scratch tile).
constexpr int kMaxUkernelTile = 16 * 16;

template <class T>
const GemmUkernel<T>& select_gemm_ukernel(Isa isa);

// Portable C++ microkernel (the compiler vectorises what it can for the
// baseline target).
template <class T, int MR, int NR>
void gemm_ukernel_generic(index_t k, const T* a, const T* b, T* c, index_t ldc, T alpha, T beta);

#ifdef CNNFAST_HAVE_AVX2_KERNELS
void sgemm_ukernel_6x16_avx2(index_t k, const float* a, const float* b, float* c, index_t ldc, float alpha,
                             float beta);
void dgemm_ukernel_6x8_avx2(index_t k, const double* a, const double* b, double* c, index_t ldc, double alpha,
                            double beta);

// Few-row products without packing (gemm.cpp, gemm_small_m): a is op(A) as M
// contiguous rows of K; columns [j_lo, j_hi) of C = a @ op(B) are written.
// nt: B is (N, K), row j contiguous (trans_b); nn: B is (K, N).
void sgemm_small_m_nt_avx2(index_t M, index_t K, const float* a, const float* b, index_t ldb, float* c,
                           index_t ldc, index_t j_lo, index_t j_hi);
void sgemm_small_m_nn_avx2(index_t M, index_t K, const float* a, const float* b, index_t ldb, float* c,
                           index_t ldc, index_t j_lo, index_t j_hi);
#endif

}  // namespace cnnfast
