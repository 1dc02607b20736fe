// Measures the float32 multiply-add ceiling of the active SIMD path on all
// kernel threads, so benchmarks can quote GFLOP/s as a fraction of it.
#pragma once

namespace cnnfast {

struct FmaPeak {
  double gflops;   // all threads together
  double seconds;  // wall time of the measured run
  int threads;
  const char* isa;  // the path measured ("avx2" or "generic")
};

// Runs for about `seconds` per repetition on every kernel thread; returns the best
// of `repeats` repetitions.
FmaPeak measure_fma_peak(double seconds, int repeats);

}  // namespace cnnfast
