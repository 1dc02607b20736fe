#include "softmax.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
// Rows and columns of an array reduced over its last axis.
std::pair<index_t, index_t> rows_cols(const py::array& x, const char* what) {
  require(x.ndim() >= 1, std::string(what) + ": x must be at least 1-D");
  const index_t cols = x.shape(x.ndim() - 1);
  return {cols ? x.size() / cols : 0, cols};
}

template <class T, void (*Kernel)(index_t, index_t, const T*, T*)>
py::array_t<T> rowwise(In<T> x) {
  const auto [rows, cols] = rows_cols(x, "softmax");
  auto y = empty<T>(shape_of(x));
  const T* px = x.data();
  T* py_ = y.mutable_data();
  const KernelCall call;
  Kernel(rows, cols, px, py_);
  return y;
}

template <class T, void (*Kernel)(index_t, index_t, const T*, const T*, T*)>
py::array_t<T> rowwise_grad(In<T> y, In<T> dy) {
  require_same_shape("dy", dy, y);
  const auto [rows, cols] = rows_cols(y, "softmax_backward");
  auto dx = empty<T>(shape_of(y));
  const T *py_ = y.data(), *pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  Kernel(rows, cols, py_, pdy, pdx);
  return dx;
}

// logits (N,C), target (N) int64 -> loss (N). Target range is checked in C++ too.
template <class T>
py::array_t<T> ce_forward(In<T> logits, py::array_t<std::int64_t, py::array::c_style> target) {
  require_ndim("cross_entropy: logits", logits, 2);
  const index_t N = logits.shape(0), C = logits.shape(1);
  require_shape("cross_entropy: target", target, {N});
  auto loss = empty<T>({N});
  const T* px = logits.data();
  const std::int64_t* pt = target.data();
  T* pl = loss.mutable_data();
  const KernelCall call;
  cross_entropy_forward<T>(N, C, px, pt, pl);
  return loss;
}

template <class T>
py::array_t<T> ce_backward(In<T> logits, py::array_t<std::int64_t, py::array::c_style> target, In<T> dloss) {
  require_ndim("cross_entropy_backward: logits", logits, 2);
  const index_t N = logits.shape(0), C = logits.shape(1);
  require_shape("cross_entropy_backward: target", target, {N});
  require_shape("cross_entropy_backward: dloss", dloss, {N});
  auto dx = empty<T>({N, C});
  const T *px = logits.data(), *pd = dloss.data();
  const std::int64_t* pt = target.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  cross_entropy_backward<T>(N, C, px, pt, pd, pdx);
  return dx;
}

// logits (N,C), target (N,C) probabilities -> loss (N)
template <class T>
py::array_t<T> ce_soft_forward(In<T> logits, In<T> target) {
  require_ndim("cross_entropy: logits", logits, 2);
  require_same_shape("cross_entropy: target", target, logits);
  const index_t N = logits.shape(0), C = logits.shape(1);
  auto loss = empty<T>({N});
  const T *px = logits.data(), *pt = target.data();
  T* pl = loss.mutable_data();
  const KernelCall call;
  cross_entropy_soft_forward<T>(N, C, px, pt, pl);
  return loss;
}

template <class T>
py::array_t<T> ce_soft_backward(In<T> logits, In<T> target, In<T> dloss) {
  require_ndim("cross_entropy_backward: logits", logits, 2);
  require_same_shape("cross_entropy_backward: target", target, logits);
  const index_t N = logits.shape(0), C = logits.shape(1);
  require_shape("cross_entropy_backward: dloss", dloss, {N});
  auto dx = empty<T>({N, C});
  const T *px = logits.data(), *pt = target.data(), *pd = dloss.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  cross_entropy_soft_backward<T>(N, C, px, pt, pd, pdx);
  return dx;
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("softmax_forward", &rowwise<T, softmax_forward<T>>, py::arg("x"));
  m.def("softmax_backward", &rowwise_grad<T, softmax_backward<T>>, py::arg("y"), py::arg("dy"));
  m.def("log_softmax_forward", &rowwise<T, log_softmax_forward<T>>, py::arg("x"));
  m.def("log_softmax_backward", &rowwise_grad<T, log_softmax_backward<T>>, py::arg("y"), py::arg("dy"));
  m.def("cross_entropy_forward", &ce_forward<T>, py::arg("logits"), py::arg("target"));
  m.def("cross_entropy_backward", &ce_backward<T>, py::arg("logits"), py::arg("target"), py::arg("dloss"));
  m.def("cross_entropy_soft_forward", &ce_soft_forward<T>, py::arg("logits"), py::arg("target"));
  m.def("cross_entropy_soft_backward", &ce_soft_backward<T>, py::arg("logits"), py::arg("target"),
        py::arg("dloss"));
}
}  // namespace

void bind_softmax(py::module_& m) {
  bind_typed<float>(m);
  bind_typed<double>(m);
}

}  // namespace cnnfast::bind
