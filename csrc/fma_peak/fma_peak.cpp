#include "fma_peak/fma_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "cpu_features.h"
#include "parallel.h"

#ifdef CNNFAST_HAVE_AVX2_KERNELS
#include "fma_peak/avx2/fma_peak_avx2.h"
#endif

namespace cnnfast {

namespace {

// The generic path's ceiling: 8 independent scalar chains (what the compiler's
// baseline SSE2 code can issue without vectorising).
float fma_chains_generic(long iterations, float seed) {
  float acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = seed * static_cast<float>(i + 1);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 8; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float s = 0;
  for (float v : acc) s += v;
  return s;
}

struct Kernel {
  float (*fn)(long, float);
  double flop_per_iteration;
  const char* isa;
};

Kernel select_fma_peak_ukernel(Isa isa) {
#ifdef CNNFAST_HAVE_AVX2_KERNELS
  if (isa == Isa::avx2) return {&fma_chains_avx2, 12 * 8 * 2, "avx2"};
#endif
  (void)isa;
  return {&fma_chains_generic, 8 * 2, "generic"};
}

using Clock = std::chrono::steady_clock;

double run_seconds(const Kernel& k, long iterations, int threads, std::atomic<float>& sink) {
  const auto t0 = Clock::now();
  run_team(threads, [&](int, int, TeamBarrier&) {
    const float v = k.fn(iterations, 1.0f);
    sink.store(v, std::memory_order_relaxed);
  });
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

FmaPeak measure_fma_peak(double seconds, int repeats) {
  const Kernel k = select_fma_peak_ukernel(active_isa());
  const int threads = get_num_threads();
  std::atomic<float> sink{0};
  long iterations = 1 << 16;  // grow until one run takes the requested time
  double t = run_seconds(k, iterations, threads, sink);
  while (t < seconds / 4) {
    iterations *= 2;
    t = run_seconds(k, iterations, threads, sink);
  }
  iterations = static_cast<long>(iterations * (seconds / std::max(t, 1e-9)));
  double best = 0, best_t = 0;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const double s = run_seconds(k, iterations, threads, sink);
    const double gflops = k.flop_per_iteration * static_cast<double>(iterations) * threads / s / 1e9;
    if (gflops > best) best = gflops, best_t = s;
  }
  return {best, best_t, threads, k.isa};
}

}  // namespace cnnfast
