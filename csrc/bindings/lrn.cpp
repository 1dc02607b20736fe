#include "lrn.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
void check(const py::array& x, index_t size, double k) {
  require_ndim("local_response_norm: x", x, 4);
  require(size >= 1, "local_response_norm: size must be >= 1, got " + std::to_string(size));
  require(k > 0, "local_response_norm: k must be > 0");
}

template <class T>
py::array_t<T> forward(In<T> x, index_t size, double alpha, double beta, double k) {
  check(x, size, k);
  auto y = empty<T>(shape_of(x));
  const index_t N = x.shape(0), C = x.shape(1), HW = x.shape(2) * x.shape(3);
  const T* px = x.data();
  T* py_ = y.mutable_data();
  const KernelCall call;
  lrn_forward<T>(N, C, HW, size, alpha, beta, k, px, py_);
  return y;
}

template <class T>
py::array_t<T> backward(In<T> x, In<T> dy, index_t size, double alpha, double beta, double k) {
  check(x, size, k);
  require_same_shape("local_response_norm_backward: dy", dy, x);
  auto dx = empty<T>(shape_of(x));
  const index_t N = x.shape(0), C = x.shape(1), HW = x.shape(2) * x.shape(3);
  const T *px = x.data(), *pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  lrn_backward<T>(N, C, HW, size, alpha, beta, k, px, pdy, pdx);
  return dx;
}
}  // namespace

void bind_lrn(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "lrn_forward", forward, py::arg("x"), py::arg("size"), py::arg("alpha"),
                       py::arg("beta"), py::arg("k"));
  CNNFAST_DEF_FLOATING(m, "lrn_backward", backward, py::arg("x"), py::arg("dy"), py::arg("size"),
                       py::arg("alpha"), py::arg("beta"), py::arg("k"));
}

}  // namespace cnnfast::bind
