#include "workspace.h"

#include <cstdlib>
#include <new>

#include "sizes.h"

namespace cnnfast {

namespace {
struct Buffer {
  void* ptr = nullptr;
  std::size_t size = 0;
  ~Buffer() { std::free(ptr); }
};

constexpr std::size_t kAlign = 64;
}  // namespace

void* workspace_bytes(Slot slot, std::size_t bytes) {
  thread_local Buffer buffers[static_cast<int>(Slot::count)];
  Buffer& b = buffers[static_cast<int>(slot)];
  if (bytes > b.size) {
    std::free(b.ptr);
    b.ptr = nullptr;
    b.size = 0;
    // Grow by half again so a slowly growing sequence of requests does not
    // reallocate every time.
    // (Both steps checked: a request near 2^63 bytes must fail, not wrap.)
    std::size_t want = bytes <= static_cast<std::size_t>(kMaxBytes) / 3 * 2 ? bytes + bytes / 2 : bytes;
    want = aligned_size(want, kAlign, "a kernel workspace");
    b.ptr = std::aligned_alloc(kAlign, want);
    if (b.ptr == nullptr) throw AllocationError(want, "a kernel workspace");
    b.size = want;
  }
  return b.ptr;
}

}  // namespace cnnfast
