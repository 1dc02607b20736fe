// cnnfast._C: the pybind11 module. Each op family binds itself in its own
// file; this one adds the runtime controls (threads, ISA) and build facts.
#include <pybind11/pybind11.h>

#include <chrono>

#include "bindings/util.h"
#include "block_cache.h"
#include "conv2d/conv2d_algorithm.h"
#include "cpu_features.h"
#include "fma_peak/fma_peak.h"
#include "gemm/gemm_ukernel.h"
#include "openmp_runtime.h"
#include "parallel.h"
#include "thread_pool.h"

#ifndef CNNFAST_VERSION
#define CNNFAST_VERSION "0.0.0"
#endif

namespace py = pybind11;
using namespace cnnfast;

PYBIND11_MODULE(_C, m) {
  m.doc() = "cnnfast kernels (C++, its own thread pool). Use cnnfast.ops, which validates arguments.";
  m.attr("__version__") = CNNFAST_VERSION;

  m.def("get_num_threads", &get_num_threads, "Threads the kernels use.");
  m.def("set_num_threads", &set_num_threads, py::arg("n"), "Set the threads the kernels use (n >= 1).");
  m.def("threads_enabled", &threads_enabled, "Whether this build runs kernels on its thread pool.");
  m.def("max_threads", [] { return kMaxThreads; }, "The most threads set_num_threads accepts.");
  m.def("spin_microseconds", &spin_microseconds,
        "How long an idle pool thread spins before it sleeps (CNNFAST_SPIN_US).");
  m.def("set_spin_microseconds", &set_spin_microseconds, py::arg("us"),
        "Set how long idle pool threads spin before they sleep (0 to 1e6 microseconds).");
  m.def(
      "share_openmp_runtime",
      [](const std::string& path) {
        if (!threads_enabled()) return false;  // (a single-threaded build has no jobs to share)
        share_openmp_runtime(path);
        return !path.empty();
      },
      py::arg("path"),
      "Run the kernels' parallel jobs on the already-loaded OpenMP runtime at path (its "
      "GOMP_parallel); '' goes back to cnnfast's own pool. Returns whether jobs now run there.");
  m.def("shared_openmp_runtime", &shared_openmp_runtime,
        "The OpenMP runtime the kernels' jobs run on, or '' for cnnfast's own pool.");
  m.def(
      "thread_count_reads",
      [](int microseconds) {
        // For the tests: the thread count a kernel call sees at its start and again
        // `microseconds` later, with the GIL released in between as in every kernel.
        const bind::KernelCall call;
        const int first = get_num_threads();
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(microseconds);
        while (std::chrono::steady_clock::now() < until) {
        }
        return std::make_pair(first, get_num_threads());
      },
      py::arg("microseconds"));

  m.def("get_isa", [] { return std::string(isa_name(active_isa())); }, "The active SIMD path.");
  m.def(
      "set_isa", [](const std::string& name) { set_active_isa(parse_isa(name)); }, py::arg("name"),
      "Force a SIMD path ('generic' or 'avx2'); raises ValueError if the CPU lacks it.");
  m.def(
      "best_isa", [] { return std::string(isa_name(best_supported_isa())); },
      "The best SIMD path this CPU and build support.");
  m.def(
      "supported_isas",
      [] {
        std::vector<std::string> out;
        for (Isa isa : {Isa::generic, Isa::avx2})
          if (isa_supported(isa)) out.emplace_back(isa_name(isa));
        return out;
      },
      "Every SIMD path usable here, generic first.");
  m.def(
      "gemm_ukernel_names",
      [] {
        const Isa isa = active_isa();
        return std::make_pair(std::string(select_gemm_ukernel<float>(isa).name),
                              std::string(select_gemm_ukernel<double>(isa).name));
      },
      "The (float, double) GEMM microkernels the active ISA uses.");

  m.def("nonfinite_scans", &nonfinite_scans,
        "Whether conv2d keeps NaN / Inf patterns exact (on by default).");
  m.def("set_nonfinite_scans", &set_nonfinite_scans, py::arg("on"),
        "Turn conv2d's scans for non-finite values off or on (csrc/conv2d/conv2d.cpp). Off, the Winograd "
        "family may "
        "spread a NaN across a tile: for measuring what the scans cost only.");
  m.def(
      "get_conv_algorithm", [] { return std::string(conv_algorithm_name(conv_algorithm())); },
      "Which conv2d algorithm is forced: auto (none), im2col, winograd or direct.");
  m.def(
      "set_conv_algorithm",
      [](const std::string& name) {
        try {
          set_conv_algorithm(parse_conv_algorithm(name));
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(std::string("set_conv_algorithm: ") + e.what());
        }
      },
      py::arg("name"),
      "Force conv2d's algorithm wherever it applies, im2col elsewhere: 'im2col', 'winograd' / 'winograd4' "
      "(F(2x2) / F(4x4), 3x3 stride 1), 'expand' / 'expand4' (the same on strided, larger-kernel or grouped "
      "layers "
      "rewritten), 'direct' (stride 1), 'taps' (stride 1), or 'auto' (the measured rules in "
      "csrc/conv2d/conv2d_algorithm.cpp). Process-wide; for tests and benchmarks.");
  m.def(
      "fma_peak",
      [](double seconds, int repeats) {
        FmaPeak p;
        {
          const bind::KernelCall call;
          p = measure_fma_peak(seconds, repeats);
        }
        py::dict d;
        d["gflops"] = p.gflops;
        d["seconds"] = p.seconds;
        d["threads"] = p.threads;
        d["isa"] = std::string(p.isa);
        return d;
      },
      py::arg("seconds") = 0.2, py::arg("repeats") = 5,
      "Float32 FMA ceiling of the active SIMD path on all kernel threads (best of repeats).");
  m.def(
      "memory_stats",
      [] {
        const BlockCacheStats st = block_cache_stats();
        py::dict d;
        d["cached_bytes"] = st.cached_bytes;
        d["in_use_bytes"] = st.in_use_bytes;
        d["peak_in_use_bytes"] = st.peak_in_use_bytes;
        d["hits"] = st.hits;
        d["misses"] = st.misses;
        d["limit_bytes"] = block_cache_limit();
        return d;
      },
      "The output-array block cache: bytes kept, in use, peak in use, hits, misses, limit.");
  m.def("reset_peak_memory", &block_cache_reset_peak, "Start a new peak_in_use_bytes from now.");
  m.def("set_memory_cache_limit", &block_cache_set_limit, py::arg("bytes"),
        "Most bytes of freed output arrays to keep for reuse (0 keeps none).");
  m.def("empty_memory_cache", &block_cache_clear, "Free every kept block.");

  bind::bind_gemm(m);
  bind::bind_conv2d(m);
  bind::bind_pool2d(m);
  bind::bind_activation(m);
  bind::bind_softmax(m);
  bind::bind_dropout(m);
  bind::bind_augment(m);
  bind::bind_batch_norm(m);
  bind::bind_lrn(m);
  bind::bind_optim(m);
  bind::bind_cuda(m);
  bind::bind_dlpack(m);
}
