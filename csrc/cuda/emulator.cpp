#include "cuda/emulator.h"

#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cnnfast {
namespace cuda_emu {

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

// A reusable barrier for a fixed number of threads (std::barrier is C++20).
class Barrier {
 public:
  explicit Barrier(unsigned count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const unsigned generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation != generation_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  unsigned count_, arrived_ = 0, generation_ = 0;
};

thread_local Barrier* t_block_barrier = nullptr;
std::mutex g_launch_mutex;  // one emulated launch at a time: __shared__ is one static copy

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
  std::lock_guard<std::mutex> launch_lock(g_launch_mutex);
  Barrier barrier(static_cast<unsigned>(threads));
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> team;
  team.reserve(threads);
  for (unsigned long t = 0; t < threads; ++t) {
    team.emplace_back([&, t] {
      threadIdx = dim3(static_cast<unsigned>(t % block.x), static_cast<unsigned>(t / block.x % block.y),
                       static_cast<unsigned>(t / (block.x * block.y)));
      blockDim = block;
      gridDim = grid;
      t_block_barrier = &barrier;
      for (unsigned long b = 0; b < blocks; ++b) {
        blockIdx = dim3(static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                        static_cast<unsigned>(b / (static_cast<unsigned long>(grid.x) * grid.y)));
        try {
          body();
        } catch (...) {
          // Kept and rethrown after the launch; the thread still meets the block's
          // barriers (one that threw before a __syncthreads() would leave its block
          // waiting there: device kernels cannot throw, and ours do not).
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
        barrier.wait();  // the next block reuses __shared__ storage
      }
      t_block_barrier = nullptr;
    });
  }
  for (std::thread& th : team) th.join();
  if (error) std::rethrow_exception(error);
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
