"""Element-wise ops: per-channel bias, ReLU, tanh, sigmoid (forward and backward).

Kernel: csrc/activation.cpp. Reference: cnnfast/reference/activation.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _C
from .._args import as_float_array, require_same_dtype, require_shape


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
    return _C.bias_add(x, b)


def bias_add_backward(dy: Any) -> np.ndarray:
    """db (C,): dy (N, C, ...) summed over every axis but 1."""
    return _C.bias_add_backward(_channels_first("bias_add_backward", "dy", dy))


def relu(x: Any) -> np.ndarray:
    return _C.relu_forward(as_float_array("relu", "x", x))


def relu_backward(x: Any, dy: Any) -> np.ndarray:
    """dx = dy where x > 0 (NaN passes dy on), 0 elsewhere."""
    return _C.relu_backward(*_pair("relu_backward", "x", x, "dy", dy))


def tanh(x: Any) -> np.ndarray:
    return _C.tanh_forward(as_float_array("tanh", "x", x))


def tanh_backward(y: Any, dy: Any) -> np.ndarray:
    """From the forward output y: dx = dy * (1 - y^2)."""
    return _C.tanh_backward(*_pair("tanh_backward", "y", y, "dy", dy))


def sigmoid(x: Any) -> np.ndarray:
    return _C.sigmoid_forward(as_float_array("sigmoid", "x", x))


def sigmoid_backward(y: Any, dy: Any) -> np.ndarray:
    """From the forward output y: dx = dy * y * (1 - y)."""
    return _C.sigmoid_backward(*_pair("sigmoid_backward", "y", y, "dy", dy))
