// Finding another library's OpenMP runtime in the process, for the pool to run its
// jobs on (thread_pool.h, OpenMpRuntime): cnnfast.torch passes PyTorch's.
#pragma once

#include <string>

namespace cnnfast {

// Runs the pool's jobs on the OpenMP runtime at `path`, which must already be loaded
// in the process (it is looked up, never loaded: a second runtime of our own would
// bring the very contention this avoids). Throws std::invalid_argument naming the
// path and what is missing. An empty path goes back to cnnfast's own pool.
void share_openmp_runtime(const std::string& path);

// The path given to share_openmp_runtime while it is in use, else "".
std::string shared_openmp_runtime();

}  // namespace cnnfast
