// Plain descriptions of a convolution and a pooling layer, shared by the bindings
// and by both builds of the CUDA kernels (device and emulated).
#pragma once

namespace cnnfast {
namespace cuda {

struct ConvShape {
  int N, C, H, W;      // input
  int K, R, S;         // filters: K outputs, C / groups inputs each, R x S taps
  int P, Q;            // output
  int sh, sw, pt, pl;  // stride; padding top and left (bottom and right only shape P, Q)
  int dh, dw;          // dilation
  int groups, Cg, Kg;  // groups; input and output channels per group
};

struct PoolShape {
  int N, C, H, W, P, Q;
  int kh, kw, sh, sw;
  int pt, pb, pl, pr;  // padding top, bottom, left, right
};

// The element-wise activations and their gradients: out = f(a) or f'(a, b).
enum class Activation { relu, relu_backward, tanh, tanh_backward, sigmoid, sigmoid_backward };

}  // namespace cuda
}  // namespace cnnfast
