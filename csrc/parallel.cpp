#include "parallel.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "futex.h"

namespace cnnfast {

namespace {
#ifndef CNNFAST_SINGLE_THREADED
// The cores this process may run on (its affinity mask), as OpenMP counts them.
int available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}
#endif

int initial_threads() {
#ifdef CNNFAST_SINGLE_THREADED
  return 1;
#else
  // CNNFAST_NUM_THREADS wins, then OMP_NUM_THREADS (the variable every numeric
  // library honours), then the cores this process may run on; held to
  // [1, kMaxThreads].
  int n = 0;
  for (const char* name : {"CNNFAST_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* env = std::getenv(name)) n = std::atoi(env);
    if (n >= 1) break;
  }
  if (n < 1) n = available_cores();
  return std::min(std::max(n, 1), kMaxThreads);
#endif
}

std::atomic<int>& thread_count() {
  static std::atomic<int> n{initial_threads()};
  return n;
}
// Built at load, not on first use: csrc/README.md, "Built at load".
[[maybe_unused]] const bool kThreadCountBuiltAtLoad = (thread_count(), true);

// The count pinned on this thread by a ThreadCountScope; 0 outside any scope.
thread_local int pinned = 0;
}  // namespace

int get_num_threads() { return pinned > 0 ? pinned : thread_count().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  require(n >= 1, "set_num_threads: n must be >= 1, got " + std::to_string(n));
  require(n <= kMaxThreads,
          "set_num_threads: n must be at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(n));
#ifndef CNNFAST_SINGLE_THREADED
  try {
    pool_ensure_workers(n - 1);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("set_num_threads(" + std::to_string(n) + "): the system " + e.what() +
                             "; the thread count stays " + std::to_string(get_num_threads()));
  }
  thread_count().store(n, std::memory_order_relaxed);
#endif
}

bool threads_enabled() {
#ifdef CNNFAST_SINGLE_THREADED
  return false;
#else
  return true;
#endif
}

ThreadCountScope::ThreadCountScope() : saved_(pinned) {
  if (pinned == 0) pinned = thread_count().load(std::memory_order_relaxed);
}

ThreadCountScope::~ThreadCountScope() { pinned = saved_; }

void TeamBarrier::wait() {
  if (threads_ <= 1) return;
  const std::uint32_t gen = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_all(generation_);
    return;
  }
  // A short spin (phases between barriers are short), then sleep.
  for (int i = 0; i < 4096; ++i) {
    if (generation_.load(std::memory_order_acquire) != gen) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  if (generation_.load(std::memory_order_seq_cst) == gen) wait_while_equal(generation_, gen);
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace cnnfast
