#include "pool2d/pool2d.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
using Pair = std::array<index_t, 2>;
using Quad = std::array<index_t, 4>;

Pool2dShape pool_shape(const py::array& x, Pair kernel, Pair stride, Quad padding, bool ceil_mode) {
  require_ndim("pool2d: x", x, 4);
  const Pool2dParams p{kernel[0],  kernel[1],  stride[0],  stride[1], padding[0],
                       padding[1], padding[2], padding[3], ceil_mode};
  return make_pool2d_shape(x.shape(0), x.shape(1), x.shape(2), x.shape(3), p);
}

// x (N,C,H,W) -> y (N,C,P,Q) [, indices (N,C,P,Q) int64]
template <class T>
py::object max_forward(In<T> x, Pair kernel, Pair stride, Quad padding, bool ceil_mode, bool return_indices) {
  const Pool2dShape s = pool_shape(x, kernel, stride, padding, ceil_mode);
  auto y = empty<T>({s.N, s.C, s.P, s.Q});
  py::array_t<std::int64_t> idx;
  if (return_indices) idx = empty<std::int64_t>({s.N, s.C, s.P, s.Q});
  const T* px = x.data();
  T* py_ = y.mutable_data();
  std::int64_t* pidx = return_indices ? idx.mutable_data() : nullptr;
  {
    const KernelCall call;
    max_pool2d_forward<T>(s, px, py_, pidx);
  }
  if (return_indices) return py::make_tuple(y, idx);
  return std::move(y);
}

// x (N,C,H,W), dy (N,C,P,Q) -> dx (N,C,H,W)
template <class T>
py::array_t<T> max_backward(In<T> x, In<T> dy, Pair kernel, Pair stride, Quad padding, bool ceil_mode) {
  const Pool2dShape s = pool_shape(x, kernel, stride, padding, ceil_mode);
  require_shape("max_pool2d_backward: dy", dy, {s.N, s.C, s.P, s.Q});
  auto dx = empty<T>(shape_of(x));
  const T *px = x.data(), *pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  max_pool2d_backward<T>(s, px, pdy, pdx);
  return dx;
}

Pool2dShape argmax_shape(const Pool2dShape& s) {
  require(fits_byte_argmax(s.p), "max_pool2d argmax: a window of " + std::to_string(s.p.kh) + "x" +
                                     std::to_string(s.p.kw) + " cells does not fit a byte code (at most " +
                                     std::to_string(kMaxPoolArgmaxWindow) + " cells)");
  return s;
}

// x (N,C,H,W) -> (y, argmax), both (N,C,P,Q), argmax uint8; y = relu(max) with relu.
template <class T>
py::tuple max_forward_argmax(In<T> x, Pair kernel, Pair stride, Quad padding, bool ceil_mode, bool relu) {
  const Pool2dShape s = argmax_shape(pool_shape(x, kernel, stride, padding, ceil_mode));
  auto y = empty<T>({s.N, s.C, s.P, s.Q});
  auto code = empty<std::uint8_t>({s.N, s.C, s.P, s.Q});
  const T* px = x.data();
  T* py_ = y.mutable_data();
  std::uint8_t* pc = code.mutable_data();
  {
    const KernelCall call;
    max_pool2d_forward_argmax<T>(s, relu, px, py_, pc);
  }
  return py::make_tuple(y, code);
}

// argmax (N,C,P,Q) uint8, dy (N,C,P,Q), x_shape -> dx (N,C,H,W)
template <class T>
py::array_t<T> max_backward_argmax(py::array_t<std::uint8_t, py::array::c_style> argmax, In<T> dy,
                                   std::vector<index_t> x_shape, Pair kernel, Pair stride, Quad padding,
                                   bool ceil_mode) {
  require(x_shape.size() == 4,
          "max_pool2d_backward_argmax: x_shape must have 4 entries, got " + shape_str(x_shape));
  const Pool2dParams p{kernel[0],  kernel[1],  stride[0],  stride[1], padding[0],
                       padding[1], padding[2], padding[3], ceil_mode};
  const Pool2dShape s = argmax_shape(make_pool2d_shape(x_shape[0], x_shape[1], x_shape[2], x_shape[3], p));
  require_shape("max_pool2d_backward_argmax: argmax", argmax, {s.N, s.C, s.P, s.Q});
  require_shape("max_pool2d_backward_argmax: dy", dy, {s.N, s.C, s.P, s.Q});
  auto dx = empty<T>(x_shape);
  const std::uint8_t* pc = argmax.data();
  const T* pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  max_pool2d_backward_argmax<T>(s, pc, pdy, pdx);
  return dx;
}

