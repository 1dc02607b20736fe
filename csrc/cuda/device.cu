// The device build of the CUDA kernels (the same sources as cuda/emulated.cpp,
// namespace cuda_device) and the runtime queries the module reports.
#include <cuda_runtime.h>

#include <new>
#include <stdexcept>
#include <string>

#include "cuda/backend.cuh"
#include "cuda/backend.h"
#include "cuda/device.h"
#include "sizes.h"

namespace cnnfast {
namespace cuda_device {

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear it, so the next call does not report it again
  throw std::runtime_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(status));
}

const char* Api::name() { return "device"; }

void* Api::malloc(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw AllocationError(bytes, "a device array");
  }
  check(status, "cudaMalloc");
  return p;
}

void Api::free(void* p) { check(cudaFree(p), "cudaFree"); }

void Api::copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy");
}

void Api::synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return n;
}

std::vector<std::string> device_names() {
  std::vector<std::string> names;
  for (int i = 0; i < device_count(); ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    names.push_back(std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                    std::to_string(prop.minor) + ")");
  }
  return names;
}

int runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

int driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return v;
}

}  // namespace cuda_device
}  // namespace cnnfast
