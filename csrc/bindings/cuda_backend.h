// Binds one build of the CUDA backend (cuda/backend_api.inc: device or emulated)
// into a submodule, the same names for both, so Python picks a backend by picking
// a module (cnnfast/cuda/__init__.py). Thin on purpose: pointers arrive as integers
// from cnnfast.cuda.DeviceArray, shapes and dtypes were checked by cnnfast.ops, and
// every call releases the GIL (an emulated launch takes milliseconds).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "bindings/util.h"
#include "cuda/allocator.h"
#include "cuda/backend.h"

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
  explicit Buffer(std::size_t n) : ptr(reinterpret_cast<std::uintptr_t>(allocator<Api>().allocate(n))), nbytes(n) {}
  ~Buffer() { allocator<Api>().release(reinterpret_cast<void*>(ptr)); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

// The CUDA kernels index with 32-bit ints (cuda/shapes.h). A shape field must be
// a non-negative int, and each product a kernel forms must fit one: anything
// larger is an OverflowError here, not an index that wraps on the device.
template <std::size_t n>
std::array<int, n> small_ints(const py::tuple& v, const char* what) {
  std::array<int, n> a{};
  for (std::size_t i = 0; i < n; ++i) {
    const long long x = v[i].cast<long long>();
    if (x < 0 || x > std::numeric_limits<int>::max())
      throw std::overflow_error(std::string(what) + ": field " + std::to_string(i) + " = " + std::to_string(x) +
                                " is not an index the CUDA kernels' 32-bit ints can hold");
    a[i] = static_cast<int>(x);
  }
  return a;
}

inline void require_int32_products(const char* what, std::initializer_list<std::initializer_list<int>> products) {
  for (const auto& factors : products) {
    long long p = 1;
    for (int f : factors) {
      p *= f;  // each factor < 2^31 and p <= 2^31 before: no overflow in 64 bits
      if (p > std::numeric_limits<int>::max())
        throw std::overflow_error(std::string(what) + " has an array or index range of more than 2^31 - 1 "
                                  "elements; the CUDA kernels index with 32-bit ints");
    }
  }
}

// The shape and enum types the backends' functions take, bound once into _C
// (both backends' submodules use them).
inline void bind_cuda_types(py::module_& m) {
  using cuda::Activation;
  using cuda::ConvShape;
  using cuda::PoolShape;
  py::class_<ConvShape>(m, "CudaConvShape")
      .def(py::init([](py::tuple v) {
        require(v.size() == 18, "ConvShape: 18 ints (N C H W K R S P Q sh sw pt pl dh dw groups Cg Kg)");
        const auto a = small_ints<18>(v, "ConvShape");
        // N C H W K R S P Q: the kernels index x, y, w and the GEMM's (N*P*Q or
        // N*H*W)-long columns with 32-bit ints.
        require_int32_products("a CUDA convolution",
                               {{a[0], a[1], a[2], a[3]}, {a[0], a[4], a[7], a[8]}, {a[4], a[16], a[5], a[6]},
                                {a[0], a[7], a[8]}, {a[0], a[2], a[3]}});
        return ConvShape{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
                         a[14], a[15], a[16], a[17]};
      }));
  py::class_<PoolShape>(m, "CudaPoolShape")
      .def(py::init([](py::tuple v) {
        require(v.size() == 14, "PoolShape: 14 ints (N C H W P Q kh kw sh sw pt pb pl pr)");
        const auto a = small_ints<14>(v, "PoolShape");
        // N C H W P Q kh kw sh sw pt pb pl pr; a window's end (start + kernel) and the
        // padded end plus a stride are formed as ints too.
        require_int32_products("a CUDA pooling", {{a[0], a[1], a[2], a[3]}, {a[0], a[1], a[4], a[5]}, {a[6], a[7]}});
        const long long reach_h = 0LL + a[2] + a[10] + a[11] + a[6] + a[8], reach_w = 0LL + a[3] + a[12] + a[13] + a[7] + a[9];
        if (reach_h > std::numeric_limits<int>::max() || reach_w > std::numeric_limits<int>::max())
          throw std::overflow_error("a CUDA pooling window reaches past 2^31 - 1; the kernels index with 32-bit ints");
        return PoolShape{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]};
      }));
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
  using cuda::ConvShape;
  using cuda::PoolShape;
  const auto nogil = py::call_guard<py::gil_scoped_release>();
  m.attr("name") = Api::name();

  // --- memory and copies -------------------------------------------------------
  py::class_<Buffer<Api>>(m, "Buffer", "A block of device memory (from the caching allocator).")
      .def(py::init<std::size_t>(), py::arg("nbytes"))
      .def_readonly("ptr", &Buffer<Api>::ptr)
      .def_readonly("nbytes", &Buffer<Api>::nbytes);
  m.def("copy_from_host", [](std::uintptr_t dst, const py::buffer& src, std::size_t nbytes) {
    const py::buffer_info info = src.request();
    require(static_cast<std::size_t>(info.size * info.itemsize) >= nbytes,
            "copy_from_host: the source holds fewer than nbytes");
    const void* p = info.ptr;
    py::gil_scoped_release release;
    Api::copy(reinterpret_cast<void*>(dst), p, nbytes);
  });
  m.def("copy_to_host", [](py::buffer dst, std::uintptr_t src, std::size_t nbytes) {
    const py::buffer_info info = dst.request(true);
    require(static_cast<std::size_t>(info.size * info.itemsize) >= nbytes && !info.readonly,
            "copy_to_host: the destination must be writable and hold nbytes");
    void* p = info.ptr;
    py::gil_scoped_release release;
    Api::copy(p, reinterpret_cast<const void*>(src), nbytes);
  });
  m.def("copy", [](std::uintptr_t dst, std::uintptr_t src, std::size_t nbytes) {
    Api::copy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), nbytes);
  }, nogil);
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

  // --- kernels (dtype first, then device addresses and sizes) --------------------
  using U = std::uintptr_t;
  m.def("matmul", [](const std::string& dt, int M, int N, int K, U a, bool ta, U b, bool tb, U c) {
    require(M >= 0 && N >= 0 && K >= 0, "matmul: negative dimension");
    require_int32_products("a CUDA matmul", {{M, N}, {M, K}, {K, N}});
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::matmul(M, N, K, dev<T>(a), ta, dev<T>(b), tb, dev<T>(c)); });
  }, nogil);
  m.def("conv2d_forward", [](const std::string& dt, const ConvShape& s, U x, U w, U bias, U y) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::conv2d_forward(s, dev<T>(x), dev<T>(w), dev<T>(bias), dev<T>(y)); });
  }, nogil);
  m.def("conv2d_backward_input", [](const std::string& dt, const ConvShape& s, U w, U dy, U dx) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::conv2d_backward_input(s, dev<T>(w), dev<T>(dy), dev<T>(dx)); });
  }, nogil);
  m.def("conv2d_backward_weight", [](const std::string& dt, const ConvShape& s, U x, U dy, U dw) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::conv2d_backward_weight(s, dev<T>(x), dev<T>(dy), dev<T>(dw)); });
  }, nogil);
  m.def("activation", [](const std::string& dt, Activation op, long n, U a, U b, U out) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::activation(op, n, dev<T>(a), dev<T>(b), dev<T>(out)); });
  }, nogil);
  m.def("bias_add", [](const std::string& dt, long n, long C, long L, U x, U bias, U y) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::bias_add(n, C, L, dev<T>(x), dev<T>(bias), dev<T>(y)); });
  }, nogil);
  m.def("channel_sum", [](const std::string& dt, long N, long C, long L, U x, double scale, U out) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::channel_sum(N, C, L, dev<T>(x), static_cast<T>(scale), dev<T>(out)); });
  }, nogil);
  m.def("axpby", [](const std::string& dt, long n, double alpha, U a, double beta, U b, long period, U out) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::axpby(n, static_cast<T>(alpha), dev<T>(a), static_cast<T>(beta), dev<T>(b), period < 1 ? 1 : period,
                 dev<T>(out));
    });
  }, nogil);
  m.def("fill", [](const std::string& dt, long n, double value, U out) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::fill(n, static_cast<T>(value), dev<T>(out)); });
  }, nogil);
  m.def("broadcast_scalar", [](const std::string& dt, long n, U src, double scale, U out) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::broadcast_scalar(n, dev<T>(src), static_cast<T>(scale), dev<T>(out)); });
  }, nogil);
  m.def("copy_rows", [](const std::string& dt, long rows, long width, U src, long src_stride, long src_offset, U dst,
                        long dst_stride, long dst_offset) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::copy_rows(rows, width, dev<T>(src), src_stride, src_offset, dev<T>(dst), dst_stride, dst_offset);
    });
  }, nogil);
  m.def("batch_norm_stats", [](const std::string& dt, long N, long C, long L, U x, double eps, U mean, U invstd) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::batch_norm_stats(N, C, L, dev<T>(x), static_cast<T>(eps), dev<T>(mean), dev<T>(invstd));
    });
  }, nogil);
  m.def("batch_norm_apply", [](const std::string& dt, long N, long C, long L, U x, U mean, U scale, bool from_var,
                               double eps, U w, U b, U y) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::batch_norm_apply(N, C, L, dev<T>(x), dev<T>(mean), dev<T>(scale), from_var, static_cast<T>(eps), dev<T>(w),
                            dev<T>(b), dev<T>(y));
    });
  }, nogil);
  m.def("batch_norm_backward", [](const std::string& dt, long N, long C, long L, U x, U dy, U mean, U invstd, U w,
                                  U dx, U dw, U db) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::batch_norm_backward(N, C, L, dev<T>(x), dev<T>(dy), dev<T>(mean), dev<T>(invstd), dev<T>(w), dev<T>(dx),
                               dev<T>(dw), dev<T>(db));
    });
  }, nogil);
  m.def("batch_norm_running_stats", [](const std::string& dt, long C, U mean, U invstd, double eps, long count,
                                       double momentum, U running_mean, U running_var) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::batch_norm_running_stats(C, dev<T>(mean), dev<T>(invstd), static_cast<T>(eps), count,
                                    static_cast<T>(momentum), dev<T>(running_mean), dev<T>(running_var));
    });
  }, nogil);
  m.def("lrn", [](const std::string& dt, long N, long C, long HW, int size, double alpha, double beta, double k, U x,
                  U y) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::lrn(N, C, HW, size, alpha, beta, k, dev<T>(x), dev<T>(y)); });
  }, nogil);
  m.def("lrn_backward", [](const std::string& dt, long N, long C, long HW, int size, double alpha, double beta,
                           double k, U x, U dy, U dx) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::lrn_backward(N, C, HW, size, alpha, beta, k, dev<T>(x), dev<T>(dy), dev<T>(dx));
    });
  }, nogil);
  m.def("dropout", [](const std::string& dt, long n, U x, double p, unsigned long long seed, U out) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::dropout(n, dev<T>(x), p, seed, dev<T>(out)); });
  }, nogil);
  m.def("max_pool", [](const std::string& dt, const PoolShape& s, U x, bool relu, U y, U codes) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::max_pool(s, dev<T>(x), relu, dev<T>(y), dev<unsigned char>(codes)); });
  }, nogil);
  m.def("max_pool_backward", [](const std::string& dt, const PoolShape& s, U codes, U dy, U dx) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::max_pool_backward(s, dev<const unsigned char>(codes), dev<T>(dy), dev<T>(dx)); });
  }, nogil);
  m.def("avg_pool", [](const std::string& dt, const PoolShape& s, bool cip, U x, U y) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::avg_pool(s, cip, dev<T>(x), dev<T>(y)); });
  }, nogil);
  m.def("avg_pool_backward", [](const std::string& dt, const PoolShape& s, bool cip, U dy, U dx) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::avg_pool_backward(s, cip, dev<T>(dy), dev<T>(dx)); });
  }, nogil);
  m.def("global_avg_pool_backward", [](const std::string& dt, long n, long L, U dy, U dx) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::global_avg_pool_backward(n, L, dev<T>(dy), dev<T>(dx)); });
  }, nogil);
  m.def("softmax", [](const std::string& dt, long rows, long L, bool log, U x, U y) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::softmax(rows, L, log, dev<T>(x), dev<T>(y)); });
  }, nogil);
  m.def("softmax_backward", [](const std::string& dt, long rows, long L, bool log, U y, U dy, U dx) {
    by_dtype(dt, [&](auto t) { using T = decltype(t); Api::softmax_backward(rows, L, log, dev<T>(y), dev<T>(dy), dev<T>(dx)); });
  }, nogil);
  m.def("cross_entropy", [](const std::string& dt, long N, long C, U logits, U labels, U probs, U losses) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::cross_entropy(N, C, dev<T>(logits), dev<const long long>(labels), dev<T>(probs), dev<T>(losses));
    });
  }, nogil);
  m.def("cross_entropy_backward", [](const std::string& dt, long N, long C, int reduction, U logits, U labels, U probs,
                                     U dloss, U grad) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::cross_entropy_backward(N, C, reduction, dev<T>(logits), dev<const long long>(labels), dev<T>(probs),
                                  dev<T>(dloss), dev<T>(grad));
    });
  }, nogil);
  m.def("sgd", [](const std::string& dt, long n, U p, U v, U g, double lr, double momentum, double wd, bool nesterov,
                  bool first) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::sgd(n, dev<T>(p), dev<T>(v), dev<T>(g), static_cast<T>(lr), static_cast<T>(momentum), static_cast<T>(wd),
               nesterov, first);
    });
  }, nogil);
  m.def("adam", [](const std::string& dt, long n, U p, U mm, U v, U g, double lr, double b1, double b2, double eps,
                   double wd, long step) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::adam(n, dev<T>(p), dev<T>(mm), dev<T>(v), dev<T>(g), static_cast<T>(lr), static_cast<T>(b1),
                static_cast<T>(b2), static_cast<T>(eps), static_cast<T>(wd), step);
    });
  }, nogil);
  m.def("rmsprop", [](const std::string& dt, long n, U p, U eg, U g, double lr, double rho, double eps, double wd) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::rmsprop(n, dev<T>(p), dev<T>(eg), dev<T>(g), static_cast<T>(lr), static_cast<T>(rho), static_cast<T>(eps),
                   static_cast<T>(wd));
    });
  }, nogil);
  m.def("adadelta", [](const std::string& dt, long n, U p, U eg, U ed, U g, double lr, double rho, double eps,
                       double wd) {
    by_dtype(dt, [&](auto t) {
      using T = decltype(t);
      Api::adadelta(n, dev<T>(p), dev<T>(eg), dev<T>(ed), dev<T>(g), static_cast<T>(lr), static_cast<T>(rho),
                    static_cast<T>(eps), static_cast<T>(wd));
    });
  }, nogil);
}

}  // namespace cnnfast::bind
