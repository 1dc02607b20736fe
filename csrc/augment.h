// Data augmentation's resampling: each image of a batch (N, H, W, C), channels last,
// sampled bilinearly at an affine map of its output pixel coordinates:
//   (r', c') = clamp(M_i @ (r, c, 1)) to [0, H-1] x [0, W-1]  ('nearest' fill)
//   y[i, r, c, :] = bilinear(x[i], r', c')
// In double, in the order the reference (cnnfast.reference.affine_sample) computes
// it, so the two agree bit for bit: products and sums stay separate (this file is
// compiled without FMA), and the result is rounded to T once.
#pragma once

#include "common.h"

namespace cnnfast {

// x and y (n, h, w, c); matrices (n, 2, 3), row-major, finite.
template <class T>
void affine_sample_bilinear(index_t n, index_t h, index_t w, index_t c, const T* x, const double* matrices,
                            T* y);

}  // namespace cnnfast
