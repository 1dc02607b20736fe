"""Per-channel bias, ReLU, tanh and sigmoid: csrc/activation/activation.cpp (bindings
csrc/bindings/activation.cpp)."""

from ..._C import (
    bias_add,
    bias_add_backward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

__all__ = [
    "bias_add",
    "bias_add_backward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]
