// The CUDA kernels run through the host emulator (emulator.h), for verification on
// machines without a GPU. Pointers are host memory.
#pragma once

#include "common.h"

namespace cnnfast {
namespace cuda_emulated {

// C = alpha * A (M x K) @ B (K x N) + beta * C, row-major, by the tiled SGEMM kernel.
void sgemm(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
           float* C, int ldc);

// The sum of x[0, n) by `blocks` blocks of the reduction kernel.
float sum(int n, const float* x, int blocks);

// Runs a kernel that writes, for every thread of the launch, its flattened global
// index, blockIdx and threadIdx (x, y, z) and blockDim/gridDim into out (n_threads
// rows of 10 ints): checks the emulator's built-in variables.
void thread_indices(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, int* out);

#ifdef CNNFAST_SANITIZE_BUILD
// Sanitizer builds only: a kernel whose 33rd thread writes one element past a
// 32-element __shared__ array. Run under AddressSanitizer it must be reported as a
// global-buffer-overflow (tests/test_cuda_emulator.py, in a subprocess).
void faulty_shared_index();
#endif

}  // namespace cuda_emulated
}  // namespace cnnfast
