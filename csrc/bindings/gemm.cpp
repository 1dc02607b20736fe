#include "gemm/gemm.h"

#include "bindings/util.h"

namespace cnnfast::bind {

namespace {
// a (M,K) or (K,M) if trans_a; b (K,N) or (N,K) if trans_b -> c (M,N)
template <class T>
py::array_t<T> matmul(In<T> a, In<T> b, bool trans_a, bool trans_b) {
  require_ndim("a", a, 2);
  require_ndim("b", b, 2);
  const index_t M = trans_a ? a.shape(1) : a.shape(0), Ka = trans_a ? a.shape(0) : a.shape(1);
  const index_t Kb = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
  require(Ka == Kb, "matmul: inner dimensions differ: a " + shape_str(a) + ", b " + shape_str(b));
  auto c = empty<T>({M, N});
  const T *pa = a.data(), *pb = b.data();
  T* pc = c.mutable_data();
  const index_t lda = a.shape(1), ldb = b.shape(1);
  const KernelCall call;
  gemm<T>(trans_a, trans_b, M, N, Ka, T(1), pa, lda, pb, ldb, T(0), pc, N);
  return c;
}
}  // namespace

void bind_gemm(py::module_& m) {
  CNNFAST_DEF_FLOATING(m, "matmul", matmul, py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
                       py::arg("trans_b") = false);
}

}  // namespace cnnfast::bind
