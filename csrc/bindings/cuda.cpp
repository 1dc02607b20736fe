#include <vector>

#include "bindings/cuda_backend.h"
#include "bindings/util.h"
#include "cuda/emulated.h"
#ifdef CNNFAST_HAVE_CUDA
#include "cuda/device.h"
#endif

namespace cnnfast::bind {

namespace {
// The emulated kernels take host arrays: for tests that run the CUDA source on the
// CPU. c (M, N) is updated in place: c = alpha * a @ b + beta * c.
void emulated_sgemm(In<float> a, In<float> b, float alpha, float beta, py::array_t<float> c) {
  require_ndim("a", a, 2);
  require_ndim("b", b, 2);
  require_ndim("c", c, 2);
  const index_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
  require(b.shape(0) == K,
          "emulated_sgemm: inner dimensions differ: a " + shape_str(a) + ", b " + shape_str(b));
  require(c.shape(0) == M && c.shape(1) == N, "emulated_sgemm: c " + shape_str(c) + " must be (" +
                                                  std::to_string(M) + ", " + std::to_string(N) + ")");
  require((c.flags() & py::array::c_style) != 0, "emulated_sgemm: c must be C-contiguous");
  require(M < (1 << 30) && N < (1 << 30) && K < (1 << 30), "emulated_sgemm: dimensions must fit in int");
  const float *pa = a.data(), *pb = b.data();
  float* pc = c.mutable_data();
  const KernelCall call;
  cuda_emulated::sgemm(static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, pa,
                       static_cast<int>(K), pb, static_cast<int>(N), beta, pc, static_cast<int>(N));
}
float emulated_sum(In<float> x, int blocks) {
  require(x.size() < (index_t{1} << 31), "emulated_sum: at most 2^31 - 1 elements");
  require(blocks >= 1, "emulated_sum: blocks must be >= 1");
  const float* px = x.data();
  const int n = static_cast<int>(x.size());
  const KernelCall call;
  return cuda_emulated::sum(n, px, blocks);
}

py::array_t<int> emulated_thread_indices(std::vector<unsigned> grid, std::vector<unsigned> block) {
  require(grid.size() == 3 && block.size() == 3, "emulated_thread_indices: grid and block are (x, y, z)");
  const index_t threads = static_cast<index_t>(grid[0]) * grid[1] * grid[2] * block[0] * block[1] * block[2];
  require(threads <= (index_t{1} << 20), "emulated_thread_indices: at most 2^20 threads");
  auto out = empty<int>({threads, 10});
  int* po = out.mutable_data();
  const KernelCall call;
  cuda_emulated::thread_indices(grid[0], grid[1], grid[2], block[0], block[1], block[2], po);
  return out;
}
}  // namespace

void bind_cuda(py::module_& m) {
#ifdef CNNFAST_HAVE_CUDA
  m.attr("cuda_built") = true;
  m.def("cuda_device_count", &cuda_device::device_count,
        "Devices the CUDA runtime can use (0 without a driver).");
  m.def("cuda_device_names", &cuda_device::device_names);
  m.def(
      "cuda_versions",
      [] { return std::make_pair(cuda_device::runtime_version(), cuda_device::driver_version()); },
      "(runtime, driver) versions, e.g. (13000, 0) without a driver.");
#else
  m.attr("cuda_built") = false;
  m.def("cuda_device_count", [] { return 0; });
  m.def("cuda_device_names", [] { return std::vector<std::string>{}; });
  m.def("cuda_versions", [] { return std::make_pair(0, 0); });
#endif
  bind_cuda_types(m);
#ifdef CNNFAST_HAVE_CUDA
  py::module_ device = m.def_submodule("cuda_device", "The CUDA backend on a GPU.");
  bind_backend<cuda_device::Api>(device);
#endif
  py::module_ emu = m.def_submodule("cuda_emulated", "The CUDA backend's kernels run on the host emulator.");
  bind_backend<cuda_emulated::Api>(emu);
  emu.def("sgemm", &emulated_sgemm, py::arg("a"), py::arg("b"), py::arg("alpha"), py::arg("beta"),
          py::arg("c"));
  emu.def("sum", &emulated_sum, py::arg("x"), py::arg("blocks"));
  emu.def("thread_indices", &emulated_thread_indices, py::arg("grid"), py::arg("block"));
#ifdef CNNFAST_SANITIZE_BUILD
  emu.def("faulty_shared_index", &cuda_emulated::faulty_shared_index,
          "Sanitizer builds only: writes one past a __shared__ array (a sanitizer must abort).");
#endif
}

}  // namespace cnnfast::bind
