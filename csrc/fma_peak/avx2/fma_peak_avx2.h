#pragma once

namespace cnnfast {

// Runs `iterations` x 12 x 8 FMAs (2 FLOP each); returns a value that depends on
// all of them so the loop cannot be removed. AVX2+FMA CPUs only.
float fma_chains_avx2(long iterations, float seed);

}  // namespace cnnfast
