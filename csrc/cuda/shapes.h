// Plain descriptions of a convolution and a pooling layer, shared by the bindings
// and by both builds of the CUDA kernels (device and emulated). The bindings fill
// them from make_conv2d_shape / make_pool2d_shape (common.h), the validation the
// CPU kernels use, so every field is checked and every product the kernels form
// fits in 64 bits (each array has at most kMaxElements = 2^59 elements). The
// kernels index with these 64-bit fields throughout.
#pragma once

#include <cstdint>

namespace cnnfast {
namespace cuda {

using index = std::int64_t;

struct ConvShape {
  index N, C, H, W;      // input
  index K, R, S;         // filters: K outputs, C / groups inputs each, R x S taps
  index P, Q;            // output
  index sh, sw, pt, pl;  // stride; padding top and left (bottom and right only shape P, Q)
  index dh, dw;          // dilation
  index groups, Cg, Kg;  // groups; input and output channels per group

  // Element counts of x, w and y (host side: the bindings check each address against
  // them; the shape comes from make_conv2d_shape, so none of them overflows).
  index x_elements() const { return N * C * H * W; }
  index w_elements() const { return K * Cg * R * S; }
  index y_elements() const { return N * K * P * Q; }
};

struct PoolShape {
  index N, C, H, W, P, Q;
  index kh, kw, sh, sw;
  index pt, pb, pl, pr;  // padding top, bottom, left, right

  // Element counts of x and of y (and of the byte codes), as ConvShape's.
  index x_elements() const { return N * C * H * W; }
  index y_elements() const { return N * C * P * Q; }
};

// The element-wise activations and their gradients: out = f(a) or f'(a, b).
enum class Activation { relu, relu_backward, tanh, tanh_backward, sigmoid, sigmoid_backward };

}  // namespace cuda
}  // namespace cnnfast
