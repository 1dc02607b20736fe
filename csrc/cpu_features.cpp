#include "cpu_features.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace cnnfast {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return "avx2";
    case Isa::generic:
      break;
  }
  return "generic";
}

Isa parse_isa(const std::string& name) {
  if (name == "generic") return Isa::generic;
  if (name == "avx2") return Isa::avx2;
  throw std::invalid_argument("unknown ISA '" + name + "' (expected 'generic' or 'avx2')");
}

Isa best_supported_isa() {
#if defined(CNNFAST_HAVE_AVX2_KERNELS) && (defined(__GNUC__) || defined(__clang__))
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  if (avx2) return Isa::avx2;
#endif
  return Isa::generic;
}

bool isa_supported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(best_supported_isa()); }

namespace {
Isa initial_isa() {
  const Isa best = best_supported_isa();
  if (const char* env = std::getenv("CNNFAST_ISA")) {
    try {
      const Isa wanted = parse_isa(env);
      if (isa_supported(wanted)) return wanted;
      std::fprintf(stderr, "cnnfast: CNNFAST_ISA=%s is not supported on this CPU; using %s\n", env,
                   isa_name(best));
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "cnnfast: ignoring CNNFAST_ISA: %s\n", e.what());
    }
  }
  return best;
}

std::atomic<int>& active() {
  static std::atomic<int> isa{static_cast<int>(initial_isa())};
  return isa;
}
// Built at load, not on first use (best_supported_isa too): csrc/README.md, "Built at load".
[[maybe_unused]] const bool kIsaBuiltAtLoad = (active(), true);
}  // namespace

Isa active_isa() { return static_cast<Isa>(active().load(std::memory_order_relaxed)); }

void set_active_isa(Isa isa) {
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("ISA '") + isa_name(isa) + "' is not supported on this CPU");
  active().store(static_cast<int>(isa), std::memory_order_relaxed);
}

}  // namespace cnnfast
