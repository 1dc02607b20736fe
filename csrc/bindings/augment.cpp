#include "augment.h"

#include <cmath>

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
template <class T>
py::array_t<T> affine_sample(In<T> x, In<double> matrices) {
  require(x.ndim() == 4, "affine_sample: x must be 4-D (N, H, W, C), got shape " + shape_str(shape_of(x)));
  const index_t n = x.shape(0), h = x.shape(1), w = x.shape(2), c = x.shape(3);
  require_shape("affine_sample: matrices", matrices, {n, 2, 3});
  const double* pm = matrices.data();
  for (index_t i = 0; i < n * 6; ++i)
    require(std::isfinite(pm[i]),
            "affine_sample: matrices hold a non-finite value at flat index " + std::to_string(i));
  auto y = empty<T>(shape_of(x));
  const T* px = x.data();
  T* py_ = y.mutable_data();
  if (n * h * w * c == 0) return y;
  const KernelCall call;
  affine_sample_bilinear<T>(n, h, w, c, px, pm, py_);
  return y;
}
}  // namespace

void bind_augment(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "affine_sample", affine_sample, py::arg("x"), py::arg("matrices"));
}

}  // namespace cnnfast::bind
