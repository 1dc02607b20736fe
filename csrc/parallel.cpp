#include "parallel.h"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnnfast {

namespace {
int initial_threads() {
  // CNNFAST_NUM_THREADS wins, then the OpenMP default (OMP_NUM_THREADS or cores);
  // either is held to [1, kMaxThreads].
  int n = 0;
  if (const char* env = std::getenv("CNNFAST_NUM_THREADS")) n = std::atoi(env);
#ifdef _OPENMP
  if (n < 1) n = omp_get_max_threads();
#endif
  return std::min(std::max(n, 1), kMaxThreads);
}

std::atomic<int>& thread_count() {
  static std::atomic<int> n{initial_threads()};
  return n;
}

// The count pinned on this thread by a ThreadCountScope; 0 outside any scope.
thread_local int pinned = 0;

std::atomic<bool> team_started{false};
std::atomic<bool> forked_after_team{false};

// Runs in the child of every fork() (not posix_spawn, which execs at once).
void on_fork_child() {
  if (team_started.load(std::memory_order_relaxed)) forked_after_team.store(true, std::memory_order_relaxed);
}

// Registered when the library loads, before any kernel can start a team.
const int fork_handlers_registered = pthread_atfork(nullptr, nullptr, &on_fork_child);

// Starts n - 1 threads with the default attributes (what the OpenMP runtime uses
// unless OMP_STACKSIZE says otherwise) and joins them; an error names the first
// thread that could not start. The runtime itself calls a failure fatal.
void require_threads_can_start(int n) {
  static std::mutex mu;
  static int proven = 1;  // the most threads shown to start so far
  std::lock_guard<std::mutex> lock(mu);
  if (n <= proven) return;
  std::vector<pthread_t> started;
  started.reserve(static_cast<std::size_t>(n - 1));
  int err = 0;
  for (int i = 1; i < n && err == 0; ++i) {
    pthread_t t;
    err = pthread_create(&t, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
    if (err == 0) started.push_back(t);
  }
  for (pthread_t t : started) pthread_join(t, nullptr);
  if (err != 0)
    throw std::runtime_error("set_num_threads(" + std::to_string(n) + "): the system could start only " +
                             std::to_string(started.size() + 1) + " threads (" + std::strerror(err) +
                             "); the thread count stays " + std::to_string(get_num_threads()));
  proven = n;
}
}  // namespace

int get_num_threads() {
  if (forked_after_team.load(std::memory_order_relaxed)) return 1;
  return pinned > 0 ? pinned : thread_count().load(std::memory_order_relaxed);
}

bool fork_single_threaded() { return forked_after_team.load(std::memory_order_relaxed); }

void note_team_start() {
  if (!team_started.load(std::memory_order_relaxed)) team_started.store(true, std::memory_order_relaxed);
}

void set_num_threads(int n) {
  require(n >= 1, "set_num_threads: n must be >= 1, got " + std::to_string(n));
  require(n <= kMaxThreads, "set_num_threads: n must be at most " + std::to_string(kMaxThreads) + ", got " +
                                std::to_string(n));
#ifdef _OPENMP
  require_threads_can_start(n);
  thread_count().store(n, std::memory_order_relaxed);
#endif
}

ThreadCountScope::ThreadCountScope() : saved_(pinned) {
  if (pinned == 0) pinned = thread_count().load(std::memory_order_relaxed);
}

ThreadCountScope::~ThreadCountScope() { pinned = saved_; }

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace cnnfast
