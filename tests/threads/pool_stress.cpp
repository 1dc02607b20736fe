// The kernels' thread pool under stress, built with ThreadSanitizer by
// tests/test_threads.py: parallel_for, parallel_chunks and run_team (with barriers)
// from several caller threads at once, with thread counts changing between calls
// and idle periods long enough for the workers to fall asleep. Every result is
// checked; TSan checks that every piece's writes reach the caller (happens-before
// through the pool's atomics, not timing) and that no two threads race.
// Prints "<n> wrong"; exits 1 when anything was wrong. `pool_stress racy` skips the
// team's first barrier, so TSan must report that race (the harness can see one).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "parallel.h"

using namespace cnnfast;

namespace {

int check_parallel_for(int threads, index_t n) {
  std::vector<int> out(static_cast<size_t>(n), 0);
  set_num_threads(threads);
  parallel_for(n, 1, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) out[static_cast<size_t>(i)] += static_cast<int>(i) + 1;
  });
  int wrong = 0;
  for (index_t i = 0; i < n; ++i) wrong += out[static_cast<size_t>(i)] != static_cast<int>(i) + 1;
  return wrong;
}

int check_chunks(index_t n) {
  long partial[kMaxThreads] = {};
  const int parts = parallel_chunks(n, 1, [&](int c, index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) partial[c] += i;
  });
  long sum = 0;
  for (int c = 0; c < parts; ++c) sum += partial[c];
  return sum != n * (n - 1) / 2;
}

bool g_racy = false;

int check_team(int threads) {
  // Phase 1: each member writes its slot; barrier; phase 2: each reads its
  // neighbour's (a missing barrier would be a race TSan reports).
  std::vector<int> slot(static_cast<size_t>(threads), -1), seen(static_cast<size_t>(threads), -1);
  int used = 1;
  run_team(threads, [&](int tid, int nth, TeamBarrier& barrier) {
    if (tid == 0) used = nth;
    slot[static_cast<size_t>(tid)] = tid * 10;
    if (!g_racy) barrier.wait();
    seen[static_cast<size_t>(tid)] = slot[static_cast<size_t>((tid + 1) % nth)];
    barrier.wait();
  });
  int wrong = 0;
  for (int t = 0; t < used; ++t) wrong += seen[static_cast<size_t>(t)] != ((t + 1) % used) * 10;
  return wrong;
}

}  // namespace

int main(int argc, char** argv) {
  g_racy = argc > 1 && std::string(argv[1]) == "racy";
  std::atomic<int> wrong{0};
  auto caller = [&](int id) {
    for (int round = 0; round < 300; ++round) {
      const int threads = 1 + (round + id) % 4;
      wrong += check_parallel_for(threads, 1 + (round * 37 + id) % 500);
      wrong += check_chunks(1 + (round * 11) % 300);
      wrong += check_team(threads);
      if (round % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // workers sleep
    }
  };
  std::vector<std::thread> callers;
  for (int id = 0; id < 3; ++id) callers.emplace_back(caller, id);
  for (auto& t : callers) t.join();
  std::printf("%d wrong\n", wrong.load());
  return wrong.load() && !g_racy ? 1 : 0;
}
