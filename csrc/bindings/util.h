// Glue shared by the binding files: array types, output allocation, and the
// shape checks that keep raw-pointer kernels in bounds whatever Python passes.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "block_cache.h"
#include "common.h"
#include "parallel.h"
#include "sizes.h"

namespace cnnfast::bind {

namespace py = pybind11;

// Held by every binding while its kernel runs: the GIL released (so other Python
// threads run meanwhile), and the thread count read once for the whole call, so a
// set_num_threads from another thread cannot change it under a running driver
// (parallel.h). Validate and allocate before it; touch no Python object inside it.
struct KernelCall {
  py::gil_scoped_release release;
  ThreadCountScope threads;
};

// Inputs arrive C-contiguous in the kernel's dtype (the `ops` layer has already
// checked dtype and made them contiguous). A direct _C call may pass anything:
// pybind11 then copies it to C order, but only with a safe cast (no forcecast), so
// a float64 array never lands in the float32 overload, which is tried first, and
// comes back float32; it is copied for the float64 one instead.
template <class T>
using In = py::array_t<T, py::array::c_style>;

// Output arrays. Large ones come from the block cache (block_cache.h) and go
// back to it when NumPy frees them, so a training loop does not fault in fresh
// pages for every activation and gradient.
inline std::string shape_str(const std::vector<index_t>& v);

// Bytes of an array of `shape` with `elem`-byte items; a shape whose size cannot
// be represented is an OverflowError naming it, before anything is allocated.
// NumPy's rule: the product of the non-zero dimensions, in bytes, must fit in 63 bits
// even when a zero dimension makes the array empty (NumPy refuses to make it otherwise).
inline std::size_t array_bytes(const std::vector<index_t>& shape, std::size_t elem) {
  index_t n = 1;
  bool empty_array = false;
  for (index_t d : shape) {
    require(d >= 0, "negative dimension in shape " + shape_str(shape));
    empty_array = empty_array || d == 0;
  }
  for (index_t d : shape)
    if (d != 0 && (__builtin_mul_overflow(n, d, &n) || n > kMaxBytes / static_cast<index_t>(elem)))
      throw std::overflow_error("an array of shape " + shape_str(shape) + " with " + std::to_string(elem) +
                                "-byte items is larger than the largest possible array (2^63 - 1 bytes)");
  if (empty_array) return 0;
  return static_cast<std::size_t>(n) * elem;
}

template <class T>
py::array_t<T> empty(const std::vector<index_t>& shape) {
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  const std::size_t bytes = std::max(array_bytes(shape, sizeof(T)), sizeof(T));
  if (bytes < kBlockCacheMinBytes) return py::array_t<T>(dims);
  void* block = block_cache_acquire(bytes);
  py::capsule owner(block, [](void* p) { block_cache_release(p); });
  return py::array_t<T>(dims, static_cast<T*>(block), owner);
}

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

inline std::string shape_str(const std::vector<index_t>& v) {
  std::string s = "(";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

inline void require_ndim(const char* what, const py::array& a, py::ssize_t ndim) {
  require(a.ndim() == ndim,
          std::string(what) + " must be " + std::to_string(ndim) + "-D, got shape " + shape_str(a));
}

inline void require_shape(const char* what, const py::array& a, const std::vector<index_t>& shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(i) == shape[i];
  require(ok, std::string(what) + " must have shape " + shape_str(shape) + ", got " + shape_str(a));
}

inline void require_same_shape(const char* what, const py::array& a, const py::array& ref) {
  std::vector<index_t> shape(ref.shape(), ref.shape() + ref.ndim());
  require_shape(what, a, shape);
}

inline std::vector<index_t> shape_of(const py::array& a) {
  return std::vector<index_t>(a.shape(), a.shape() + a.ndim());
}

// Registers f<float> and f<double> under one name (pybind11 picks by dtype).
#define CNNFAST_DEF_FLOATING(m, name, fn, ...) \
  do {                                         \
    (m).def(name, &fn<float>, __VA_ARGS__);    \
    (m).def(name, &fn<double>, __VA_ARGS__);   \
  } while (0)

void bind_gemm(py::module_& m);
void bind_conv2d(py::module_& m);
void bind_pool2d(py::module_& m);
void bind_activation(py::module_& m);
void bind_softmax(py::module_& m);
void bind_dropout(py::module_& m);
void bind_augment(py::module_& m);
void bind_batch_norm(py::module_& m);
void bind_lrn(py::module_& m);
void bind_optim(py::module_& m);
void bind_cuda(py::module_& m);
void bind_dlpack(py::module_& m);

}  // namespace cnnfast::bind
