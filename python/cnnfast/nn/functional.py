"""Differentiable ops on Tensors, each a thin wrapper over `cnnfast.ops`: the forward
calls the kernel, the backward calls the kernel's backward. Arguments as in cnnfast.ops
(and torch.nn.functional)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._args import Padding
from ..random import next_seed
from ..tensor import Tensor, as_tensor, matmul, records_graph


def conv2d(
    x: Tensor,
    w: Tensor,
    b: Tensor | None = None,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    relu: bool = False,
) -> Tensor:
    """conv2d(x, w) + b; with relu=True, ReLU of it in the same pass (its gradient from
    the output: y > 0 exactly where the sum was, NaN passing as in relu_backward)."""
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = ops.conv2d(x.data, w.data, None if b is None else b.data, **kw, relu=relu)

    def backward(g: np.ndarray) -> tuple[Any, ...]:
        if relu:
            g = ops.relu_backward(y, g)
        dx, dw, db = ops.conv2d_backward(
            x.data,
            w.data,
            g,
            **kw,
            need_input_grad=x.requires_grad,
            need_weight_grad=w.requires_grad,
            need_bias_grad=b is not None and b.requires_grad,
        )
        return (dx, dw) if b is None else (dx, dw, db)

    return Tensor._from_op(y, (x, w) if b is None else (x, w, b), backward)


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """x (N, in) @ w (out, in)^T + b (out): PyTorch's layout for the weight."""
    y = matmul(x, w, trans_b=True)
    return y if b is None else bias_add(y, b)


def bias_add(x: Tensor, b: Tensor) -> Tensor:
    """x (N, C, ...) + b (C,)."""
    return Tensor._from_op(
        ops.bias_add(x.data, b.data),
        (x, b),
        lambda g: (g, ops.bias_add_backward(g) if b.requires_grad else None),
    )


def max_pool2d(
    x: Tensor, kernel_size: Any, stride: Any = None, padding: Padding = 0, ceil_mode: bool = False
) -> Tensor:
    return _max_pool2d(x, kernel_size, stride, padding, ceil_mode, with_relu=False)


def relu_max_pool2d(
    x: Tensor, kernel_size: Any, stride: Any = None, padding: Padding = 0, ceil_mode: bool = False
) -> Tensor:
    """max_pool2d(relu(x)) in one pass over x, with the gradient of both. Exact: max
    and ReLU commute, so this is relu(max_pool2d(x)), and ReLU's zero gradient where
    x <= 0 is the same either way. nn.Sequential uses it for ReLU then MaxPool2d."""
    return _max_pool2d(x, kernel_size, stride, padding, ceil_mode, with_relu=True)


def _max_pool2d(
    x: Tensor, kernel_size: Any, stride: Any, padding: Padding, ceil_mode: bool, with_relu: bool
) -> Tensor:
    kw = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if not ops.fits_argmax_window(kernel_size):  # too big for byte codes: keep x
        return _max_pool2d_saving_x(relu(x) if with_relu else x, **kw)
    # The backward needs only the one-byte argmax of each window, not x.
    y, argmax = ops.max_pool2d_argmax(x.data, **kw, relu=with_relu)
    shape = x.shape
    return Tensor._from_op(
        y, (x,), lambda g: (ops.max_pool2d_backward_argmax(argmax, g, shape, **kw),)
    )


def _max_pool2d_saving_x(x: Tensor, **kw: Any) -> Tensor:
    return Tensor._from_op(
        ops.max_pool2d(x.data, **kw), (x,), lambda g: (ops.max_pool2d_backward(x.data, g, **kw),)
    )


