// Sleeping until a 32-bit word changes, and waking its sleepers: a Linux futex (no
// mutex to re-take, so hundreds of waiters wake without a thundering herd), or a
// mutex and condition variable elsewhere. Shared by the kernels' thread pool and the
// CUDA emulator's block threads.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <condition_variable>
#include <mutex>
#endif

namespace cnnfast {

#if defined(__linux__)
// Returns once `word` no longer holds `value` (re-checked after every wake-up).
inline void wait_while_equal(std::atomic<uint32_t>& word, uint32_t value) {
  while (word.load(std::memory_order_acquire) == value)
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, value, nullptr, nullptr, 0);
}
inline void wake_all(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}
#else
inline std::mutex& futex_mutex() {
  static std::mutex m;
  return m;
}
inline std::condition_variable& futex_changed() {
  static std::condition_variable c;
  return c;
}
inline void wait_while_equal(std::atomic<uint32_t>& word, uint32_t value) {
  std::unique_lock<std::mutex> lock(futex_mutex());
  futex_changed().wait(lock, [&] { return word.load(std::memory_order_acquire) != value; });
}
inline void wake_all(std::atomic<uint32_t>&) {
  std::lock_guard<std::mutex> lock(futex_mutex());
  futex_changed().notify_all();
}
#endif

}  // namespace cnnfast
