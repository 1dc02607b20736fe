// Element-wise kernels: activations and their gradients, the per-channel bias, the
// sums that accumulate gradients, fills, and dropout. Grid-stride loops, so any
// grid covers any n: the launchers cap the grid (kMaxBlocks) rather than size it
// to n, which on the emulator keeps a launch to a few blocks of OS threads.
#pragma once

#include <cstdint>

#include "cuda/compat.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

constexpr int kMapThreads = 256;
#if defined(__CUDACC__)
constexpr long kMaxBlocks = 4096;
#else
constexpr long kMaxBlocks = 4;
#endif

inline dim3 map_grid(long n) {
  const long blocks = (n + kMapThreads - 1) / kMapThreads;
  return dim3(static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks)));
}

CNNFAST_DEVICE inline long global_thread() {
  return static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
}
CNNFAST_DEVICE inline long grid_threads() { return static_cast<long>(gridDim.x) * blockDim.x; }

// f(i) for every i < n (f updates memory itself: optimizer steps).
template <class F>
CNNFAST_GLOBAL void each_kernel(long n, F f) {
  for (long i = global_thread(); i < n; i += grid_threads()) f(i);
}

template <class F>
void launch_each(long n, F f) {
  if (n <= 0) return;
  auto* kernel = &each_kernel<F>;
  CNNFAST_LAUNCH(kernel, map_grid(n), dim3(kMapThreads))(n, f);
  CNNFAST_CHECK_LAUNCH();
}

// out[i] = f(i) for i < n.
template <class T, class F>
struct StoreEach {
  T* out;
  F f;
  CNNFAST_DEVICE void operator()(long i) const { out[i] = f(i); }
};

template <class T, class F>
void launch_map(long n, T* out, F f) {
  launch_each(n, StoreEach<T, F>{out, f});
}

// The element functions, one per op, with the CPU kernels' exact rules
// (cnnfast/reference/activation.py): NaN stays NaN through ReLU and passes its
// gradient on.
template <class T>
struct Relu {
  const T* x;
  CNNFAST_DEVICE T operator()(long i) const { return x[i] < T(0) ? T(0) : x[i]; }
};
template <class T>
struct ReluBackward {
  const T *x, *dy;
  CNNFAST_DEVICE T operator()(long i) const { return x[i] <= T(0) ? T(0) : dy[i]; }
};
template <class T>
struct Tanh {
  const T* x;
  CNNFAST_DEVICE T operator()(long i) const { return dev_tanh(x[i]); }
};
template <class T>
struct TanhBackward {
  const T *y, *dy;
  CNNFAST_DEVICE T operator()(long i) const { return dy[i] * (T(1) - y[i] * y[i]); }
};
template <class T>
struct Sigmoid {
  const T* x;
  CNNFAST_DEVICE T operator()(long i) const { return T(1) / (T(1) + dev_exp(-x[i])); }
};
template <class T>
struct SigmoidBackward {
  const T *y, *dy;
  CNNFAST_DEVICE T operator()(long i) const { return dy[i] * y[i] * (T(1) - y[i]); }
};
// x (N, C, L) + b (C,)
template <class T>
struct BiasAdd {
  const T *x, *b;
  long C, L;
  CNNFAST_DEVICE T operator()(long i) const { return x[i] + b[i / L % C]; }
};
// alpha * a + beta * b, b repeating every `period` elements (broadcast over leading
// axes; period = n for same-shape operands); b may be null: alpha * a. Gradient
// sums, scaling, a position-wise bias.
template <class T>
struct Axpby {
  T alpha;
  const T* a;
  T beta;
  const T* b;
  long period;
  CNNFAST_DEVICE T operator()(long i) const { return b ? alpha * a[i] + beta * b[i % period] : alpha * a[i]; }
};
template <class T>
struct Fill {
  T value;
  CNNFAST_DEVICE T operator()(long) const { return value; }
};

// out = s[0] * scale: a device scalar spread over an array (a full sum's gradient).
template <class T>
struct BroadcastScalar {
  const T* s;
  T scale;
  CNNFAST_DEVICE T operator()(long) const { return s[0] * scale; }
};

// Copies `outer` rows of `width` elements between arrays with other row strides and
// offsets: concatenation (into a slice of each output row) and its split.
template <class T>
struct CopyRows {
  const T* src;
  long src_stride, src_offset;
  T* dst;
  long dst_stride, dst_offset, width;
  CNNFAST_DEVICE void operator()(long i) const {
    const long row = i / width, col = i % width;
    dst[row * dst_stride + dst_offset + col] = src[row * src_stride + src_offset + col];
  }
};

// Inverted dropout, the CPU's counter-based mask (csrc/dropout.cpp) bit for bit:
// element i is kept when SplitMix64(key + (i + 1) * golden) >> 11 >= ceil(p * 2^53).
CNNFAST_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;
template <class T>
struct DropoutScale {  // x[i] * (kept ? scale : 0); x null: the mask itself
  const T* x;
  std::uint64_t key, threshold;
  T scale;
  CNNFAST_DEVICE T operator()(long i) const {
    const std::uint64_t z = mix64(key + (static_cast<std::uint64_t>(i) + 1) * kGolden);
    const T m = (z >> 11) >= threshold ? scale : T(0);
    return x ? x[i] * m : m;
  }
};

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
