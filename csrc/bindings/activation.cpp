#include "activation/activation.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
// x (N,C,...) + b (C) -> y
template <class T>
py::array_t<T> bias_add(In<T> x, In<T> b) {
  require(x.ndim() >= 2, "bias_add: x must be at least 2-D (N, C, ...), got shape " + shape_str(x));
  const index_t N = x.shape(0), C = x.shape(1), L = C ? x.size() / std::max<index_t>(N * C, 1) : 0;
  require_shape("bias_add: b", b, {C});
  auto y = empty<T>(shape_of(x));
  const T *px = x.data(), *pb = b.data();
  T* py_ = y.mutable_data();
  const KernelCall call;
  bias_add_forward<T>(N, C, L, px, pb, py_);
  return y;
}

// dy (N,C,...) -> db (C)
template <class T>
py::array_t<T> bias_add_grad(In<T> dy) {
  require(dy.ndim() >= 2,
          "bias_add_backward: dy must be at least 2-D (N, C, ...), got shape " + shape_str(dy));
  const index_t N = dy.shape(0), C = dy.shape(1), L = C ? dy.size() / std::max<index_t>(N * C, 1) : 0;
  auto db = empty<T>({C});
  const T* pdy = dy.data();
  T* pdb = db.mutable_data();
  const KernelCall call;
  bias_add_backward<T>(N, C, L, pdy, pdb);
  return db;
}

template <class T, void (*Kernel)(index_t, const T*, T*)>
py::array_t<T> unary(In<T> x) {
  auto y = empty<T>(shape_of(x));
  const T* px = x.data();
  T* py_ = y.mutable_data();
  const index_t n = x.size();
  const KernelCall call;
  Kernel(n, px, py_);
  return y;
}

// (saved, dy) -> dx, where `saved` is x for ReLU and y for tanh/sigmoid.
template <class T, void (*Kernel)(index_t, const T*, const T*, T*)>
py::array_t<T> unary_grad(In<T> saved, In<T> dy) {
  require_same_shape("dy", dy, saved);
  auto dx = empty<T>(shape_of(saved));
  const T *ps = saved.data(), *pdy = dy.data();
  T* pdx = dx.mutable_data();
  const index_t n = saved.size();
  const KernelCall call;
  Kernel(n, ps, pdy, pdx);
  return dx;
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("bias_add", &bias_add<T>, py::arg("x"), py::arg("b"));
  m.def("bias_add_backward", &bias_add_grad<T>, py::arg("dy"));
  m.def("relu_forward", &unary<T, relu_forward<T>>, py::arg("x"));
  m.def("relu_backward", &unary_grad<T, relu_backward<T>>, py::arg("x"), py::arg("dy"));
  m.def("tanh_forward", &unary<T, tanh_forward<T>>, py::arg("x"));
  m.def("tanh_backward", &unary_grad<T, tanh_backward<T>>, py::arg("y"), py::arg("dy"));
  m.def("sigmoid_forward", &unary<T, sigmoid_forward<T>>, py::arg("x"));
  m.def("sigmoid_backward", &unary_grad<T, sigmoid_backward<T>>, py::arg("y"), py::arg("dy"));
}
}  // namespace

void bind_activation(py::module_& m) {
  bind_typed<float>(m);
  bind_typed<double>(m);
}

}  // namespace cnnfast::bind
