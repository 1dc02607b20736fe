#include "dropout.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
void check_p(double p) {
  require(p >= 0.0 && p <= 1.0, "dropout: p must be in [0, 1], got " + std::to_string(p));
}

// x -> x * mask(seed, p); the same call is the backward on dy.
template <class T>
py::array_t<T> apply(In<T> x, double p, std::uint64_t seed) {
  check_p(p);
  auto y = empty<T>(shape_of(x));
  const T* px = x.data();
  T* py_ = y.mutable_data();
  const index_t n = x.size();
  const KernelCall call;
  dropout_forward<T>(n, px, p, seed, py_);
  return y;
}

template <class T>
py::array_t<T> mask(std::vector<index_t> shape, double p, std::uint64_t seed) {
  check_p(p);
  for (index_t d : shape) require(d >= 0, "dropout_mask: negative dimension in shape " + shape_str(shape));
  // (the element count from the array empty() checked and made, not a product of
  // our own that could overflow on the way to a zero dimension)
  auto out = empty<T>(shape);
  const index_t n = out.size();
  T* po = out.mutable_data();
  const KernelCall call;
  dropout_mask<T>(n, p, seed, po);
  return out;
}
}  // namespace

void bind_dropout(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "dropout_forward", apply, py::arg("x"), py::arg("p"), py::arg("seed"));
  m.def("dropout_mask_float32", &mask<float>, py::arg("shape"), py::arg("p"), py::arg("seed"));
  m.def("dropout_mask_float64", &mask<double>, py::arg("shape"), py::arg("p"), py::arg("seed"));
}

}  // namespace cnnfast::bind
