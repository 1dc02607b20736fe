// Overflow-aware size arithmetic: every product or sum of sizes, strides,
// paddings, kernel extents and byte counts that a request can make arbitrarily
// large goes through these, so that a request that cannot be represented is an
// error before any work instead of a wrapped-around size (a loop that never ends,
// a 512-byte buffer for a 2^64-byte array, an out-of-range write).
//
// std::overflow_error reaches Python as OverflowError, std::bad_alloc as
// MemoryError (pybind11's translations).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "common.h"

namespace cnnfast {

// The largest array, in bytes, that can exist: NumPy's limit (PY_SSIZE_T_MAX) and
// the largest size the allocators below can round up without wrapping.
constexpr index_t kMaxBytes = std::numeric_limits<index_t>::max();

[[noreturn]] inline void fail_overflow(const std::string& what) {
  throw std::overflow_error(what + " does not fit in 64-bit size arithmetic");
}

// A failed allocation that says how much was asked for and what for. A
// std::bad_alloc, so it is a MemoryError in Python (pybind11 keeps what()).
class AllocationError : public std::bad_alloc {
 public:
  AllocationError(std::size_t bytes, const char* what)
      : msg_("cannot allocate " + std::to_string(bytes) + " bytes for " + what + " (out of memory)") {}
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

inline index_t checked_add(index_t a, index_t b, const char* what) {
  index_t r;
  if (__builtin_add_overflow(a, b, &r)) fail_overflow(what);
  return r;
}

inline index_t checked_mul(index_t a, index_t b, const char* what) {
  index_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail_overflow(what);
  return r;
}

// The product of non-negative factors; a zero factor makes it 0 whatever the rest
// (an empty array of a huge shape is still empty).
inline index_t checked_product(std::initializer_list<index_t> factors, const char* what) {
  for (index_t f : factors)
    if (f == 0) return 0;
  index_t r = 1;
  for (index_t f : factors) r = checked_mul(r, f, what);
  return r;
}

// a * b for a, b >= 0, or the largest index_t when that overflows: for work
// estimates (how many threads a loop deserves), never for sizes.
inline index_t saturating_mul(index_t a, index_t b) {
  index_t r;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<index_t>::max() : r;
}

// Bytes of `count` elements of `elem` bytes each, as a size_t a malloc takes.
inline std::size_t checked_bytes(index_t count, std::size_t elem, const char* what) {
  if (count < 0) throw std::invalid_argument(std::string(what) + ": negative element count");
  return static_cast<std::size_t>(checked_mul(count, static_cast<index_t>(elem), what));
}

// `bytes` rounded up to a multiple of `align` (a power of two); a size past
// kMaxBytes is an allocation no machine can make: AllocationError.
inline std::size_t aligned_size(std::size_t bytes, std::size_t align, const char* what) {
  if (bytes > static_cast<std::size_t>(kMaxBytes) - align) throw AllocationError(bytes, what);
  return (bytes + align - 1) & ~(align - 1);
}

}  // namespace cnnfast
