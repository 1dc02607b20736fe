#include "cuda/allocator.h"

#include <new>

#include "sizes.h"

namespace cnnfast {
namespace cuda {

std::size_t CachingAllocator::size_class(std::size_t bytes) {
  constexpr std::size_t small = 512, large = std::size_t{1} << 20;
  // Rounding up a request near 2^64 would wrap to a tiny class (a 2^64-byte
  // array backed by 512 bytes); nothing past 2^63 can be allocated anyway.
  if (bytes > (std::size_t{1} << 63) - large) throw AllocationError(bytes, "a device array");
  if (bytes == 0) return small;
  return bytes <= large ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t size = size_class(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = nullptr;
  // Same size class only: a bigger cached block would be wasted on a small request.
  auto it = free_blocks_.find(size);
  if (it != free_blocks_.end()) {
    p = it->second;
    free_blocks_.erase(it);
    stats_.cached -= size;
    ++stats_.reuses;
  } else {
    try {
      p = malloc_(size);
    } catch (const std::bad_alloc&) {
      empty_cache_locked();  // out of memory: give back what we hold, then try once more
      p = malloc_(size);
    }
    sizes_[p] = size;
    ++stats_.runtime_allocations;
  }
  stats_.in_use += size;
  if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
  live_[reinterpret_cast<std::uintptr_t>(p)] = bytes;
  return p;
}

void CachingAllocator::release(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t size = sizes_.at(p);
  live_.erase(reinterpret_cast<std::uintptr_t>(p));
  stats_.in_use -= size;
  stats_.cached += size;
  free_blocks_.emplace(size, p);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  empty_cache_locked();
}

void CachingAllocator::empty_cache_locked() {
  for (auto& [size, p] : free_blocks_) {
    sizes_.erase(p);
    free_(p);
  }
  free_blocks_.clear();
  stats_.cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::size_t CachingAllocator::bytes_from(std::uintptr_t address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.upper_bound(address);  // the first block starting after address
  if (it != live_.begin()) {
    --it;
    if (address - it->first < it->second) return it->second - (address - it->first);
  }
  for (const auto& [start, bytes] : borrowed_)
    if (address >= start && address - start < bytes) return bytes - (address - start);
  return 0;
}

void CachingAllocator::borrow(std::uintptr_t address, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  borrowed_.emplace_back(address, bytes);
}

void CachingAllocator::give_back(std::uintptr_t address, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = borrowed_.begin(); it != borrowed_.end(); ++it)
    if (it->first == address && it->second == bytes) {
      borrowed_.erase(it);
      return;
    }
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_in_use = stats_.in_use;
}

}  // namespace cuda
}  // namespace cnnfast
