#include "conv2d/conv2d.h"

#include "bindings/util.h"
#include "conv2d/conv2d_algorithm.h"

namespace cnnfast::bind {

namespace {
using Pair = std::array<index_t, 2>;
using Quad = std::array<index_t, 4>;

Conv2dParams params(Pair stride, Quad padding, Pair dilation, index_t groups) {
  return {stride[0],  stride[1],  dilation[0], dilation[1], padding[0],
          padding[1], padding[2], padding[3],  groups};
}

Conv2dShape shape_of_conv(const std::vector<index_t>& x, const std::vector<index_t>& w,
                          const Conv2dParams& p) {
  require(x.size() == 4, "conv2d: x must be 4-D (N, C, H, W), got " + shape_str(x));
  require(w.size() == 4, "conv2d: w must be 4-D (K, C/groups, R, S), got " + shape_str(w));
  return make_conv2d_shape(x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3], p);
}

// x (N,C,H,W), w (K,C/g,R,S), b (K) or None -> y (N,K,P,Q); ReLU fused when relu
template <class T>
py::array_t<T> forward(In<T> x, In<T> w, std::optional<In<T>> b, Pair stride, Quad padding, Pair dilation,
                       index_t groups, bool relu) {
  const Conv2dShape s = shape_of_conv(shape_of(x), shape_of(w), params(stride, padding, dilation, groups));
  if (b) require_shape("conv2d: b", *b, {s.K});
  auto y = empty<T>({s.N, s.K, s.P, s.Q});
  const T *px = x.data(), *pw = w.data(), *pb = b ? b->data() : nullptr;
  T* py_ = y.mutable_data();
  const KernelCall call;
  conv2d_forward<T>(s, px, pw, ConvEpilogue<T>{pb, relu}, py_);
  return y;
}

// w (K,C/g,R,S), dy (N,K,P,Q), x_shape -> dx (N,C,H,W)
template <class T>
py::array_t<T> backward_input(In<T> w, In<T> dy, std::vector<index_t> x_shape, Pair stride, Quad padding,
                              Pair dilation, index_t groups) {
  const Conv2dShape s = shape_of_conv(x_shape, shape_of(w), params(stride, padding, dilation, groups));
  require_shape("conv2d_backward_input: dy", dy, {s.N, s.K, s.P, s.Q});
  auto dx = empty<T>(x_shape);
  const T *pw = w.data(), *pdy = dy.data();
  T* pdx = dx.mutable_data();
  const KernelCall call;
  conv2d_backward_input<T>(s, pw, pdy, pdx);
  return dx;
}

// x (N,C,H,W), dy (N,K,P,Q), w_shape -> dw (K,C/g,R,S)
template <class T>
py::array_t<T> backward_weight(In<T> x, In<T> dy, std::vector<index_t> w_shape, Pair stride, Quad padding,
                               Pair dilation, index_t groups) {
  const Conv2dShape s = shape_of_conv(shape_of(x), w_shape, params(stride, padding, dilation, groups));
  require_shape("conv2d_backward_weight: dy", dy, {s.N, s.K, s.P, s.Q});
  auto dw = empty<T>(w_shape);
  const T *px = x.data(), *pdy = dy.data();
  T* pdw = dw.mutable_data();
  const KernelCall call;
  conv2d_backward_weight<T>(s, px, pdy, pdw);
  return dw;
}
}  // namespace

void bind_conv2d(py::module_& m) {
  m.def(
      "conv2d_algorithm",
      [](std::vector<index_t> x_shape, std::vector<index_t> w_shape, Pair stride, Quad padding, Pair dilation,
         index_t groups, const std::string& pass) {
        const Conv2dShape s = shape_of_conv(x_shape, w_shape, params(stride, padding, dilation, groups));
        ConvPass which;
        if (pass == "forward")
          which = ConvPass::forward;
        else if (pass == "backward_input")
          which = ConvPass::backward_input;
        else if (pass == "backward_weight")
          which = ConvPass::backward_weight;
        else
          throw std::invalid_argument(
              "conv2d_algorithm: pass must be forward, backward_input or "
              "backward_weight, got '" +
              pass + "'");
        return std::string(conv_algorithm_name(conv2d_algorithm(s, which)));
      },
      py::arg("x_shape"), py::arg("w_shape"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
      py::arg("groups"), py::arg("pass_"), "Which algorithm a pass of conv2d uses for this layer.");
  CNNFAST_DEF_FLOATING(m, "conv2d_forward", forward, py::arg("x"), py::arg("w"), py::arg("b"),
                       py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"),
                       py::arg("relu") = false);
  CNNFAST_DEF_FLOATING(m, "conv2d_backward_input", backward_input, py::arg("w"), py::arg("dy"),
                       py::arg("x_shape"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
                       py::arg("groups"));
  CNNFAST_DEF_FLOATING(m, "conv2d_backward_weight", backward_weight, py::arg("x"), py::arg("dy"),
                       py::arg("w_shape"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
                       py::arg("groups"));
}

}  // namespace cnnfast::bind
