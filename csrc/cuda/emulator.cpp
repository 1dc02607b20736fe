#include "cuda/emulator.h"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "futex.h"

namespace cnnfast {
namespace cuda_emu {

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

// (wait_while_equal / wake_all: futex.h. A block's hundreds of threads wait at every
// __syncthreads(); the condition-variable version spent ~2 ms per barrier of 256
// threads on two cores, mostly in the thundering herd a futex avoids.)

// A reusable barrier for a fixed number of threads (std::barrier is C++20). The last
// to arrive resets the count, then publishes a new generation with release order, so
// everything written before the barrier is visible after it (to ThreadSanitizer too).
class Barrier {
 public:
  void reset(uint32_t count) {
    count_ = count;
    arrived_.store(0, std::memory_order_relaxed);
  }
  void wait() {
    const uint32_t generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      wake_all(generation_);
      return;
    }
    wait_while_equal(generation_, generation);
  }

 private:
  uint32_t count_ = 0;
  std::atomic<uint32_t> arrived_{0}, generation_{0};
};

// One launch: what every participating worker runs.
struct Job {
  dim3 grid, block;
  unsigned long threads = 0, blocks = 0;
  const std::function<void()>* body = nullptr;
  Barrier barrier;
  std::mutex error_mutex;
  std::exception_ptr error;
  std::atomic<uint32_t> unfinished{0};
};

thread_local Barrier* t_block_barrier = nullptr;

// The OS threads that play a block's threads, kept between launches (creating 256
// threads per launch cost ~5 ms). Worker i plays thread i of every block of a launch
// with more than i threads per block; it sleeps on its own word between launches.
class Team {
 public:
  // One launch at a time: __shared__ storage is one static copy per kernel.
  void run(Job& job) {
    std::lock_guard<std::mutex> lock(launch_mutex_);
    while (workers_.size() < job.threads) workers_.push_back(std::make_unique<Worker>(this, workers_.size()));
    job.unfinished.store(static_cast<uint32_t>(job.threads), std::memory_order_relaxed);
    const uint32_t done = done_.load(std::memory_order_relaxed);
    job_ = &job;
    for (unsigned long i = 0; i < job.threads; ++i) {
      workers_[i]->go.fetch_add(1, std::memory_order_release);
      wake_all(workers_[i]->go);
    }
    wait_while_equal(done_, done);
    job_ = nullptr;
  }

  ~Team() {
    stopping_ = true;
    for (auto& w : workers_) {
      w->go.fetch_add(1, std::memory_order_release);
      wake_all(w->go);
    }
    for (auto& w : workers_) w->thread.join();
  }

 private:
  struct Worker {
    std::atomic<uint32_t> go{0};
    std::thread thread;
    Worker(Team* team, size_t index) : thread([team, index, this] { team->work(*this, index); }) {}
  };

  void work(Worker& self, size_t index) {
    uint32_t seen = 0;
    for (;;) {
      wait_while_equal(self.go, seen);
      seen = self.go.load(std::memory_order_acquire);
      if (stopping_) return;
      play(*job_, index);
    }
  }

  void play(Job& job, size_t t) {
    const dim3 block = job.block, grid = job.grid;
    threadIdx = dim3(static_cast<unsigned>(t % block.x), static_cast<unsigned>(t / block.x % block.y),
                     static_cast<unsigned>(t / (static_cast<unsigned long>(block.x) * block.y)));
    blockDim = block;
    gridDim = grid;
    t_block_barrier = &job.barrier;
    for (unsigned long b = 0; b < job.blocks; ++b) {
      blockIdx = dim3(static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                      static_cast<unsigned>(b / (static_cast<unsigned long>(grid.x) * grid.y)));
      try {
        (*job.body)();
      } catch (...) {
        // Kept and rethrown after the launch; the thread still meets the block's
        // barriers (one that threw before a __syncthreads() would leave its block
        // waiting there: device kernels cannot throw, and ours do not).
        std::lock_guard<std::mutex> lock(job.error_mutex);
        if (!job.error) job.error = std::current_exception();
      }
      job.barrier.wait();  // the next block reuses __shared__ storage
    }
    t_block_barrier = nullptr;
    if (job.unfinished.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      done_.fetch_add(1, std::memory_order_release);
      wake_all(done_);
    }
  }

  std::mutex launch_mutex_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Job* job_ = nullptr;
  std::atomic<uint32_t> done_{0};
  std::atomic<bool> stopping_{false};
};

// The launch team. Leaked on purpose: joining threads from a static destructor at
// interpreter exit races with the runtime's own teardown. Its worker threads do not
// survive fork(), so a child starts a team of its own; the parent's, whose threads
// the child does not have, is left alone (it can be neither used nor joined, and
// the child, single-threaded, never waits on its lock).
Team*& team_slot();

void new_team_after_fork() { team_slot() = new Team; }

Team*& team_slot() {
  static Team** slot = [] {
    pthread_atfork(nullptr, nullptr, &new_team_after_fork);
    return new Team*(new Team);
  }();
  return *slot;
}

Team& team() { return *team_slot(); }
[[maybe_unused]] const bool kTeamBuiltAtLoad = (team_slot(), true);  // csrc/README.md, "Built at load"

}  // namespace

void syncthreads() {
  if (t_block_barrier == nullptr) throw std::logic_error("__syncthreads() outside an emulated kernel");
  t_block_barrier->wait();
}

void launch(dim3 grid, dim3 block, const std::function<void()>& body) {
  const unsigned long threads = static_cast<unsigned long>(block.x) * block.y * block.z;
  const unsigned long blocks = static_cast<unsigned long>(grid.x) * grid.y * grid.z;
  if (threads == 0 || threads > 1024)
    throw std::invalid_argument("emulated launch: " + std::to_string(threads) +
                                " threads per block (1 to 1024, as on the device)");
  if (blocks == 0) return;
  Job job;
  job.grid = grid;
  job.block = block;
  job.threads = threads;
  job.blocks = blocks;
  job.body = &body;
  job.barrier.reset(static_cast<uint32_t>(threads));
  team().run(job);
  if (job.error) std::rethrow_exception(job.error);
}

float atomic_add(float* address, float value) {
  // Compare-and-swap on the bit pattern (GCC's __atomic builtins on a float's bits).
  unsigned int* bits = reinterpret_cast<unsigned int*>(address);
  unsigned int old = __atomic_load_n(bits, __ATOMIC_RELAXED), desired;
  float old_value;
  do {
    std::memcpy(&old_value, &old, sizeof old);
    const float sum = old_value + value;
    std::memcpy(&desired, &sum, sizeof desired);
  } while (!__atomic_compare_exchange_n(bits, &old, desired, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  return old_value;
}

int atomic_add(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST); }

}  // namespace cuda_emu
}  // namespace cnnfast
