#include "workspace.h"

#include <cstdlib>
#include <new>

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
    std::size_t want = bytes + bytes / 2;
    want = (want + kAlign - 1) / kAlign * kAlign;
    b.ptr = std::aligned_alloc(kAlign, want);
    if (b.ptr == nullptr) throw std::bad_alloc();
    b.size = want;
  }
  return b.ptr;
}

}  // namespace cnnfast
