// The three passes of 2-D convolution (NCHW, filters K x C/groups x R x S) as
// implicit GEMMs on gemm.cuh's tiled kernel: the accessors below gather the im2col
// matrix (or its transpose) from the input while the tile is staged in shared
// memory, so no column buffer exists; padding reads as zero. One GEMM per group
// (blockIdx.z). Each output element is written once, by one thread: no atomics,
// and the same result on every run. All index arithmetic is 64-bit (the shape's
// fields are, and make_conv2d_shape bounds every array by 2^59 elements).
#pragma once

#include "cuda/compat.h"
#include "cuda/gemm.cuh"
#include "cuda/shapes.h"

namespace cnnfast {
namespace CNNFAST_CUDA_NS {

using cuda::ConvShape;
using cuda::index;

// Forward: Y_g (Kg x N*P*Q) = W_g (Kg x Cg*R*S) @ im2col(X)_g (Cg*R*S x N*P*Q).
template <class T>
struct ForwardFilters {  // A(m, k) = w[g*Kg + m][k]
  const T* w;
  ConvShape s;
  CNNFAST_DEVICE T operator()(index g, index m, index k) const {
    return w[(g * s.Kg + m) * (s.Cg * s.R * s.S) + k];
  }
};
template <class T>
struct ForwardColumns {  // B(k = (c, r, s), j = (n, p, q)) = x[n][g*Cg + c][p*sh - pt + r*dh][q*sw - pl +
                         // s*dw]
  const T* x;
  ConvShape s;
  CNNFAST_DEVICE T operator()(index g, index k, index j) const {
    const index rs = s.R * s.S, c = k / rs, r = k % rs / s.S, t = k % s.S;
    const index pq = s.P * s.Q, n = j / pq, p = j % pq / s.Q, q = j % s.Q;
    const index h = p * s.sh - s.pt + r * s.dh, w = q * s.sw - s.pl + t * s.dw;
    if (h < 0 || h >= s.H || w < 0 || w >= s.W) return T(0);
    return x[((n * s.C + g * s.Cg + c) * s.H + h) * s.W + w];
  }
};
template <class T>
struct ForwardStore {  // y[n][g*Kg + m][p][q] = acc + bias
  T* y;
  const T* bias;  // may be null
  ConvShape s;
  CNNFAST_DEVICE void operator()(index g, index m, index j, T acc) const {
    const index pq = s.P * s.Q, n = j / pq, k = g * s.Kg + m;
    y[(n * s.K + k) * pq + j % pq] = bias ? acc + bias[k] : acc;
  }
};

// Backward-input: dX_g (Cg x N*H*W) = W_g^T (Cg x Kg*R*S) @ D_g (Kg*R*S x N*H*W), where
// D((k, r, s), (n, h, w)) = dy[n][k][p][q] for the output (p, q) whose window puts
// tap (r, s) on (h, w), or 0 when there is none (stride gaps, edges).
template <class T>
struct BackwardInputFilters {  // A(c, (k, r, s)) = w[g*Kg + k][c][r][s]
  const T* w;
  ConvShape s;
  CNNFAST_DEVICE T operator()(index g, index c, index kk) const {
    const index rs = s.R * s.S, k = kk / rs;
    return w[((g * s.Kg + k) * s.Cg + c) * rs + kk % rs];
  }
};
template <class T>
struct BackwardInputColumns {
  const T* dy;
  ConvShape s;
  CNNFAST_DEVICE T operator()(index g, index kk, index j) const {
    const index rs = s.R * s.S, k = kk / rs, r = kk % rs / s.S, t = kk % s.S;
    const index hw = s.H * s.W, n = j / hw, h = j % hw / s.W, w = j % s.W;
    const index ph = h + s.pt - r * s.dh, qw = w + s.pl - t * s.dw;
    if (ph < 0 || qw < 0 || ph % s.sh != 0 || qw % s.sw != 0) return T(0);
    const index p = ph / s.sh, q = qw / s.sw;
    if (p >= s.P || q >= s.Q) return T(0);
    return dy[((n * s.K + g * s.Kg + k) * s.P + p) * s.Q + q];
  }
};
template <class T>
struct BackwardInputStore {  // dx[n][g*Cg + c][h][w] = acc
  T* dx;
  ConvShape s;
  CNNFAST_DEVICE void operator()(index g, index c, index j, T acc) const {
    const index hw = s.H * s.W, n = j / hw;
    dx[(n * s.C + g * s.Cg + c) * hw + j % hw] = acc;
  }
};

// Backward-weight: dW_g (Kg x Cg*R*S) = dY_g (Kg x N*P*Q) @ im2col(X)_g^T (N*P*Q x Cg*R*S).
template <class T>
struct BackwardWeightGradients {  // A(k, (n, p, q)) = dy[n][g*Kg + k][p][q]
  const T* dy;
  ConvShape s;
  CNNFAST_DEVICE T operator()(index g, index k, index j) const {
    const index pq = s.P * s.Q, n = j / pq;
    return dy[(n * s.K + g * s.Kg + k) * pq + j % pq];
  }
};
template <class T>
struct BackwardWeightColumns {  // B((n, p, q), (c, r, s)) = im2col(X)((c, r, s), (n, p, q))
  ForwardColumns<T> columns;
  CNNFAST_DEVICE T operator()(index g, index j, index k) const { return columns(g, k, j); }
};
template <class T>
struct BackwardWeightStore {  // dw[g*Kg + k][(c, r, s)] = acc
  T* dw;
  ConvShape s;
  CNNFAST_DEVICE void operator()(index g, index k, index crs, T acc) const {
    dw[(g * s.Kg + k) * (s.Cg * s.R * s.S) + crs] = acc;
  }
};

template <class T>
void launch_conv2d_forward(const ConvShape& s, const T* x, const T* w, const T* bias, T* y) {
  launch_gemm<T>(s.K / s.groups, s.N * s.P * s.Q, s.C / s.groups * s.R * s.S, s.groups,
                 ForwardFilters<T>{w, s}, ForwardColumns<T>{x, s}, ForwardStore<T>{y, bias, s});
}

template <class T>
void launch_conv2d_backward_input(const ConvShape& s, const T* w, const T* dy, T* dx) {
  launch_gemm<T>(s.C / s.groups, s.N * s.H * s.W, s.K / s.groups * s.R * s.S, s.groups,
                 BackwardInputFilters<T>{w, s}, BackwardInputColumns<T>{dy, s}, BackwardInputStore<T>{dx, s});
}

template <class T>
void launch_conv2d_backward_weight(const ConvShape& s, const T* x, const T* dy, T* dw) {
  launch_gemm<T>(s.K / s.groups, s.C / s.groups * s.R * s.S, s.N * s.P * s.Q, s.groups,
                 BackwardWeightGradients<T>{dy, s}, BackwardWeightColumns<T>{ForwardColumns<T>{x, s}},
                 BackwardWeightStore<T>{dw, s});
}

}  // namespace CNNFAST_CUDA_NS
}  // namespace cnnfast
