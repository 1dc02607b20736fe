// One kernel source for nvcc and for the host compiler. Kernels are written with
// the macros below and the usual threadIdx / blockIdx / blockDim / gridDim; under
// nvcc they are CUDA, otherwise they run on the host emulator (emulator.h).
//
//   CNNFAST_GLOBAL      a kernel (__global__)
//   CNNFAST_DEVICE      a device helper (__device__)
//   CNNFAST_SHARED      block-shared storage (__shared__)
//   CNNFAST_SYNC()      __syncthreads()
//   cnnfast_atomic_add  atomicAdd
//   CNNFAST_LAUNCH(kernel, grid, block)(args...)   kernel<<<grid, block>>>(args...)
#pragma once

#if defined(__CUDACC__)

#define CNNFAST_CUDA_NS cuda_device
#define CNNFAST_GLOBAL __global__
#define CNNFAST_DEVICE __device__
#define CNNFAST_SHARED __shared__
#define CNNFAST_SYNC() __syncthreads()
#define cnnfast_atomic_add atomicAdd
#define CNNFAST_LAUNCH(kernel, grid, block) kernel<<<(grid), (block)>>>

#else

#include <utility>

#include "cuda/emulator.h"

// The same kernels built both ways live in different namespaces, so one module can
// hold the device build and the emulated one.
#define CNNFAST_CUDA_NS cuda_emulated
#define CNNFAST_GLOBAL
#define CNNFAST_DEVICE inline
// One static copy per kernel instantiation, shared by the threads of the running
// block (the emulator runs blocks one at a time and launches one at a time).
#define CNNFAST_SHARED static
#define CNNFAST_SYNC() ::cnnfast::cuda_emu::syncthreads()
#define cnnfast_atomic_add ::cnnfast::cuda_emu::atomic_add
#define CNNFAST_LAUNCH(kernel, grid, block) ::cnnfast::cuda_emu::Launcher((grid), (block), [](auto&&... a) { kernel(a...); })

namespace cnnfast {
namespace cuda_emu {

// CNNFAST_LAUNCH(k, grid, block)(args...): runs k(args...) on the emulator.
template <class K>
struct Launcher {
  dim3 grid, block;
  K kernel;
  Launcher(dim3 g, dim3 b, K k) : grid(g), block(b), kernel(k) {}
  template <class... Args>
  void operator()(Args... args) const {
    launch(grid, block, [&] { kernel(args...); });
  }
};

}  // namespace cuda_emu
}  // namespace cnnfast

using cnnfast::cuda_emu::dim3;
using cnnfast::cuda_emu::blockDim;
using cnnfast::cuda_emu::blockIdx;
using cnnfast::cuda_emu::gridDim;
using cnnfast::cuda_emu::threadIdx;

#endif
