// The CUDA device build (cuda/device.cu, compiled by nvcc when CNNFAST_CUDA is on):
// what the runtime reports. The CUDA runtime is linked statically, so these work,
// and report no device, on a machine without a driver or GPU.
#pragma once

#include <string>
#include <vector>

namespace cnnfast {
namespace cuda_device {

// Devices the runtime can use; 0 when there is no driver or no GPU.
int device_count();
// Each device's name and compute capability, e.g. "NVIDIA A100 (sm_80)".
std::vector<std::string> device_names();
// The runtime's version (e.g. 13000) and the driver's (0 without a driver).
int runtime_version();
int driver_version();

}  // namespace cuda_device
}  // namespace cnnfast
