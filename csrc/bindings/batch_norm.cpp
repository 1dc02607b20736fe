#include "batch_norm.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
// x (N,C,...) viewed as (N, C, L)
struct NCL {
  index_t N, C, L;
};
NCL ncl(const py::array& x) {
  require(x.ndim() >= 2, "batch_norm: x must be at least 2-D (N, C, ...), got shape " + shape_str(x));
  const index_t N = x.shape(0), C = x.shape(1);
  index_t L = 1;
  for (py::ssize_t i = 2; i < x.ndim(); ++i) L *= x.shape(i);
  return {N, C, L};
}

template <class T>
const T* optional_param(const std::optional<In<T>>& a, const char* what, index_t C) {
  if (!a) return nullptr;
  require_shape(what, *a, {C});
  return a->data();
}

// x, weight (C) or None, bias (C) or None -> (y, mean (C), invstd (C))
template <class T>
py::tuple train_forward(In<T> x, std::optional<In<T>> weight, std::optional<In<T>> bias, double eps) {
  const NCL d = ncl(x);
  require(eps >= 0, "batch_norm: eps must be >= 0");
  const T* pg = optional_param(weight, "batch_norm: weight", d.C);
  const T* pb = optional_param(bias, "batch_norm: bias", d.C);
  auto y = empty<T>(shape_of(x));
  auto mean = empty<T>({d.C}), invstd = empty<T>({d.C});
  const T* px = x.data();
  T *py_ = y.mutable_data(), *pm = mean.mutable_data(), *pi = invstd.mutable_data();
  {
    const KernelCall call;
    batch_norm_train_forward<T>(d.N, d.C, d.L, px, pg, pb, eps, py_, pm, pi);
  }
  return py::make_tuple(y, mean, invstd);
}

template <class T>
py::array_t<T> inference_forward(In<T> x, In<T> mean, In<T> var, std::optional<In<T>> weight,
                                 std::optional<In<T>> bias, double eps) {
  const NCL d = ncl(x);
  require(eps >= 0, "batch_norm: eps must be >= 0");
  require_shape("batch_norm: running_mean", mean, {d.C});
  require_shape("batch_norm: running_var", var, {d.C});
  const T* pg = optional_param(weight, "batch_norm: weight", d.C);
  const T* pb = optional_param(bias, "batch_norm: bias", d.C);
  auto y = empty<T>(shape_of(x));
  const T *px = x.data(), *pm = mean.data(), *pv = var.data();
  T* py_ = y.mutable_data();
  const KernelCall call;
  batch_norm_inference_forward<T>(d.N, d.C, d.L, px, pm, pv, pg, pb, eps, py_);
  return y;
}

// -> (dx, dweight (C), dbias (C))
template <class T>
py::tuple backward(In<T> x, In<T> dy, In<T> mean, In<T> invstd, std::optional<In<T>> weight) {
  const NCL d = ncl(x);
  require_same_shape("batch_norm_backward: dy", dy, x);
  require_shape("batch_norm_backward: mean", mean, {d.C});
  require_shape("batch_norm_backward: invstd", invstd, {d.C});
  const T* pg = optional_param(weight, "batch_norm_backward: weight", d.C);
  auto dx = empty<T>(shape_of(x));
  auto dg = empty<T>({d.C}), db = empty<T>({d.C});
  const T *px = x.data(), *pdy = dy.data(), *pm = mean.data(), *pi = invstd.data();
  T *pdx = dx.mutable_data(), *pdg = dg.mutable_data(), *pdb = db.mutable_data();
  {
    const KernelCall call;
    batch_norm_backward<T>(d.N, d.C, d.L, px, pdy, pm, pi, pg, pdx, pdg, pdb);
  }
  return py::make_tuple(dx, dg, db);
}
// The inference forward's backward -> (dx, dweight (C), dbias (C))
template <class T>
py::tuple inference_backward(In<T> x, In<T> dy, In<T> mean, In<T> var, std::optional<In<T>> weight,
                             double eps) {
  const NCL d = ncl(x);
  require(eps >= 0, "batch_norm_inference_backward: eps must be >= 0");
  require_same_shape("batch_norm_inference_backward: dy", dy, x);
  require_shape("batch_norm_inference_backward: mean", mean, {d.C});
  require_shape("batch_norm_inference_backward: var", var, {d.C});
  const T* pg = optional_param(weight, "batch_norm_inference_backward: weight", d.C);
  auto dx = empty<T>(shape_of(x));
  auto dg = empty<T>({d.C}), db = empty<T>({d.C});
  const T *px = x.data(), *pdy = dy.data(), *pm = mean.data(), *pv = var.data();
  T *pdx = dx.mutable_data(), *pdg = dg.mutable_data(), *pdb = db.mutable_data();
  {
    const KernelCall call;
    batch_norm_inference_backward<T>(d.N, d.C, d.L, px, pdy, pm, pv, pg, eps, pdx, pdg, pdb);
  }
  return py::make_tuple(dx, dg, db);
}
}  // namespace

void bind_batch_norm(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "batch_norm_train_forward", train_forward, py::arg("x"), py::arg("weight"),
                       py::arg("bias"), py::arg("eps"));
  CNNFAST_DEF_FLOATING(m, "batch_norm_inference_forward", inference_forward, py::arg("x"), py::arg("mean"),
                       py::arg("var"), py::arg("weight"), py::arg("bias"), py::arg("eps"));
  CNNFAST_DEF_FLOATING(m, "batch_norm_backward", backward, py::arg("x"), py::arg("dy"), py::arg("mean"),
                       py::arg("invstd"), py::arg("weight"));
  CNNFAST_DEF_FLOATING(m, "batch_norm_inference_backward", inference_backward, py::arg("x"), py::arg("dy"),
                       py::arg("mean"), py::arg("var"), py::arg("weight"), py::arg("eps"));
}

}  // namespace cnnfast::bind
