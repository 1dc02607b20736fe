// The CUDA kernels compiled by the host compiler against the emulator: the same
// source as the device build (cuda/*.cuh), in namespace cuda_emulated. The runtime
// calls are stood in for by host memory: "device" pointers are host pointers, so a
// copy in any direction is a memcpy and synchronising has nothing to wait for
// (launches return when the grid has run).
#include "cuda/emulated.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cuda/backend.cuh"
#include "cuda/backend.h"
#include "sizes.h"

namespace cnnfast {
namespace cuda_emulated {

const char* Api::name() { return "emulated"; }

void* Api::malloc(std::size_t bytes) {
  // 256-byte alignment, as cudaMalloc gives (a size that cannot be rounded up
  // without wrapping cannot be allocated either).
  if (bytes > (std::size_t{1} << 63)) throw AllocationError(bytes, "a device array");
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + (bytes == 0 ? 256 : 0));
  if (p == nullptr) throw AllocationError(bytes, "a device array");
  return p;
}

void Api::free(void* p) { std::free(p); }

void Api::copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

void Api::synchronize() {}

void sgemm(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
           float* C, int ldc) {
  launch_matmul<float>(M, N, K, alpha, A, lda, false, B, ldb, false, beta, C, ldc);
}

float sum(int n, const float* x, int blocks) {
  float out = 0.0f;
  launch_sum(n, x, &out, blocks);
  return out;
}

namespace {
CNNFAST_GLOBAL void thread_indices_kernel(int* out) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  int* row = out + (block * blockDim.x * blockDim.y * blockDim.z + thread) * 10;
  const unsigned values[10] = {blockIdx.x,
                               blockIdx.y,
                               blockIdx.z,
                               threadIdx.x,
                               threadIdx.y,
                               threadIdx.z,
                               blockDim.x * blockDim.y * blockDim.z,
                               gridDim.x * gridDim.y * gridDim.z,
                               block,
                               thread};
  for (int i = 0; i < 10; ++i) row[i] = static_cast<int>(values[i]);
}
}  // namespace

#ifdef CNNFAST_SANITIZE_BUILD
namespace {
CNNFAST_GLOBAL void faulty_shared_index_kernel(float* out) {
  CNNFAST_SHARED float tile[32];
  tile[threadIdx.x] = static_cast<float>(threadIdx.x);  // threadIdx.x == 32 is out of range
  CNNFAST_SYNC();
  if (threadIdx.x == 0) *out = tile[0];
}
}  // namespace

void faulty_shared_index() {
  float out = 0.0f;
  CNNFAST_LAUNCH(faulty_shared_index_kernel, dim3(1), dim3(33))(&out);
}
#endif

void thread_indices(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, int* out) {
  CNNFAST_LAUNCH(thread_indices_kernel, dim3(gx, gy, gz), dim3(bx, by, bz))(out);
}

}  // namespace cuda_emulated
}  // namespace cnnfast
