#include "conv2d/conv2d_transforms.h"

namespace cnnfast {

Conv2dShape conv2d_backward_problem(const Conv2dShape& s) {
  Conv2dShape t = s;
  t.C = s.K;
  t.K = s.C;
  t.H = s.P;
  t.W = s.Q;
  t.P = s.H;
  t.Q = s.W;
  const index_t reach_h = (s.R - 1) * s.p.dil_h, reach_w = (s.S - 1) * s.p.dil_w;
  t.p.pad_t = reach_h - s.p.pad_t;
  t.p.pad_b = reach_h - s.p.pad_b;
  t.p.pad_l = reach_w - s.p.pad_l;
  t.p.pad_r = reach_w - s.p.pad_r;
  return t;
}

template <class T>
void flip_transpose_filters(const Conv2dShape& s, const T* w, T* wt) {
  const index_t G = s.p.groups, Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  for (index_t g = 0; g < G; ++g)
    for (index_t k = 0; k < Kg; ++k)
      for (index_t c = 0; c < Cg; ++c) {
        const T* src = w + ((g * Kg + k) * Cg + c) * RS;
        T* dst = wt + ((g * Cg + c) * Kg + k) * RS;
        for (index_t i = 0; i < RS; ++i) dst[i] = src[RS - 1 - i];
      }
}

template void flip_transpose_filters<float>(const Conv2dShape&, const float*, float*);
template void flip_transpose_filters<double>(const Conv2dShape&, const double*, double*);

}  // namespace cnnfast
