// Which instruction-set path the kernels use. Read once from the CPU; the
// environment variable CNNFAST_ISA (generic | avx2) or set_active_isa() can
// force a lower path so that tests cover every path on one machine.
#pragma once

#include <string>

namespace cnnfast {

enum class Isa : int { generic = 0, avx2 = 1 };

const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);  // throws std::invalid_argument
Isa best_supported_isa();                // what this CPU (and this build) can run
bool isa_supported(Isa isa);
Isa active_isa();
void set_active_isa(Isa isa);  // throws std::invalid_argument if unsupported

}  // namespace cnnfast
