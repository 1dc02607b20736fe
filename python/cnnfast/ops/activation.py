"""Element-wise ops: per-channel bias, ReLU, tanh, sigmoid (forward and backward).

Files:
  kernels    csrc/activation/activation.cpp, csrc/activation/avx2/activation_avx2.cpp,
             csrc/fast_math.h (tanh); CUDA csrc/cuda/elementwise.cuh
  binding    csrc/bindings/activation.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/activation.py, python/cnnfast/backend/cuda/activation.py
  reference  python/cnnfast/reference/activation.py
  tests      tests/test_activation.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/tiny.py (relu), python/cnnfast/bench/nets.py (in each step)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import as_float_array, require_same_dtype, require_shape
from ..backend import for_arrays


def _pair(op: str, a_name: str, a: Any, b_name: str, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two same-shape, same-dtype float arrays (saved value and upstream gradient)."""
    a = as_float_array(op, a_name, a)
    b = as_float_array(op, b_name, b)
    require_same_dtype(op, **{a_name: a, b_name: b})
    require_shape(op, b_name, b, a.shape, f"the shape of {a_name}")
    return a, b


def _channels_first(op: str, name: str, x: Any) -> np.ndarray:
    x = as_float_array(op, name, x)
    if x.ndim < 2:
        raise ValueError(f"{op}: {name} must be at least 2-D (N, C, ...), got shape {x.shape}")
    return x


def bias_add(x: Any, b: Any) -> np.ndarray:
    """x (N, C, ...) + b (C,) broadcast over every axis but the channel axis 1."""
    x = _channels_first("bias_add", "x", x)
    b = as_float_array("bias_add", "b", b)
    require_same_dtype("bias_add", x=x, b=b)
    require_shape("bias_add", "b", b, (x.shape[1],), f"one per channel of x {x.shape}")
    return for_arrays("bias_add", x=x, b=b).bias_add(x, b)


def bias_add_backward(dy: Any) -> np.ndarray:
    """db (C,): dy (N, C, ...) summed over every axis but 1."""
    dy = _channels_first("bias_add_backward", "dy", dy)
    return for_arrays("bias_add_backward", dy=dy).bias_add_backward(dy)


def relu(x: Any) -> np.ndarray:
    x = as_float_array("relu", "x", x)
    return for_arrays("relu", x=x).relu_forward(x)


def relu_backward(x: Any, dy: Any) -> np.ndarray:
    """dx = dy where x > 0 (NaN passes dy on), 0 elsewhere."""
    x, dy = _pair("relu_backward", "x", x, "dy", dy)
    return for_arrays("relu_backward", x=x, dy=dy).relu_backward(x, dy)


def tanh(x: Any) -> np.ndarray:
    x = as_float_array("tanh", "x", x)
    return for_arrays("tanh", x=x).tanh_forward(x)


def tanh_backward(y: Any, dy: Any) -> np.ndarray:
    """From the forward output y: dx = dy * (1 - y^2)."""
    y, dy = _pair("tanh_backward", "y", y, "dy", dy)
    return for_arrays("tanh_backward", y=y, dy=dy).tanh_backward(y, dy)


def sigmoid(x: Any) -> np.ndarray:
    x = as_float_array("sigmoid", "x", x)
    return for_arrays("sigmoid", x=x).sigmoid_forward(x)


def sigmoid_backward(y: Any, dy: Any) -> np.ndarray:
    """From the forward output y: dx = dy * y * (1 - y)."""
    y, dy = _pair("sigmoid_backward", "y", y, "dy", dy)
    return for_arrays("sigmoid_backward", y=y, dy=dy).sigmoid_backward(y, dy)
