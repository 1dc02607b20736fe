// A caching allocator for device memory, as every GPU framework has one: cudaMalloc
// and cudaFree synchronise the device and cost tens of microseconds, and a training
// step allocates the same sizes every time. Freed blocks are kept per size and
// reused; the cache is emptied and the allocation retried once when the device is
// out of memory. Generic over the runtime's malloc/free (device or emulated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cnnfast {
namespace cuda {

struct AllocatorStats {
  std::size_t in_use = 0;  // bytes handed out and not yet released
  std::size_t cached = 0;  // bytes held for reuse
  std::size_t peak_in_use = 0;
  std::size_t runtime_allocations = 0;  // calls that reached the runtime's malloc
  std::size_t reuses = 0;               // allocations served from the cache
};

class CachingAllocator {
 public:
  using Malloc = void* (*)(std::size_t);
  using Free = void (*)(void*);
  CachingAllocator(Malloc malloc, Free free) : malloc_(malloc), free_(free) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` (rounded up to a size class).
  void* allocate(std::size_t bytes);
  // Back to the cache (p from allocate).
  void release(void* p);
  // Returns every cached block to the runtime.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();

  // Size classes: multiples of 512 bytes up to 1 MiB, of 1 MiB above.
  static std::size_t size_class(std::size_t bytes);

  // How many bytes from `address` to the end of the live array holding it (a block
  // handed out and not released, counted by the bytes asked for, or borrowed
  // memory); 0 when no live array holds it. The bindings check every address a
  // kernel is given against this, so a raw call cannot make a kernel touch memory
  // outside the arrays it names.
  std::size_t bytes_from(std::uintptr_t address) const;
  // Memory another library owns (a DLPack import), valid for kernels until given back.
  void borrow(std::uintptr_t address, std::size_t bytes);
  void give_back(std::uintptr_t address, std::size_t bytes);

 private:
  void empty_cache_locked();
  Malloc malloc_;
  Free free_;
  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> free_blocks_;                 // by size
  std::unordered_map<void*, std::size_t> sizes_;                  // every block we own
  std::map<std::uintptr_t, std::size_t> live_;                    // handed out: start -> bytes asked for
  std::vector<std::pair<std::uintptr_t, std::size_t>> borrowed_;  // few: scanned
  AllocatorStats stats_;
};

}  // namespace cuda
}  // namespace cnnfast
