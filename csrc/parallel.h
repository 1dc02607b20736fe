// Threading: one process-wide thread count, the kernels' own thread pool
// (thread_pool.h), no nesting.
//
// parallel_for splits [0, n) into pieces that depend only on n, the grain and the
// thread count, and any thread of the team runs any piece; parallel_chunks gives
// each chunk its own partial result, summed afterwards in chunk order. Either way
// the same thread count gives the same bits on every run, however the threads were
// scheduled. run_team is for the few drivers whose threads meet at barriers.
// A build with CNNFAST_THREADS=OFF (CNNFAST_SINGLE_THREADED) runs everything on
// the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <utility>

#include "common.h"
#include "thread_pool.h"

namespace cnnfast {

// The most threads set_num_threads accepts: far more than any machine's cores
// (oversubscribing beyond that only slows every barrier), few enough that starting
// them is cheap (set_num_threads starts them at once, to be sure it can).
constexpr int kMaxThreads = 1024;

// The thread count kernels use. Inside a ThreadCountScope on the calling thread it
// is the value read when the scope began: one kernel call sees one count however
// often its drivers ask, whatever other Python threads set meanwhile (a driver that
// sized per-thread buffers from one read and started its team from a later, larger
// one wrote past them).
int get_num_threads();
// 1 <= n <= kMaxThreads; starts the pool's n - 1 workers first, so that a system
// that cannot run them is a std::runtime_error here (the count stays as it was).
void set_num_threads(int n);
bool threads_enabled();  // false in a CNNFAST_THREADS=OFF build

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

inline bool in_parallel_region() { return pool_in_job(); }

// How many threads to use for `work` units when each thread should get at
// least `grain` of them: small problems stay on one thread, nested calls too.
inline int threads_for(index_t work, index_t grain) {
  if (in_parallel_region() || work <= grain) return 1;
  const index_t by_work = work / std::max<index_t>(grain, 1);
  return static_cast<int>(std::max<index_t>(1, std::min<index_t>(get_num_threads(), by_work)));
}

// Work inside a job runs through run(), which keeps the first exception (e.g.
// std::bad_alloc for a thread's scratch buffer) to be rethrown by the calling
// thread afterwards: pool pieces must not throw.
class ExceptionCarrier {
 public:
  template <class G>
  void run(G&& g) noexcept {
    try {
      g();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mu_;
  std::exception_ptr error_;
};

// The i-th of `parts` boundaries splitting [0, n) into near-equal runs (i in
// [0, parts]); no product that a large n could overflow.
inline index_t split_point(index_t n, index_t parts, index_t i) {
  return i * (n / parts) + std::min(i, n % parts);
}

// Runs g(piece) for piece in [0, pieces) on up to nt threads (the pool; serially on
// the calling thread when nt is 1, inside a job, or when the pool is busy with
// another thread's job). g must not throw.
template <class G>
void run_pieces([[maybe_unused]] int nt, index_t pieces, G&& g) {
#ifndef CNNFAST_SINGLE_THREADED
  if (nt > 1 && pieces > 1) {
    auto trampoline = [](void* ctx, index_t piece) { (*static_cast<G*>(ctx))(piece); };
    if (pool_run(nt, pieces, false, trampoline, &g)) return;
  }
#endif
  for (index_t p = 0; p < pieces; ++p) g(p);
}

// Pieces per thread in parallel_for and for_ranges.
constexpr int kPiecesPerThread = 4;

// Calls f(lo, hi) on up to kPiecesPerThread * nt contiguous, disjoint ranges
// covering [0, n), on up to nt threads: whichever thread is free claims the next
// range. (Claiming costs a contended atomic, so ranges, not single items.)
template <class F>
void for_ranges(int nt, index_t n, F&& f) {
  if (n <= 0) return;
  const index_t pieces = std::min<index_t>(n, index_t{std::max(nt, 1)} * kPiecesPerThread);
  ExceptionCarrier carrier;
  run_pieces(nt, pieces, [&](index_t p) {
    carrier.run([&] { f(split_point(n, pieces, p), split_point(n, pieces, p + 1)); });
  });
  carrier.rethrow();
}

// Calls f(lo, hi) on contiguous, disjoint pieces covering [0, n), each at least
// `grain` long where n allows. Whichever thread of the team is free claims the next
// piece: a thread that another process's work holds back (cores shared with a busy
// neighbour) takes fewer, instead of the team waiting for its fixed share (with
// fixed shares, 2 threads beside one busy process ran slower than 1). f writes
// disjoint output, so the result does not depend on which thread ran what.
template <class F>
void parallel_for(index_t n, index_t grain, F&& f) {
  if (n <= 0) return;
  const int nt = threads_for(n, grain);
  if (nt <= 1) {
    f(index_t{0}, n);
    return;
  }
  const index_t g = std::max<index_t>(grain, 1);
  // As many pieces as for_ranges would make, but none shorter than the grain.
  const index_t units = std::max<index_t>(nt, std::min<index_t>(index_t{nt} * kPiecesPerThread, n / g));
  for_ranges(nt, units,
             [&](index_t lo, index_t hi) { f(split_point(n, units, lo), split_point(n, units, hi)); });
}

// Like parallel_for, but in one chunk per thread of the team, and tells f which
// chunk (0..chunks-1) it got, for per-chunk partial results. Returns the number of
// chunks used, never more than max_chunks (the partial buffers the caller holds).
template <class F>
int parallel_chunks(index_t n, index_t grain, F&& f, int max_chunks = kMaxThreads) {
  if (n <= 0) return 0;
  const int nt = std::max(1, std::min(threads_for(n, grain), max_chunks));
  if (nt <= 1) {
    f(0, index_t{0}, n);
    return 1;
  }
  ExceptionCarrier carrier;
  run_pieces(nt, nt, [&](index_t c) {
    carrier.run([&] { f(static_cast<int>(c), split_point(n, nt, c), split_point(n, nt, c + 1)); });
  });
  carrier.rethrow();
  return nt;
}

// A barrier for the threads of one run_team job (each of its nth threads calls it
// the same number of times).
class TeamBarrier {
 public:
  explicit TeamBarrier(int threads) : threads_(static_cast<std::uint32_t>(threads)) {}
  void wait();

 private:
  const std::uint32_t threads_;
  alignas(64) std::atomic<std::uint32_t> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
};

// Runs f(tid, nth, barrier) once on each of nt threads at the same time (f may call
// barrier.wait() between phases); with one thread (nt <= 1, inside a job, the pool
// busy or unable to field nt threads) it runs f(0, 1, barrier) on the caller.
template <class F>
void run_team([[maybe_unused]] int nt, F&& f) {
#ifndef CNNFAST_SINGLE_THREADED
  if (nt > 1 && !in_parallel_region()) {
    TeamBarrier barrier(nt);
    auto member = [&](index_t tid) { f(static_cast<int>(tid), nt, barrier); };
    using M = decltype(member);
    auto trampoline = [](void* ctx, index_t tid) { (*static_cast<M*>(ctx))(tid); };
    if (pool_run(nt, nt, true, trampoline, &member)) return;
  }
#endif
  TeamBarrier alone(1);
  f(0, 1, alone);
}

}  // namespace cnnfast
