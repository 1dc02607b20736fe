// A kernel that exchanges values between threads through __shared__ memory, built
// against the CUDA emulator with ThreadSanitizer by tests/test_cuda_emulator.py.
// Run as `neighbour_exchange sync` it meets at __syncthreads() between the write and
// the read and must run clean; without the argument the barrier is skipped and
// ThreadSanitizer must report the data race the missing __syncthreads() leaves
// (the emulator's barrier orders memory with release/acquire atomics, so this is
// decided by happens-before, not by timing).
#include <cstdio>
#include <cstring>

#include "cuda/compat.h"

CNNFAST_GLOBAL void neighbour_exchange(float* out, bool sync) {
  CNNFAST_SHARED float tile[64];
  const unsigned t = threadIdx.x;
  tile[t] = static_cast<float>(t);
  if (sync) CNNFAST_SYNC();
  out[blockIdx.x * 64 + t] = tile[(t + 1) % 64];
  if (sync) CNNFAST_SYNC();  // reads done before the next block overwrites the tile
}

int main(int argc, char** argv) {
  const bool sync = argc > 1 && std::strcmp(argv[1], "sync") == 0;
  float out[2 * 64];
  CNNFAST_LAUNCH(neighbour_exchange, dim3(2), dim3(64))(out, sync);
  int wrong = 0;
  for (int i = 0; i < 2 * 64; ++i) wrong += out[i] != static_cast<float>((i % 64 + 1) % 64);
  std::printf("%d wrong\n", wrong);
  return sync && wrong ? 1 : 0;
}
