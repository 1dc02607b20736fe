// Threading: one process-wide thread count, static partitions, no nesting.
//
// Every parallel region passes num_threads() explicitly instead of relying on
// omp_set_num_threads, whose setting is per calling thread (a Python thread
// other than the one that called set_num_threads would not see it).
// Partitions are static and contiguous, so a reduction that sums per-thread
// partials in thread order gives the same bits on every run with the same
// thread count.
#pragma once

#include <algorithm>
#include <exception>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cnnfast {

// The most threads set_num_threads accepts: far more than any machine's cores
// (oversubscribing beyond that only slows every barrier), few enough that starting
// them is cheap to check (set_num_threads starts them once to be sure it can).
constexpr int kMaxThreads = 1024;

// The thread count kernels use. Inside a ThreadCountScope on the calling thread it
// is the value read when the scope began: one kernel call sees one count however
// often its drivers ask, whatever other Python threads set meanwhile (a driver that
// sized per-thread buffers from one read and started its team from a later, larger
// one wrote past them).
int get_num_threads();
// 1 <= n <= kMaxThreads; starts n threads once first, so that a system that cannot
// run them is a std::runtime_error here and not a fatal error in the OpenMP runtime
// at the next parallel region.
void set_num_threads(int n);
bool openmp_enabled();

// fork(): GNU OpenMP's threads do not survive it, and a child's first parallel
// region waits for them forever. So a process forked after this library started
// an OpenMP team runs every kernel on one thread (get_num_threads() is 1 there,
// whatever is set), as PyTorch's children do; a child of a parent that never
// started one keeps its threads. note_team_start() marks the first team.
bool fork_single_threaded();
void note_team_start();

// Pins get_num_threads() for the calling thread while it lives (nested scopes keep
// the outer value). The bindings hold one around every kernel call.
class ThreadCountScope {
 public:
  ThreadCountScope();
  ~ThreadCountScope();
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int saved_;
};

inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// How many threads to use for `work` units when each thread should get at
// least `grain` of them: small problems stay on one thread, nested calls too.
inline int threads_for(index_t work, index_t grain) {
  if (in_parallel_region() || work <= grain) return 1;
  const index_t by_work = work / std::max<index_t>(grain, 1);
  return static_cast<int>(std::max<index_t>(1, std::min<index_t>(get_num_threads(), by_work)));
}

// An exception escaping an OpenMP region terminates the process, so work inside
// one runs through run(), which keeps the first exception (e.g. std::bad_alloc for
// a thread's scratch buffer) to be rethrown by the calling thread afterwards.
class ExceptionCarrier {
 public:
  template <class G>
  void run(G&& g) noexcept {
    try {
      g();
    } catch (...) {
#ifdef _OPENMP
#pragma omp critical(cnnfast_exception_carrier)
#endif
      if (!error_) error_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

// Calls f(lo, hi) on contiguous, disjoint chunks covering [0, n).
template <class F>
void parallel_for(index_t n, index_t grain, F&& f) {
  if (n <= 0) return;
  const int nt = threads_for(n, grain);
  if (nt <= 1) {
    f(index_t{0}, n);
    return;
  }
#ifdef _OPENMP
  note_team_start();
  ExceptionCarrier carrier;
#pragma omp parallel num_threads(nt)
  {
    const index_t t = omp_get_thread_num(), T = omp_get_num_threads();
    const index_t lo = n * t / T, hi = n * (t + 1) / T;
    if (lo < hi) carrier.run([&] { f(lo, hi); });
  }
  carrier.rethrow();
#else
  f(index_t{0}, n);
#endif
}

// Like parallel_for, but also tells f which chunk (0..chunks-1) it got, for
// per-thread partial results. Returns the number of chunks used, never more than
// max_chunks (the partial buffers the caller allocated).
template <class F>
int parallel_chunks(index_t n, index_t grain, F&& f, int max_chunks = kMaxThreads) {
  if (n <= 0) return 0;
  const int nt = std::max(1, std::min(threads_for(n, grain), max_chunks));
  if (nt <= 1) {
    f(0, index_t{0}, n);
    return 1;
  }
#ifdef _OPENMP
  note_team_start();
  ExceptionCarrier carrier;
#pragma omp parallel num_threads(nt)
  {
    const index_t t = omp_get_thread_num(), T = omp_get_num_threads();
    // T may be smaller than nt if the runtime refuses threads; chunks stay disjoint.
    for (index_t c = t; c < nt; c += T) {
      const index_t lo = n * c / nt, hi = n * (c + 1) / nt;
      carrier.run([&] { f(static_cast<int>(c), lo, hi); });
    }
  }
  carrier.rethrow();
#else
  for (int c = 0; c < nt; ++c) f(c, n * c / nt, n * (c + 1) / nt);
#endif
  return nt;
}

// Runs f(tid, nth) once on each of `nt` threads of one parallel region (f may
// call team_barrier(nth) between phases); nt <= 1 runs f(0, 1) without entering
// OpenMP at all (for a tiny problem the region costs more than the work).
template <class F>
void run_team(int nt, F&& f) {
  if (nt <= 1) {
    f(0, 1);
    return;
  }
#ifdef _OPENMP
  note_team_start();
#pragma omp parallel num_threads(nt)
  f(omp_get_thread_num(), omp_get_num_threads());
#else
  f(0, 1);
#endif
}

inline void team_barrier(int nth) {
  if (nth > 1) {
#ifdef _OPENMP
#pragma omp barrier
#endif
  }
}

}  // namespace cnnfast
