// Local response normalization across channels (AlexNet's "NORM"), with
// PyTorch's convention: for channel c of x (N,C,H,W),
//   scale_c = k + alpha/size * sum_{j in win(c)} x_j^2,   y_c = x_c * scale_c^-beta,
// win(c) = [c - size/2, c + (size-1)/2] clipped to [0, C).
// (AlexNet's paper writes alpha without the 1/size: pass alpha*size for it.)
#pragma once

#include "common.h"

namespace cnnfast {

template <class T>
void lrn_forward(index_t N, index_t C, index_t HW, index_t size, double alpha, double beta, double k,
                 const T* x, T* y);

//   dx_c = dy_c * scale_c^-beta
//        - 2*alpha*beta/size * x_c * sum_{j : c in win(j)} dy_j * x_j * scale_j^(-beta-1)
template <class T>
void lrn_backward(index_t N, index_t C, index_t HW, index_t size, double alpha, double beta, double k,
                  const T* x, const T* dy, T* dx);

}  // namespace cnnfast
