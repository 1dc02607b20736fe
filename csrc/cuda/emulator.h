// A host emulation of CUDA's execution model, so that kernel source written for
// nvcc runs, unchanged, on a machine without a GPU (compat.h maps the CUDA
// keywords onto it):
//   - the blocks of a grid run one after another;
//   - the threads of a block run concurrently, one OS thread each, and meet at a
//     barrier for __syncthreads();
//   - __shared__ storage is one static copy, shared by the threads of the block
//     running now (blocks never overlap, and launches are serialised);
//   - threadIdx, blockIdx, blockDim, gridDim are per-thread and behave as on the
//     device; atomics are real atomics.
// It is a correctness tool (tests, ASan/TSan runs), not a fast path: a launch
// costs an OS thread per thread of a block.
#pragma once

#include <functional>

namespace cnnfast {
namespace cuda_emu {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3() = default;
  dim3(unsigned x_, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

extern thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

// The block barrier of the calling emulated thread.
void syncthreads();

// Runs body() on every thread of every block of the grid. At most 1024 threads per
// block (as on the device); throws std::invalid_argument beyond.
void launch(dim3 grid, dim3 block, const std::function<void()>& body);

// atomicAdd for float and int: the old value, as on the device.
float atomic_add(float* address, float value);
int atomic_add(int* address, int value);

}  // namespace cuda_emu
}  // namespace cnnfast
