// The CUDA backend's interface (backend_api.inc), declared for both of its builds:
// cuda_emulated (the kernels on the host emulator; always built) and cuda_device
// (nvcc; defined only when CNNFAST_HAVE_CUDA).
#pragma once

#include <cstddef>

#include "cuda/shapes.h"

namespace cnnfast {
namespace cuda_emulated {
#include "cuda/backend_api.inc"
}  // namespace cuda_emulated
namespace cuda_device {
#include "cuda/backend_api.inc"
}  // namespace cuda_device
}  // namespace cnnfast
