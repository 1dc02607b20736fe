// Reusable scratch memory: one grow-only, 64-byte aligned buffer per thread and
// slot, so hot loops never pay for malloc + page faults on every call.
#pragma once

#include <cstddef>
#include <initializer_list>

#include "common.h"
#include "sizes.h"

namespace cnnfast {

enum class Slot : int {
  gemm_pack_a = 0,
  gemm_pack_b,
  conv_columns,
  conv_gather,
  conv_partial,
  conv_flipped,
  conv_offsets,
  conv_positions,
  conv_packed_filters,
  winograd_filters,
  expand_input,
  expand_filters,
  expand_output,
  winograd_packed,
  pool_codes,
  pool_values,
  lrn_scale,
  count
};

// Returns at least `bytes` bytes for the calling thread's `slot`. The pointer
// stays valid until the same thread asks for the same slot again.
void* workspace_bytes(Slot slot, std::size_t bytes);

// `factors` multiply to the element count, checked (sizes.h): a workspace whose
// size overflows is an OverflowError, one that cannot be allocated a MemoryError.
template <class T>
T* workspace(Slot slot, std::initializer_list<index_t> factors) {
  const index_t count = checked_product(factors, "a kernel workspace");
  return static_cast<T*>(workspace_bytes(slot, checked_bytes(count, sizeof(T), "a kernel workspace")));
}

}  // namespace cnnfast
