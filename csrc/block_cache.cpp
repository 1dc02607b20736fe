#include "block_cache.h"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "sizes.h"

namespace cnnfast {

namespace {

constexpr std::size_t kAlign = 64;
// Each block starts with a header (its capacity) one alignment unit long, so the
// release needs only the pointer Python hands back.
constexpr std::size_t kHeader = kAlign;

std::size_t size_class(std::size_t bytes) {
  // Past 2^63 the power of two below would wrap to 0 and the loop never end; no
  // allocator can serve such a request anyway.
  if (bytes > static_cast<std::size_t>(kMaxBytes)) throw AllocationError(bytes, "an array");
  if (bytes <= kBlockCacheMinBytes) return kBlockCacheMinBytes;
  std::size_t pow2 = kBlockCacheMinBytes;
  while (pow2 < bytes) pow2 <<= 1;
  const std::size_t step = pow2 / 16;  // classes between pow2/2 and pow2, 1/8 of pow2/2 apart
  return (bytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mu;
  std::map<std::size_t, std::vector<void*>> free_blocks;  // capacity -> raw blocks
  std::size_t limit = std::size_t{1} << 30;
  BlockCacheStats stats{};

  void trim_to(std::size_t target) {  // caller holds mu
    for (auto it = free_blocks.rbegin(); it != free_blocks.rend() && stats.cached_bytes > target; ++it) {
      while (!it->second.empty() && stats.cached_bytes > target) {
        std::free(it->second.back());
        it->second.pop_back();
        stats.cached_bytes -= it->first;
      }
    }
  }
};

Cache& cache() {
  // Never destroyed: arrays may be freed during interpreter exit. fork() takes the
  // mutex first, so a child never inherits it held by a thread it does not have.
  // (Today every caller holds the GIL, which fork holds too; this keeps the cache
  // fork-safe for a caller that does not, such as a foreign framework's deleter.)
  static Cache* c = [] {
    pthread_atfork([] { cache().mu.lock(); }, [] { cache().mu.unlock(); }, [] { cache().mu.unlock(); });
    return new Cache;
  }();
  return *c;
}
[[maybe_unused]] const bool kCacheBuiltAtLoad = (cache(), true);  // csrc/README.md, "Built at load"

std::size_t& capacity_of(void* raw) { return *static_cast<std::size_t*>(raw); }

}  // namespace

void* block_cache_acquire(std::size_t bytes) {
  const std::size_t cap = size_class(bytes);
  Cache& c = cache();
  void* raw = nullptr;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(cap);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      raw = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= cap;
      ++c.stats.hits;
    } else {
      ++c.stats.misses;
    }
    c.stats.in_use_bytes += cap;
    c.stats.peak_in_use_bytes = std::max(c.stats.peak_in_use_bytes, c.stats.in_use_bytes);
  }
  if (raw == nullptr) {
    raw = std::aligned_alloc(kAlign, cap + kHeader);
    if (raw == nullptr) {
      std::lock_guard<std::mutex> lock(c.mu);
      c.stats.in_use_bytes -= cap;
      throw AllocationError(bytes, "an array");
    }
    capacity_of(raw) = cap;
  }
  return static_cast<char*>(raw) + kHeader;
}

void block_cache_release(void* block) {
  if (block == nullptr) return;
  void* raw = static_cast<char*>(block) - kHeader;
  const std::size_t cap = capacity_of(raw);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.in_use_bytes -= cap;
  if (cap > c.limit) {
    std::free(raw);
    return;
  }
  c.free_blocks[cap].push_back(raw);
  c.stats.cached_bytes += cap;
  c.trim_to(c.limit);  // the largest blocks go first
}

void block_cache_set_limit(std::size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  c.trim_to(bytes);
}

std::size_t block_cache_limit() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.limit;
}

BlockCacheStats block_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void block_cache_reset_peak() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak_in_use_bytes = c.stats.in_use_bytes;
}

void block_cache_clear() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.trim_to(0);
}

}  // namespace cnnfast
