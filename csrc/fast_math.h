// float32 exp and tanh written so the compiler can vectorise loops over them
// (no calls, no branches: both sides of a choice are computed and one is
// selected), unlike libm's scalar expf/tanhf. The polynomials are Cephes's
// (S. L. Moshier, expf.c and tanhf.c): both within 2 ulp over their ranges;
// checks.py holds tanh to 4 ulp against float64 on every test run.
//
// The functions are `static`: each file gets its own copy, so the copy in an
// AVX2-compiled file (csrc/avx2/) can never be the one the linker keeps for
// the generic path. Without FMA contraction (ISO C++ mode) both copies give
// the same bits.
#pragma once

#include <cstdint>
#include <cstring>

namespace cnnfast {

// exp(x) for x in [0, 88]: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6
// polynomial, 2^n put into the exponent bits.
static inline float exp_nonneg_f32(float x) {
  const float t = x * 1.44269504088896341f + 0.5f;  // x / ln2 + 1/2 > 0: truncation floors
  const std::int32_t n = static_cast<std::int32_t>(t);
  const float fn = static_cast<float>(n);
  float r = x - fn * 0.693359375f;  // ln2 in two parts: the product with n stays exact
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  const std::int32_t bits = (n + 127) << 23;  // 2^n, n in [0, 127]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// tanh(x): an odd polynomial for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1) with
// |x| clamped at 10 (tanh rounds to 1 in float from about 9.1), the sign
// restored. tanh(+-0) returns x itself (the polynomial would turn -0 into +0);
// NaN stays NaN (every comparison with it is false, so the polynomial side is
// chosen and propagates it). Written as selects, which GCC vectorises (a
// std::copysign or bit-cast version of the sign handling stopped it).
static inline float tanh_f32(float x) {
  const float a = x < 0.0f ? -x : x;
  const float z = x * x;
  float p = -5.70498872745E-3f;
  p = p * z + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  const float small = x == 0.0f ? x : p * z * x + x;
  const float e = exp_nonneg_f32(2.0f * (a < 10.0f ? a : 10.0f));
  const float big = 1.0f - 2.0f / (e + 1.0f);
  const float signed_big = x < 0.0f ? -big : big;
  return a >= 0.625f ? signed_big : small;
}

}  // namespace cnnfast
