// A cache of large memory blocks for arrays that live across calls (the
// kernels' outputs, which Python owns and frees).
//
// Why: a training step allocates and frees tens of megabytes of activations
// and gradients. glibc serves blocks this large with mmap and returns them to
// the OS on free, so every step touches fresh pages: on keras-mnist-2conv that
// was ~5,800 page faults and ~40% of the step. Blocks released here are kept
// (up to a limit) and handed out again for requests of the same size class.
//
// Size classes are the request rounded up to 1/8 of its power of two (at most
// 12.5% slack). Requests below kBlockCacheMinBytes bypass the cache (malloc's
// own bins serve them well). Thread-safe.
#pragma once

#include <cstddef>

namespace cnnfast {

constexpr std::size_t kBlockCacheMinBytes = std::size_t{1} << 16;

// 64-byte aligned, at least `bytes` long; release with block_cache_release.
void* block_cache_acquire(std::size_t bytes);
void block_cache_release(void* block);

// Cached (free, kept) bytes may not exceed the limit; lowering it frees at once.
void block_cache_set_limit(std::size_t bytes);
std::size_t block_cache_limit();

struct BlockCacheStats {
  std::size_t cached_bytes;  // free blocks kept for reuse
  std::size_t in_use_bytes;  // blocks handed out and not yet released
  std::size_t peak_in_use_bytes;
  std::size_t hits, misses;
};
BlockCacheStats block_cache_stats();
void block_cache_reset_peak();

// Frees every cached block.
void block_cache_clear();

}  // namespace cnnfast
