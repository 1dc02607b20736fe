// One kernel source for nvcc and for the host compiler. Kernels are written with
// the macros below and the usual threadIdx / blockIdx / blockDim / gridDim; under
// nvcc they are CUDA, otherwise they run on the host emulator (emulator.h).
//
//   CNNFAST_GLOBAL      a kernel (__global__)
//   CNNFAST_DEVICE      a device helper (__device__)
//   CNNFAST_HOST_DEVICE a helper for both sides (__host__ __device__)
//   CNNFAST_SHARED      block-shared storage (__shared__)
//   CNNFAST_SYNC()      __syncthreads()
//   cnnfast_atomic_add  atomicAdd
//   CNNFAST_LAUNCH(kernel, grid, block)(args...)   kernel<<<grid, block>>>(args...)
//   CNNFAST_CHECK_LAUNCH()                          throws if the last launch failed
// A template kernel is launched through a local pointer to it (the macro cannot
// take a template-id with commas): `auto* k = &gemm_tiled<T, A, B, C>;`.
// Math in kernels goes through the overloads at the end (expf vs exp on the device).
#pragma once

#if defined(__CUDACC__)

#define CNNFAST_CUDA_NS cuda_device
#define CNNFAST_GLOBAL __global__
#define CNNFAST_DEVICE __device__
#define CNNFAST_HOST_DEVICE __host__ __device__
#define CNNFAST_SHARED __shared__
#define CNNFAST_SYNC() __syncthreads()
#define cnnfast_atomic_add atomicAdd
#define CNNFAST_LAUNCH(kernel, grid, block) kernel<<<(grid), (block)>>>
#define CNNFAST_CHECK_LAUNCH() ::cnnfast::cuda_device::check(cudaGetLastError(), "kernel launch")

#include <cuda_runtime.h>

namespace cnnfast {
namespace cuda_device {
// Throws std::runtime_error naming `what` and the CUDA error (defined in device.cu).
void check(cudaError_t status, const char* what);
}  // namespace cuda_device
}  // namespace cnnfast

#else

#include <cmath>
#include <utility>

#include "cuda/emulator.h"

// The same kernels built both ways live in different namespaces, so one module can
// hold the device build and the emulated one.
#define CNNFAST_CUDA_NS cuda_emulated
#define CNNFAST_GLOBAL
#define CNNFAST_DEVICE
#define CNNFAST_HOST_DEVICE
// One static copy per kernel instantiation, shared by the threads of the running
// block (the emulator runs blocks one at a time and launches one at a time).
#define CNNFAST_SHARED static
#define CNNFAST_SYNC() ::cnnfast::cuda_emu::syncthreads()
#define cnnfast_atomic_add ::cnnfast::cuda_emu::atomic_add
#define CNNFAST_LAUNCH(kernel, grid, block) \
  ::cnnfast::cuda_emu::Launcher((grid), (block), [&](auto&&... a) { kernel(a...); })
#define CNNFAST_CHECK_LAUNCH() ((void)0)

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

using cnnfast::cuda_emu::blockDim;
using cnnfast::cuda_emu::blockIdx;
using cnnfast::cuda_emu::dim3;
using cnnfast::cuda_emu::gridDim;
using cnnfast::cuda_emu::threadIdx;

#endif

// Math for kernels templated on float and double: CUDA's device overloads, the
// host's std:: ones in emulation.
namespace cnnfast {
namespace CNNFAST_CUDA_NS {
#if defined(__CUDACC__)
CNNFAST_DEVICE inline float dev_exp(float x) { return expf(x); }
CNNFAST_DEVICE inline double dev_exp(double x) { return exp(x); }
CNNFAST_DEVICE inline float dev_log(float x) { return logf(x); }
CNNFAST_DEVICE inline double dev_log(double x) { return log(x); }
CNNFAST_DEVICE inline float dev_tanh(float x) { return tanhf(x); }
CNNFAST_DEVICE inline double dev_tanh(double x) { return tanh(x); }
CNNFAST_DEVICE inline float dev_sqrt(float x) { return sqrtf(x); }
CNNFAST_DEVICE inline double dev_sqrt(double x) { return sqrt(x); }
CNNFAST_DEVICE inline float dev_pow(float x, float y) { return powf(x, y); }
CNNFAST_DEVICE inline double dev_pow(double x, double y) { return pow(x, y); }
CNNFAST_DEVICE inline bool dev_isnan(float x) { return isnan(x); }
CNNFAST_DEVICE inline bool dev_isnan(double x) { return isnan(x); }
#else
template <class T>
inline T dev_exp(T x) {
  return std::exp(x);
}
template <class T>
inline T dev_log(T x) {
  return std::log(x);
}
template <class T>
inline T dev_tanh(T x) {
  return std::tanh(x);
}
template <class T>
inline T dev_sqrt(T x) {
  return std::sqrt(x);
}
template <class T>
inline T dev_pow(T x, T y) {
  return std::pow(x, y);
}
template <class T>
inline bool dev_isnan(T x) {
  return std::isnan(x);
}
#endif
}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
