// Binds one build of the CUDA backend (cuda/backend_api.inc: device or emulated)
// into a submodule, the same names for both, so Python picks a backend by picking
// a module (cnnfast/cuda/backends.py). Pointers arrive as integers from
// cnnfast.cuda.DeviceArray; the convolution and pooling geometry is built here by
// make_conv2d_shape / make_pool2d_shape, the CPU's own validation, from the array
// shapes and the resolved hyper-parameters (cnnfast.ops checked them first, with
// friendlier messages); every call releases the GIL (an emulated launch takes
// milliseconds).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/util.h"
#include "common.h"
#include "cuda/allocator.h"
#include "cuda/backend.h"
#include "sizes.h"

namespace cnnfast::bind {

template <class T>
T* dev(std::uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

// Runs f(T{}) for the dtype named "float32" or "float64".
template <class F>
void by_dtype(const std::string& dtype, F&& f) {
  if (dtype == "float32")
    f(float{});
  else if (dtype == "float64")
    f(double{});
  else
    throw py::type_error("CUDA kernels take float32 or float64, got " + dtype);
}

// Device memory from the backend's caching allocator, returned to it when Python
// drops the last reference. One type per backend (Api), so both can be bound.
template <class Api>
cuda::CachingAllocator& allocator() {
  static auto* a = new cuda::CachingAllocator(&Api::malloc, &Api::free);  // outlives every Buffer
  return *a;
}

template <class Api>
struct Buffer {
  std::uintptr_t ptr;
  std::size_t nbytes;
  explicit Buffer(std::size_t n)
      : ptr(reinterpret_cast<std::uintptr_t>(allocator<Api>().allocate(n))), nbytes(n) {}
  ~Buffer() { allocator<Api>().release(reinterpret_cast<void*>(ptr)); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

// Memory another library owns (cnnfast.cuda.dlpack.from_dlpack), known to the
// allocator as a live array while this object lives.
template <class Api>
struct Borrowed {
  std::uintptr_t ptr;
  std::size_t nbytes;
  Borrowed(std::uintptr_t p, std::size_t n) : ptr(p), nbytes(n) { allocator<Api>().borrow(p, n); }
  ~Borrowed() { allocator<Api>().give_back(ptr, nbytes); }
  Borrowed(const Borrowed&) = delete;
  Borrowed& operator=(const Borrowed&) = delete;
};

// The address of `count` elements of T that a kernel will touch (T is deduced from
// a tag value). It must lie in one live device array that holds them all (see
// CachingAllocator::bytes_from): a raw call with a wrong address or a shape larger
// than its arrays is a ValueError before any launch, not an access out of bounds.
// Nothing is touched for count 0, so no array is needed then.
template <class Api, class T>
T* device_ptr(T /*tag*/, std::uintptr_t address, index_t count, const char* what) {
  require(count >= 0, std::string(what) + ": negative size " + std::to_string(count));
  if (count == 0) return reinterpret_cast<T*>(address);
  require(address != 0,
          std::string(what) + ": " + std::to_string(count) + " elements needed, no array given");
  require(address % alignof(T) == 0, std::string(what) + ": the address is not aligned for its dtype");
  const std::size_t need = checked_bytes(count, sizeof(T), what);
  const std::size_t have = allocator<Api>().bytes_from(address);
  require(have >= need, std::string(what) + ": " + std::to_string(need) + " bytes needed, but " +
                            (have ? "the device array at this address holds " + std::to_string(have)
                                  : std::string("no device array is at this address")));
  return reinterpret_cast<T*>(address);
}

// An optional array: address 0 means none (a kernel then reads no such input).
template <class Api, class T>
T* optional_ptr(T tag, std::uintptr_t address, index_t count, const char* what) {
  return address == 0 ? nullptr : device_ptr<Api>(tag, address, count, what);
}

inline index_t elements(std::initializer_list<index_t> factors, const char* what) {
  for (index_t f : factors) require(f >= 0, std::string(what) + ": negative size " + std::to_string(f));
  return checked_product(factors, what);
}

using Pair = std::array<index_t, 2>;
using Quad = std::array<index_t, 4>;

// A convolution's geometry from x's and w's shapes, validated as the CPU's is.
inline cuda::ConvShape cuda_conv_shape(const std::vector<index_t>& x, const std::vector<index_t>& w,
                                       Pair stride, Quad padding, Pair dilation, index_t groups) {
  require(x.size() == 4, "conv2d: x_shape must be (N, C, H, W), got " + shape_str(x));
  require(w.size() == 4, "conv2d: w_shape must be (K, C/groups, R, S), got " + shape_str(w));
  const Conv2dParams p{stride[0],  stride[1],  dilation[0], dilation[1], padding[0],
                       padding[1], padding[2], padding[3],  groups};
  const Conv2dShape s = make_conv2d_shape(x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3], p);
  return {s.N,        s.C,        s.H,     s.W,     s.K,     s.R,     s.S,      s.P,    s.Q,
          p.stride_h, p.stride_w, p.pad_t, p.pad_l, p.dil_h, p.dil_w, p.groups, s.Cg(), s.Kg()};
}

// A pooling's geometry from x's shape, validated as the CPU's is.
inline cuda::PoolShape cuda_pool_shape(const std::vector<index_t>& x, Pair kernel, Pair stride, Quad padding,
                                       bool ceil_mode) {
  require(x.size() == 4, "pool2d: x_shape must be (N, C, H, W), got " + shape_str(x));
  const Pool2dParams p{kernel[0],  kernel[1],  stride[0],  stride[1], padding[0],
                       padding[1], padding[2], padding[3], ceil_mode};
  const Pool2dShape s = make_pool2d_shape(x[0], x[1], x[2], x[3], p);
  return {s.N,  s.C,        s.H,        s.W,     s.P,     s.Q,     p.kh,
          p.kw, p.stride_h, p.stride_w, p.pad_t, p.pad_b, p.pad_l, p.pad_r};
}

// The enum the backends' activation function takes, bound once into _C (both
// backends' submodules use it).
inline void bind_cuda_types(py::module_& m) {
  using cuda::Activation;
  py::enum_<Activation>(m, "CudaActivation")
      .value("relu", Activation::relu)
      .value("relu_backward", Activation::relu_backward)
      .value("tanh", Activation::tanh)
      .value("tanh_backward", Activation::tanh_backward)
      .value("sigmoid", Activation::sigmoid)
      .value("sigmoid_backward", Activation::sigmoid_backward);
}

template <class Api>
void bind_backend(py::module_& m) {
  using cuda::Activation;
  const auto nogil = py::call_guard<py::gil_scoped_release>();
  m.attr("name") = Api::name();

  // --- memory and copies -------------------------------------------------------
  py::class_<Buffer<Api>>(m, "Buffer", "A block of device memory (from the caching allocator).")
      .def(py::init<std::size_t>(), py::arg("nbytes"))
      .def_readonly("ptr", &Buffer<Api>::ptr)
      .def_readonly("nbytes", &Buffer<Api>::nbytes);
  py::class_<Borrowed<Api>>(m, "Borrowed", "Foreign device memory the kernels may use (a DLPack import).")
      .def(py::init<std::uintptr_t, std::size_t>(), py::arg("ptr"), py::arg("nbytes"));
  const std::uint8_t byte{};
  m.def(
      "copy_from_host",
      [](std::uintptr_t dst, const py::buffer& src, std::size_t nbytes) {
        const py::buffer_info info = src.request();
        require(static_cast<std::size_t>(info.size * info.itemsize) >= nbytes,
                "copy_from_host: the source holds fewer than nbytes");
        void* d = device_ptr<Api>(byte, dst, static_cast<index_t>(nbytes), "copy_from_host: dst");
        const void* p = info.ptr;
        py::gil_scoped_release release;
        Api::copy(d, p, nbytes);
      },
      py::arg("dst"), py::arg("src"), py::arg("nbytes"));
  m.def(
      "copy_to_host",
      [](py::buffer dst, std::uintptr_t src, std::size_t nbytes) {
        const py::buffer_info info = dst.request(true);
        require(static_cast<std::size_t>(info.size * info.itemsize) >= nbytes && !info.readonly,
                "copy_to_host: the destination must be writable and hold nbytes");
        const void* s = device_ptr<Api>(byte, src, static_cast<index_t>(nbytes), "copy_to_host: src");
        void* p = info.ptr;
        py::gil_scoped_release release;
        Api::copy(p, s, nbytes);
      },
      py::arg("dst"), py::arg("src"), py::arg("nbytes"));
  m.def(
      "copy",
      [](std::uintptr_t dst, std::uintptr_t src, std::size_t nbytes) {
        const auto n = static_cast<index_t>(nbytes);
        Api::copy(device_ptr<Api>(byte, dst, n, "copy: dst"), device_ptr<Api>(byte, src, n, "copy: src"),
                  nbytes);
      },
      py::arg("dst"), py::arg("src"), py::arg("nbytes"), nogil);
  m.def("synchronize", &Api::synchronize, nogil);
  m.def("memory_stats", [] {
    const cuda::AllocatorStats s = allocator<Api>().stats();
    py::dict d;
    d["in_use_bytes"] = s.in_use;
    d["cached_bytes"] = s.cached;
    d["peak_in_use_bytes"] = s.peak_in_use;
    d["runtime_allocations"] = s.runtime_allocations;
    d["reuses"] = s.reuses;
    return d;
  });
  m.def("empty_cache", [] { allocator<Api>().empty_cache(); });
  m.def("reset_peak", [] { allocator<Api>().reset_peak(); });

  // --- kernels (dtype first, then the geometry, then device addresses) ----------
  // Every address is checked against the geometry (device_ptr) before the launch.
  using U = std::uintptr_t;
  m.def(
      "matmul",
      [](const std::string& dt, index_t M, index_t N, index_t K, U a, bool ta, U b, bool tb, U c) {
        const index_t mk = elements({M, K}, "matmul: a"), kn = elements({K, N}, "matmul: b"),
                      mn = elements({M, N}, "matmul: c");
        by_dtype(dt, [&](auto t) {
          Api::matmul(M, N, K, device_ptr<Api>(t, a, mk, "matmul: a"), ta,
                      device_ptr<Api>(t, b, kn, "matmul: b"), tb, device_ptr<Api>(t, c, mn, "matmul: c"));
        });
      },
      py::arg("dtype"), py::arg("M"), py::arg("N"), py::arg("K"), py::arg("a"), py::arg("trans_a"),
      py::arg("b"), py::arg("trans_b"), py::arg("c"), nogil);
  m.def(
      "conv2d_forward",
      [](const std::string& dt, const std::vector<index_t>& x_shape, const std::vector<index_t>& w_shape,
         Pair stride, Quad padding, Pair dilation, index_t groups, U x, U w, U bias, U y) {
        const cuda::ConvShape s = cuda_conv_shape(x_shape, w_shape, stride, padding, dilation, groups);
        by_dtype(dt, [&](auto t) {
          Api::conv2d_forward(s, device_ptr<Api>(t, x, s.x_elements(), "conv2d: x"),
                              device_ptr<Api>(t, w, s.w_elements(), "conv2d: w"),
                              optional_ptr<Api>(t, bias, s.K, "conv2d: bias"),
                              device_ptr<Api>(t, y, s.y_elements(), "conv2d: y"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("w_shape"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("groups"), py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"),
      nogil);
  // The output shapes, from the same validated geometry the launches build, so that
  // Python allocates exactly what a kernel writes.
  m.def(
      "conv2d_output_shape",
      [](const std::vector<index_t>& x_shape, const std::vector<index_t>& w_shape, Pair stride, Quad padding,
         Pair dilation, index_t groups) {
        const cuda::ConvShape s = cuda_conv_shape(x_shape, w_shape, stride, padding, dilation, groups);
        return std::vector<index_t>{s.N, s.K, s.P, s.Q};
      },
      py::arg("x_shape"), py::arg("w_shape"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
      py::arg("groups"));
  m.def(
      "pool_output_shape",
      [](const std::vector<index_t>& x_shape, Pair kernel, Pair stride, Quad padding, bool ceil_mode) {
        const cuda::PoolShape s = cuda_pool_shape(x_shape, kernel, stride, padding, ceil_mode);
        return std::vector<index_t>{s.N, s.C, s.P, s.Q};
      },
      py::arg("x_shape"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"));
  m.def(
      "conv2d_backward_input",
      [](const std::string& dt, const std::vector<index_t>& x_shape, const std::vector<index_t>& w_shape,
         Pair stride, Quad padding, Pair dilation, index_t groups, U w, U dy, U dx) {
        const cuda::ConvShape s = cuda_conv_shape(x_shape, w_shape, stride, padding, dilation, groups);
        by_dtype(dt, [&](auto t) {
          Api::conv2d_backward_input(s, device_ptr<Api>(t, w, s.w_elements(), "conv2d_backward_input: w"),
                                     device_ptr<Api>(t, dy, s.y_elements(), "conv2d_backward_input: dy"),
                                     device_ptr<Api>(t, dx, s.x_elements(), "conv2d_backward_input: dx"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("w_shape"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("groups"), py::arg("w"), py::arg("dy"), py::arg("dx"), nogil);
  m.def(
      "conv2d_backward_weight",
      [](const std::string& dt, const std::vector<index_t>& x_shape, const std::vector<index_t>& w_shape,
         Pair stride, Quad padding, Pair dilation, index_t groups, U x, U dy, U dw) {
        const cuda::ConvShape s = cuda_conv_shape(x_shape, w_shape, stride, padding, dilation, groups);
        by_dtype(dt, [&](auto t) {
          Api::conv2d_backward_weight(s, device_ptr<Api>(t, x, s.x_elements(), "conv2d_backward_weight: x"),
                                      device_ptr<Api>(t, dy, s.y_elements(), "conv2d_backward_weight: dy"),
                                      device_ptr<Api>(t, dw, s.w_elements(), "conv2d_backward_weight: dw"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("w_shape"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("groups"), py::arg("x"), py::arg("dy"), py::arg("dw"), nogil);
  m.def(
      "activation",
      [](const std::string& dt, Activation op, index_t n, U a, U b, U out) {
        // The gradients read a second operand (the upstream gradient); the forwards do not.
        const bool binary = op == Activation::relu_backward || op == Activation::tanh_backward ||
                            op == Activation::sigmoid_backward;
        by_dtype(dt, [&](auto t) {
          Api::activation(op, n, device_ptr<Api>(t, a, n, "activation: a"),
                          binary ? device_ptr<Api>(t, b, n, "activation: b") : nullptr,
                          device_ptr<Api>(t, out, n, "activation: out"));
        });
      },
      py::arg("dtype"), py::arg("op"), py::arg("n"), py::arg("a"), py::arg("b"), py::arg("out"), nogil);
  m.def(
      "bias_add",
      [](const std::string& dt, index_t n, index_t C, index_t L, U x, U bias, U y) {
        const index_t cl = elements({C, L}, "bias_add");
        require(n >= 0 && (cl == 0 ? n == 0 : n % cl == 0), "bias_add: n must be a multiple of C * L");
        by_dtype(dt, [&](auto t) {
          Api::bias_add(n, C, L, device_ptr<Api>(t, x, n, "bias_add: x"),
                        device_ptr<Api>(t, bias, C, "bias_add: bias"),
                        device_ptr<Api>(t, y, n, "bias_add: y"));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("C"), py::arg("L"), py::arg("x"), py::arg("bias"), py::arg("y"),
      nogil);
  m.def(
      "channel_sum",
      [](const std::string& dt, index_t N, index_t C, index_t L, U x, double scale, U out) {
        const index_t n = elements({N, C, L}, "channel_sum: x");
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::channel_sum(N, C, L, device_ptr<Api>(t, x, n, "channel_sum: x"), static_cast<T>(scale),
                           device_ptr<Api>(t, out, C, "channel_sum: out"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("L"), py::arg("x"), py::arg("scale"),
      py::arg("out"), nogil);
  m.def(
      "axpby",
      [](const std::string& dt, index_t n, double alpha, U a, double beta, U b, index_t period, U out) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          const index_t p = period < 1 ? 1 : period;
          Api::axpby(n, static_cast<T>(alpha), device_ptr<Api>(t, a, n, "axpby: a"), static_cast<T>(beta),
                     optional_ptr<Api>(t, b, std::min(p, n), "axpby: b"), p,
                     device_ptr<Api>(t, out, n, "axpby: out"));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("alpha"), py::arg("a"), py::arg("beta"), py::arg("b"),
      py::arg("period"), py::arg("out"), nogil);
  m.def(
      "fill",
      [](const std::string& dt, index_t n, double value, U out) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::fill(n, static_cast<T>(value), device_ptr<Api>(t, out, n, "fill: out"));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("value"), py::arg("out"), nogil);
  m.def(
      "broadcast_scalar",
      [](const std::string& dt, index_t n, U src, double scale, U out) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::broadcast_scalar(n, device_ptr<Api>(t, src, n ? 1 : 0, "broadcast_scalar: src"),
                                static_cast<T>(scale), device_ptr<Api>(t, out, n, "broadcast_scalar: out"));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("src"), py::arg("scale"), py::arg("out"), nogil);
  m.def(
      "copy_rows",
      [](const std::string& dt, index_t rows, index_t width, U src, index_t src_stride, index_t src_offset,
         U dst, index_t dst_stride, index_t dst_offset) {
        // Row r's elements [offset, offset + width) at r * stride: the last row's end bounds them all.
        const auto extent = [&](index_t stride, index_t offset, const char* what) -> index_t {
          require(stride >= 0 && offset >= 0, std::string(what) + ": negative stride or offset");
          if (rows <= 0 || width <= 0) return 0;
          return checked_add(checked_add(checked_mul(rows - 1, stride, what), offset, what), width, what);
        };
        const index_t src_n = extent(src_stride, src_offset, "copy_rows: src"),
                      dst_n = extent(dst_stride, dst_offset, "copy_rows: dst");
        by_dtype(dt, [&](auto t) {
          Api::copy_rows(rows, width, device_ptr<Api>(t, src, src_n, "copy_rows: src"), src_stride,
                         src_offset, device_ptr<Api>(t, dst, dst_n, "copy_rows: dst"), dst_stride,
                         dst_offset);
        });
      },
      py::arg("dtype"), py::arg("rows"), py::arg("width"), py::arg("src"), py::arg("src_stride"),
      py::arg("src_offset"), py::arg("dst"), py::arg("dst_stride"), py::arg("dst_offset"), nogil);
  m.def(
      "batch_norm_stats",
      [](const std::string& dt, index_t N, index_t C, index_t L, U x, double eps, U mean, U invstd) {
        const index_t n = elements({N, C, L}, "batch_norm_stats: x");
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::batch_norm_stats(N, C, L, device_ptr<Api>(t, x, n, "batch_norm_stats: x"), static_cast<T>(eps),
                                device_ptr<Api>(t, mean, C, "batch_norm_stats: mean"),
                                device_ptr<Api>(t, invstd, C, "batch_norm_stats: invstd"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("L"), py::arg("x"), py::arg("eps"),
      py::arg("mean"), py::arg("invstd"), nogil);
  m.def(
      "batch_norm_apply",
      [](const std::string& dt, index_t N, index_t C, index_t L, U x, U mean, U scale, bool from_var,
         double eps, U w, U b, U y) {
        const index_t n = elements({N, C, L}, "batch_norm_apply: x");
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::batch_norm_apply(N, C, L, device_ptr<Api>(t, x, n, "batch_norm_apply: x"),
                                device_ptr<Api>(t, mean, C, "batch_norm_apply: mean"),
                                device_ptr<Api>(t, scale, C, "batch_norm_apply: scale"), from_var,
                                static_cast<T>(eps), optional_ptr<Api>(t, w, C, "batch_norm_apply: w"),
                                optional_ptr<Api>(t, b, C, "batch_norm_apply: b"),
                                device_ptr<Api>(t, y, n, "batch_norm_apply: y"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("L"), py::arg("x"), py::arg("mean"),
      py::arg("scale"), py::arg("from_var"), py::arg("eps"), py::arg("w"), py::arg("b"), py::arg("y"), nogil);
  m.def(
      "batch_norm_backward",
      [](const std::string& dt, index_t N, index_t C, index_t L, U x, U dy, U mean, U invstd, U w, U dx, U dw,
         U db) {
        const index_t n = elements({N, C, L}, "batch_norm_backward: x");
        by_dtype(dt, [&](auto t) {
          Api::batch_norm_backward(N, C, L, device_ptr<Api>(t, x, n, "batch_norm_backward: x"),
                                   device_ptr<Api>(t, dy, n, "batch_norm_backward: dy"),
                                   device_ptr<Api>(t, mean, C, "batch_norm_backward: mean"),
                                   device_ptr<Api>(t, invstd, C, "batch_norm_backward: invstd"),
                                   optional_ptr<Api>(t, w, C, "batch_norm_backward: w"),
                                   device_ptr<Api>(t, dx, n, "batch_norm_backward: dx"),
                                   device_ptr<Api>(t, dw, C, "batch_norm_backward: dw"),
                                   device_ptr<Api>(t, db, C, "batch_norm_backward: db"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("L"), py::arg("x"), py::arg("dy"),
      py::arg("mean"), py::arg("invstd"), py::arg("w"), py::arg("dx"), py::arg("dw"), py::arg("db"), nogil);
  m.def(
      "batch_norm_inference_backward",
      [](const std::string& dt, index_t N, index_t C, index_t L, U x, U dy, U mean, U var, double eps, U w,
         U dx, U dw, U db) {
        const index_t n = elements({N, C, L}, "batch_norm_inference_backward: x");
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::batch_norm_inference_backward(
              N, C, L, device_ptr<Api>(t, x, n, "batch_norm_inference_backward: x"),
              device_ptr<Api>(t, dy, n, "batch_norm_inference_backward: dy"),
              device_ptr<Api>(t, mean, C, "batch_norm_inference_backward: mean"),
              device_ptr<Api>(t, var, C, "batch_norm_inference_backward: var"), static_cast<T>(eps),
              optional_ptr<Api>(t, w, C, "batch_norm_inference_backward: w"),
              device_ptr<Api>(t, dx, n, "batch_norm_inference_backward: dx"),
              device_ptr<Api>(t, dw, C, "batch_norm_inference_backward: dw"),
              device_ptr<Api>(t, db, C, "batch_norm_inference_backward: db"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("L"), py::arg("x"), py::arg("dy"),
      py::arg("mean"), py::arg("var"), py::arg("eps"), py::arg("w"), py::arg("dx"), py::arg("dw"),
      py::arg("db"), nogil);
  m.def(
      "batch_norm_running_stats",
      [](const std::string& dt, index_t C, U mean, U invstd, double eps, index_t count, double momentum,
         U running_mean, U running_var) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::batch_norm_running_stats(
              C, device_ptr<Api>(t, mean, C, "batch_norm_running_stats: mean"),
              device_ptr<Api>(t, invstd, C, "batch_norm_running_stats: invstd"), static_cast<T>(eps), count,
              static_cast<T>(momentum),
              optional_ptr<Api>(t, running_mean, C, "batch_norm_running_stats: running_mean"),
              optional_ptr<Api>(t, running_var, C, "batch_norm_running_stats: running_var"));
        });
      },
      py::arg("dtype"), py::arg("C"), py::arg("mean"), py::arg("invstd"), py::arg("eps"), py::arg("count"),
      py::arg("momentum"), py::arg("running_mean"), py::arg("running_var"), nogil);
  m.def(
      "lrn",
      [](const std::string& dt, index_t N, index_t C, index_t HW, int size, double alpha, double beta,
         double k, U x, U y) {
        const index_t n = elements({N, C, HW}, "lrn: x");
        by_dtype(dt, [&](auto t) {
          Api::lrn(N, C, HW, size, alpha, beta, k, device_ptr<Api>(t, x, n, "lrn: x"),
                   device_ptr<Api>(t, y, n, "lrn: y"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("HW"), py::arg("size"), py::arg("alpha"),
      py::arg("beta"), py::arg("k"), py::arg("x"), py::arg("y"), nogil);
  m.def(
      "lrn_backward",
      [](const std::string& dt, index_t N, index_t C, index_t HW, int size, double alpha, double beta,
         double k, U x, U dy, U dx) {
        const index_t n = elements({N, C, HW}, "lrn_backward: x");
        by_dtype(dt, [&](auto t) {
          Api::lrn_backward(N, C, HW, size, alpha, beta, k, device_ptr<Api>(t, x, n, "lrn_backward: x"),
                            device_ptr<Api>(t, dy, n, "lrn_backward: dy"),
                            device_ptr<Api>(t, dx, n, "lrn_backward: dx"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("HW"), py::arg("size"), py::arg("alpha"),
      py::arg("beta"), py::arg("k"), py::arg("x"), py::arg("dy"), py::arg("dx"), nogil);
  m.def(
      "dropout",
      [](const std::string& dt, index_t n, U x, double p, unsigned long long seed, U out) {
        by_dtype(dt, [&](auto t) {
          Api::dropout(n, device_ptr<Api>(t, x, n, "dropout: x"), p, seed,
                       device_ptr<Api>(t, out, n, "dropout: out"));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("x"), py::arg("p"), py::arg("seed"), py::arg("out"), nogil);
  m.def(
      "max_pool",
      [](const std::string& dt, const std::vector<index_t>& x_shape, Pair kernel, Pair stride, Quad padding,
         bool ceil_mode, U x, bool relu, U y, U codes) {
        const cuda::PoolShape s = cuda_pool_shape(x_shape, kernel, stride, padding, ceil_mode);
        by_dtype(dt, [&](auto t) {
          Api::max_pool(s, device_ptr<Api>(t, x, s.x_elements(), "max_pool: x"), relu,
                        device_ptr<Api>(t, y, s.y_elements(), "max_pool: y"),
                        optional_ptr<Api>(byte, codes, s.y_elements(), "max_pool: codes"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode"), py::arg("x"), py::arg("relu"), py::arg("y"), py::arg("codes"), nogil);
  m.def(
      "max_pool_backward",
      [](const std::string& dt, const std::vector<index_t>& x_shape, Pair kernel, Pair stride, Quad padding,
         bool ceil_mode, U codes, U dy, U dx) {
        const cuda::PoolShape s = cuda_pool_shape(x_shape, kernel, stride, padding, ceil_mode);
        by_dtype(dt, [&](auto t) {
          Api::max_pool_backward(s, device_ptr<Api>(byte, codes, s.y_elements(), "max_pool_backward: codes"),
                                 device_ptr<Api>(t, dy, s.y_elements(), "max_pool_backward: dy"),
                                 device_ptr<Api>(t, dx, s.x_elements(), "max_pool_backward: dx"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode"), py::arg("codes"), py::arg("dy"), py::arg("dx"), nogil);
  m.def(
      "avg_pool",
      [](const std::string& dt, const std::vector<index_t>& x_shape, Pair kernel, Pair stride, Quad padding,
         bool ceil_mode, bool cip, U x, U y) {
        const cuda::PoolShape s = cuda_pool_shape(x_shape, kernel, stride, padding, ceil_mode);
        by_dtype(dt, [&](auto t) {
          Api::avg_pool(s, cip, device_ptr<Api>(t, x, s.x_elements(), "avg_pool: x"),
                        device_ptr<Api>(t, y, s.y_elements(), "avg_pool: y"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("x"), py::arg("y"), nogil);
  m.def(
      "avg_pool_backward",
      [](const std::string& dt, const std::vector<index_t>& x_shape, Pair kernel, Pair stride, Quad padding,
         bool ceil_mode, bool cip, U dy, U dx) {
        const cuda::PoolShape s = cuda_pool_shape(x_shape, kernel, stride, padding, ceil_mode);
        by_dtype(dt, [&](auto t) {
          Api::avg_pool_backward(s, cip, device_ptr<Api>(t, dy, s.y_elements(), "avg_pool_backward: dy"),
                                 device_ptr<Api>(t, dx, s.x_elements(), "avg_pool_backward: dx"));
        });
      },
      py::arg("dtype"), py::arg("x_shape"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("dy"), py::arg("dx"), nogil);
  m.def(
      "global_avg_pool_backward",
      [](const std::string& dt, index_t n, index_t L, U dy, U dx) {
        require(L >= 1 && n >= 0 && n % L == 0, "global_avg_pool_backward: n must be a multiple of L >= 1");
        by_dtype(dt, [&](auto t) {
          Api::global_avg_pool_backward(n, L, device_ptr<Api>(t, dy, n / L, "global_avg_pool_backward: dy"),
                                        device_ptr<Api>(t, dx, n, "global_avg_pool_backward: dx"));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("L"), py::arg("dy"), py::arg("dx"), nogil);
  m.def(
      "softmax",
      [](const std::string& dt, index_t rows, index_t L, bool log, U x, U y) {
        const index_t n = elements({rows, L}, "softmax: x");
        by_dtype(dt, [&](auto t) {
          Api::softmax(rows, L, log, device_ptr<Api>(t, x, n, "softmax: x"),
                       device_ptr<Api>(t, y, n, "softmax: y"));
        });
      },
      py::arg("dtype"), py::arg("rows"), py::arg("L"), py::arg("log"), py::arg("x"), py::arg("y"), nogil);
  m.def(
      "softmax_backward",
      [](const std::string& dt, index_t rows, index_t L, bool log, U y, U dy, U dx) {
        const index_t n = elements({rows, L}, "softmax_backward: y");
        by_dtype(dt, [&](auto t) {
          Api::softmax_backward(rows, L, log, device_ptr<Api>(t, y, n, "softmax_backward: y"),
                                device_ptr<Api>(t, dy, n, "softmax_backward: dy"),
                                device_ptr<Api>(t, dx, n, "softmax_backward: dx"));
        });
      },
      py::arg("dtype"), py::arg("rows"), py::arg("L"), py::arg("log"), py::arg("y"), py::arg("dy"),
      py::arg("dx"), nogil);
  // Exactly one target: class labels (N int64) or probabilities (N x C).
  const auto require_one_target = [](U labels, U probs, const char* what) {
    require((labels == 0) != (probs == 0), std::string(what) + ": give labels or probs, exactly one");
  };
  m.def(
      "cross_entropy",
      [require_one_target](const std::string& dt, index_t N, index_t C, U logits, U labels, U probs,
                           U losses) {
        const index_t n = elements({N, C}, "cross_entropy: logits");
        require_one_target(labels, probs, "cross_entropy");
        by_dtype(dt, [&](auto t) {
          Api::cross_entropy(N, C, device_ptr<Api>(t, logits, n, "cross_entropy: logits"),
                             optional_ptr<Api>(static_cast<long long>(0), labels, N, "cross_entropy: labels"),
                             optional_ptr<Api>(t, probs, n, "cross_entropy: probs"),
                             device_ptr<Api>(t, losses, N, "cross_entropy: losses"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("logits"), py::arg("labels"), py::arg("probs"),
      py::arg("losses"), nogil);
  m.def(
      "cross_entropy_backward",
      [require_one_target](const std::string& dt, index_t N, index_t C, int reduction, U logits, U labels,
                           U probs, U dloss, U grad) {
        const index_t n = elements({N, C}, "cross_entropy_backward: logits");
        require(reduction >= 0 && reduction <= 2,
                "cross_entropy_backward: reduction must be 0 (mean), 1 (sum) or 2");
        require_one_target(labels, probs, "cross_entropy_backward");
        by_dtype(dt, [&](auto t) {
          Api::cross_entropy_backward(
              N, C, reduction, device_ptr<Api>(t, logits, n, "cross_entropy_backward: logits"),
              optional_ptr<Api>(static_cast<long long>(0), labels, N, "cross_entropy_backward: labels"),
              optional_ptr<Api>(t, probs, n, "cross_entropy_backward: probs"),
              device_ptr<Api>(t, dloss, reduction == 2 ? N : 1, "cross_entropy_backward: dloss"),
              device_ptr<Api>(t, grad, n, "cross_entropy_backward: grad"));
        });
      },
      py::arg("dtype"), py::arg("N"), py::arg("C"), py::arg("reduction"), py::arg("logits"),
      py::arg("labels"), py::arg("probs"), py::arg("dloss"), py::arg("grad"), nogil);
  m.def(
      "sgd",
      [](const std::string& dt, index_t n, U p, U v, U g, double lr, double momentum, double wd,
         bool nesterov, bool first) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::sgd(n, device_ptr<Api>(t, p, n, "sgd: p"), optional_ptr<Api>(t, v, n, "sgd: velocity"),
                   device_ptr<Api>(t, g, n, "sgd: g"), static_cast<T>(lr), static_cast<T>(momentum),
                   static_cast<T>(wd), nesterov, first);
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("p"), py::arg("v"), py::arg("g"), py::arg("lr"),
      py::arg("momentum"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("first"), nogil);
  m.def(
      "adam",
      [](const std::string& dt, index_t n, U p, U mm, U v, U g, double lr, double b1, double b2, double eps,
         double wd, long step) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::adam(n, device_ptr<Api>(t, p, n, "adam: p"), device_ptr<Api>(t, mm, n, "adam: m"),
                    device_ptr<Api>(t, v, n, "adam: v"), device_ptr<Api>(t, g, n, "adam: g"),
                    static_cast<T>(lr), static_cast<T>(b1), static_cast<T>(b2), static_cast<T>(eps),
                    static_cast<T>(wd), step);
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("p"), py::arg("m"), py::arg("v"), py::arg("g"), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("step"), nogil);
  m.def(
      "rmsprop",
      [](const std::string& dt, index_t n, U p, U eg, U g, double lr, double rho, double eps, double wd) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::rmsprop(n, device_ptr<Api>(t, p, n, "rmsprop: p"),
                       device_ptr<Api>(t, eg, n, "rmsprop: avg_sq_grad"),
                       device_ptr<Api>(t, g, n, "rmsprop: g"), static_cast<T>(lr), static_cast<T>(rho),
                       static_cast<T>(eps), static_cast<T>(wd));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("p"), py::arg("avg_sq_grad"), py::arg("g"), py::arg("lr"),
      py::arg("rho"), py::arg("eps"), py::arg("weight_decay"), nogil);
  m.def(
      "adadelta",
      [](const std::string& dt, index_t n, U p, U eg, U ed, U g, double lr, double rho, double eps,
         double wd) {
        by_dtype(dt, [&](auto t) {
          using T = decltype(t);
          Api::adadelta(
              n, device_ptr<Api>(t, p, n, "adadelta: p"), device_ptr<Api>(t, eg, n, "adadelta: avg_sq_grad"),
              device_ptr<Api>(t, ed, n, "adadelta: avg_sq_delta"), device_ptr<Api>(t, g, n, "adadelta: g"),
              static_cast<T>(lr), static_cast<T>(rho), static_cast<T>(eps), static_cast<T>(wd));
        });
      },
      py::arg("dtype"), py::arg("n"), py::arg("p"), py::arg("avg_sq_grad"), py::arg("avg_sq_delta"),
      py::arg("g"), py::arg("lr"), py::arg("rho"), py::arg("eps"), py::arg("weight_decay"), nogil);
}

}  // namespace cnnfast::bind
