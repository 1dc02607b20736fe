"""Convolution, its three passes: csrc/conv2d/conv2d.cpp (dispatch to im2col + GEMM,
Winograd, direct or per-tap GEMM, chosen by csrc/conv2d/conv2d_algorithm.cpp)."""

from ..._C import conv2d_backward_input, conv2d_backward_weight, conv2d_forward

__all__ = ["conv2d_backward_input", "conv2d_backward_weight", "conv2d_forward"]
