#include "parallel.h"

#include <atomic>
#include <cstdlib>

namespace cnnfast {

namespace {
int initial_threads() {
  // CNNFAST_NUM_THREADS wins, then the OpenMP default (OMP_NUM_THREADS or cores).
  if (const char* env = std::getenv("CNNFAST_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

std::atomic<int>& thread_count() {
  static std::atomic<int> n{initial_threads()};
  return n;
}
}  // namespace

int get_num_threads() { return thread_count().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  require(n >= 1, "set_num_threads: n must be >= 1, got " + std::to_string(n));
#ifdef _OPENMP
  thread_count().store(n, std::memory_order_relaxed);
#endif
}

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace cnnfast