template <class T>
py::array_t<T> avg_forward(In<T> x, Pair kernel, Pair stride, Quad padding, bool ceil_mode,
                           bool count_include_pad) {
  const Pool2dShape s = pool_shape(x, kernel, stride, padding, ceil_mode);
  auto y = empty<T>({s.N, s.C, s.P, s.Q});
  const T* px = x.data();
  T* py_ = y.mutable_data();
  const KernelCall call;
  avg_pool2d_forward<T>(s, count_include_pad, px, py_);
  return y;
}

// x is only needed for its shape.
template <class T>
py::array_t<T> avg_backward(In<T> x, In<T> dy, Pair kernel, Pair stride, Quad padding, bool ceil_mode,
                            bool count_include_pad) {
  const Pool2dShape s = pool_shape(x, kernel, stride, padding, ceil_mode);
  require_shape("avg_pool2d_backward: dy", dy, {s.N, s.C, s.P, s.Q});
  auto dx = empty<T>(shape_of(x));
  const T* pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  avg_pool2d_backward<T>(s, count_include_pad, pdy, pdx);
  return dx;
}

// x (N,C,H,W) -> y (N,C,1,1)
template <class T>
py::array_t<T> global_avg_forward(In<T> x) {
  require_ndim("global_avg_pool2d: x", x, 4);
  const index_t N = x.shape(0), C = x.shape(1), HW = x.shape(2) * x.shape(3);
  require(HW > 0 || N * C == 0, "global_avg_pool2d: x has no pixels: shape " + shape_str(x));
  auto y = empty<T>({N, C, 1, 1});
  const T* px = x.data();
  T* py_ = y.mutable_data();
  const KernelCall call;
  global_avg_pool2d_forward<T>(N, C, HW, px, py_);
  return y;
}

// dy (N,C,1,1), x_shape -> dx (N,C,H,W)
template <class T>
py::array_t<T> global_avg_backward(In<T> dy, std::vector<index_t> x_shape) {
  require(x_shape.size() == 4, "global_avg_pool2d_backward: x_shape must have 4 entries");
  const index_t N = x_shape[0], C = x_shape[1];
  require(N >= 0 && C >= 0 && x_shape[2] >= 1 && x_shape[3] >= 1,
          "global_avg_pool2d_backward: bad x_shape " + shape_str(x_shape));
  require_shape("global_avg_pool2d_backward: dy", dy, {N, C, 1, 1});
  auto dx = empty<T>(x_shape);  // (checks that x_shape's size can be represented)
  const index_t HW = x_shape[2] * x_shape[3];
  const T* pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  global_avg_pool2d_backward<T>(N, C, HW, pdy, pdx);
  return dx;
}
}  // namespace

void bind_pool2d(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "max_pool2d_forward", max_forward, py::arg("x"), py::arg("kernel_size"),
                       py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
                       py::arg("return_indices"));
  CNNFAST_DEF_FLOATING(m, "max_pool2d_backward", max_backward, py::arg("x"), py::arg("dy"),
                       py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"));
  CNNFAST_DEF_FLOATING(m, "max_pool2d_forward_argmax", max_forward_argmax, py::arg("x"),
                       py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
                       py::arg("relu"));
  CNNFAST_DEF_FLOATING(m, "max_pool2d_backward_argmax", max_backward_argmax, py::arg("argmax"), py::arg("dy"),
                       py::arg("x_shape"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
                       py::arg("ceil_mode"));
  CNNFAST_DEF_FLOATING(m, "avg_pool2d_forward", avg_forward, py::arg("x"), py::arg("kernel_size"),
                       py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
                       py::arg("count_include_pad"));
  CNNFAST_DEF_FLOATING(m, "avg_pool2d_backward", avg_backward, py::arg("x"), py::arg("dy"),
                       py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
                       py::arg("count_include_pad"));
  CNNFAST_DEF_FLOATING(m, "global_avg_pool2d_forward", global_avg_forward, py::arg("x"));
  CNNFAST_DEF_FLOATING(m, "global_avg_pool2d_backward", global_avg_backward, py::arg("dy"),
                       py::arg("x_shape"));
}

}  // namespace cnnfast::bind