def avg_pool2d(
    x: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    kw = dict(
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    return Tensor._from_op(
        ops.avg_pool2d(x.data, **kw), (x,), lambda g: (ops.avg_pool2d_backward(x.data, g, **kw),)
    )


def global_avg_pool2d(x: Tensor) -> Tensor:
    return Tensor._from_op(
        ops.global_avg_pool2d(x.data), (x,), lambda g: (ops.global_avg_pool2d_backward(x.data, g),)
    )


def relu(x: Tensor) -> Tensor:
    return Tensor._from_op(ops.relu(x.data), (x,), lambda g: (ops.relu_backward(x.data, g),))


def tanh(x: Tensor) -> Tensor:
    y = ops.tanh(x.data)
    return Tensor._from_op(y, (x,), lambda g: (ops.tanh_backward(y, g),))


def sigmoid(x: Tensor) -> Tensor:
    y = ops.sigmoid(x.data)
    return Tensor._from_op(y, (x,), lambda g: (ops.sigmoid_backward(y, g),))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    y = ops.softmax(x.data, axis)
    return Tensor._from_op(y, (x,), lambda g: (ops.softmax_backward(y, g, axis),))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    y = ops.log_softmax(x.data, axis)
    return Tensor._from_op(y, (x,), lambda g: (ops.log_softmax_backward(y, g, axis),))


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of logits (N, classes) against class indices (N,) or
    probabilities (N, classes); a scalar for 'mean'/'sum'."""
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    y = ops.cross_entropy(logits.data, t, reduction)
    if logits.device == "cpu":
        y = np.asarray(y, dtype=logits.dtype)  # a NumPy scalar for 'mean' / 'sum'; on cuda, stays
    return Tensor._from_op(
        y, (logits,), lambda g: (ops.cross_entropy_backward(logits.data, t, reduction, g),)
    )


def binary_cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Sigmoid and binary cross-entropy of one logit per sample (N, 1), fused (see
    cnnfast.ops.binary_cross_entropy), against 0/1 labels or probabilities."""
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    y = ops.binary_cross_entropy(logits.data, t, reduction)
    if logits.device == "cpu":
        y = np.asarray(y, dtype=logits.dtype)
    return Tensor._from_op(
        y,
        (logits,),
        lambda g: (ops.binary_cross_entropy_backward(logits.data, t, reduction, g),),
    )


def dropout(x: Tensor, p: float = 0.5, training: bool = True, seed: int | None = None) -> Tensor:
    """Inverted dropout; the mask comes from `seed` (default: the next seed of
    cnnfast.random, so cnnfast.manual_seed fixes every mask)."""
    if not training or p == 0:
        return x
    s = next_seed() if seed is None else seed
    return Tensor._from_op(
        ops.dropout(x.data, p, s), (x,), lambda g: (ops.dropout_backward(g, p, s),)
    )


def batch_norm(
    x: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch statistics in training (updating the running ones in place), running ones otherwise."""
    w = None if weight is None else weight.data
    b = None if bias is None else bias.data
    params = tuple(t for t in (weight, bias) if t is not None)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: inference needs running_mean and running_var")
        y = ops.batch_norm_inference(x.data, running_mean, running_var, w, b, eps)
        if not records_graph((x, *params)):
            return Tensor(y)  # (inference: no backward, so no copy of the statistics)

        # The statistics as this forward used them (a later training step updates them
        # in place); the backward is left to ops, which inference never runs.
        mean, var = running_mean.copy(), running_var.copy()

        def backward_eval(g: np.ndarray) -> list[Any]:
            dx, dw, db = ops.batch_norm_inference_backward(x.data, g, mean, var, w, eps)
            return [dx] + ([dw] if weight is not None else []) + ([db] if bias is not None else [])

        return Tensor._from_op(y, (x, *params), backward_eval)
    y, mean, invstd = ops.batch_norm_train(x.data, w, b, eps)
    ops.update_running_stats(
        running_mean, running_var, mean, invstd, x.size // max(x.shape[1], 1), momentum, eps
    )

    def backward(g: np.ndarray) -> list[Any]:
        dx, dw, db = ops.batch_norm_backward(x.data, g, mean, invstd, w)
        return [dx] + ([dw] if weight is not None else []) + ([db] if bias is not None else [])

    return Tensor._from_op(y, (x, *params), backward)


def local_response_norm(
    x: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    y = ops.local_response_norm(x.data, size, alpha, beta, k)
    return Tensor._from_op(
        y, (x,), lambda g: (ops.local_response_norm_backward(x.data, g, size, alpha, beta, k),)
    )


def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
    return x.flatten(start_dim)


__all__ = [
    "as_tensor",
    "avg_pool2d",
    "batch_norm",
    "bias_add",
    "conv2d",
    "cross_entropy",
    "dropout",
    "flatten",
    "global_avg_pool2d",
    "linear",
    "local_response_norm",
    "log_softmax",
    "max_pool2d",
    "relu",
    "relu_max_pool2d",
    "sigmoid",
    "softmax",
    "tanh",
]
