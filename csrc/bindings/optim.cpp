#include "optim.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
// Arrays updated in place: they must already be C-contiguous, writable and of T
// (a converted copy would be updated instead of the caller's array).
template <class T>
using InOut = py::array_t<T, py::array::c_style>;

template <class T>
T* writable(const std::string& what, InOut<T>& a, const py::array& p) {
  require(a.writeable(), "adam_update: " + what + " must be writable");
  require_same_shape(("adam_update: " + what).c_str(), a, p);
  return a.mutable_data();
}

// p, m, v updated in place from g; t is the step number (1 for the first).
template <class T>
void adam(py::array p, In<T> g, py::array m, py::array v, double lr, double beta1, double beta2, double eps,
          double weight_decay, long long t) {
  require(t >= 1, "adam_update: step must be >= 1, got " + std::to_string(t));
  auto strict = [](const char* what, py::array& a) {
    require(
        py::isinstance<InOut<T>>(a) && a.dtype().is(py::dtype::of<T>()) && (a.flags() & py::array::c_style),
        std::string("adam_update: ") + what + " must be a C-contiguous array of the gradient's dtype");
    return py::reinterpret_borrow<InOut<T>>(a);
  };
  InOut<T> P = strict("p", p), M = strict("m", m), V = strict("v", v);
  require_same_shape("adam_update: g", g, P);
  T* pp = writable("p", P, P);
  T* pm = writable("m", M, P);
  T* pv = writable("v", V, P);
  const AdamCoefficients<T> c{static_cast<T>(lr),
                              static_cast<T>(beta1),
                              static_cast<T>(1.0 - beta1),
                              static_cast<T>(beta2),
                              static_cast<T>(1.0 - beta2),
                              static_cast<T>(1.0 - std::pow(beta1, static_cast<double>(t))),
                              static_cast<T>(1.0 - std::pow(beta2, static_cast<double>(t))),
                              static_cast<T>(eps),
                              static_cast<T>(weight_decay)};
  const T* pg = g.data();
  const index_t n = P.size();
  const KernelCall call;
  adam_update<T>(n, c, pg, pp, pm, pv);
}
}  // namespace

void bind_optim(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "adam_update", adam, py::arg("p"), py::arg("g"), py::arg("m"), py::arg("v"),
                       py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
                       py::arg("weight_decay"), py::arg("step"));
}

}  // namespace cnnfast::bind
