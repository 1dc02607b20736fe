"""The CUDA backend behind cnnfast.ops: functions with the names and arguments of
the `_C` kernels the ops call, taking and returning DeviceArrays. The ops have
already validated everything (shapes, dtypes, devices); this layer allocates the
outputs and passes device addresses and sizes to the backend module
(csrc/bindings/cuda_backend.h -> csrc/cuda/backend.cuh).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _C
from .._args import output_size
from .array import DeviceArray, full
from .backends import backend


def _out(shape: Any, like: DeviceArray) -> DeviceArray:
    return DeviceArray(shape, like.dtype)


def _addr(a: DeviceArray | None) -> int:
    return 0 if a is None else a.ptr


# --- GEMM and convolution ---------------------------------------------------------------
def matmul(a: DeviceArray, b: DeviceArray, trans_a: bool, trans_b: bool) -> DeviceArray:
    M, K = (a.shape[1], a.shape[0]) if trans_a else a.shape
    N = b.shape[0] if trans_b else b.shape[1]
    c = _out((M, N), a)
    backend().matmul(a.dtype.name, M, N, K, a.ptr, trans_a, b.ptr, trans_b, c.ptr)
    return c


def _conv_shape(
    x_shape: Any, w_shape: Any, stride: Any, pad: Any, dilation: Any, groups: int
) -> Any:
    N, C, H, W = x_shape
    K, Cg, R, S = w_shape
    P = output_size(H, R, stride[0], dilation[0], pad[0], pad[1])
    Q = output_size(W, S, stride[1], dilation[1], pad[2], pad[3])
    return _C.CudaConvShape(
        (
            N,
            C,
            H,
            W,
            K,
            R,
            S,
            P,
            Q,
            stride[0],
            stride[1],
            pad[0],
            pad[2],
            *dilation,
            groups,
            Cg,
            K // groups,
        )
    ), (N, K, P, Q)


def conv2d_forward(
    x: DeviceArray, w: DeviceArray, b: DeviceArray | None, *kargs: Any
) -> DeviceArray:
    s, y_shape = _conv_shape(x.shape, w.shape, *kargs)
    y = _out(y_shape, x)
    backend().conv2d_forward(x.dtype.name, s, x.ptr, w.ptr, _addr(b), y.ptr)
    return y


def conv2d_backward_input(
    w: DeviceArray, dy: DeviceArray, x_shape: Any, *kargs: Any
) -> DeviceArray:
    s, _ = _conv_shape(x_shape, w.shape, *kargs)
    dx = _out(x_shape, dy)
    backend().conv2d_backward_input(dy.dtype.name, s, w.ptr, dy.ptr, dx.ptr)
    return dx


def conv2d_backward_weight(
    x: DeviceArray, dy: DeviceArray, w_shape: Any, *kargs: Any
) -> DeviceArray:
    s, _ = _conv_shape(x.shape, w_shape, *kargs)
    dw = _out(w_shape, x)
    backend().conv2d_backward_weight(x.dtype.name, s, x.ptr, dy.ptr, dw.ptr)
    return dw


# --- element-wise -------------------------------------------------------------------------
def _activation(name: str, a: DeviceArray, b: DeviceArray | None = None) -> DeviceArray:
    out = _out(a.shape, a)
    backend().activation(
        a.dtype.name, getattr(_C.CudaActivation, name), a.size, a.ptr, _addr(b), out.ptr
    )
    return out


def relu_forward(x: DeviceArray) -> DeviceArray:
    return _activation("relu", x)


def relu_backward(x: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _activation("relu_backward", x, dy)


def tanh_forward(x: DeviceArray) -> DeviceArray:
    return _activation("tanh", x)


def tanh_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _activation("tanh_backward", y, dy)


def sigmoid_forward(x: DeviceArray) -> DeviceArray:
    return _activation("sigmoid", x)


def sigmoid_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return _activation("sigmoid_backward", y, dy)


def _channels(x: DeviceArray) -> tuple[int, int, int]:
    """(N, C, L) of an (N, C, ...) array."""
    N, C = x.shape[:2]
    return N, C, int(np.prod(x.shape[2:], dtype=np.int64))


def bias_add(x: DeviceArray, b: DeviceArray) -> DeviceArray:
    _, C, L = _channels(x)
    y = _out(x.shape, x)
    backend().bias_add(x.dtype.name, x.size, C, L, x.ptr, b.ptr, y.ptr)
    return y


def bias_add_backward(dy: DeviceArray) -> DeviceArray:
    N, C, L = _channels(dy)
    db = _out((C,), dy)
    backend().channel_sum(dy.dtype.name, N, C, L, dy.ptr, 1.0, db.ptr)
    return db


def dropout_forward(x: DeviceArray, p: float, seed: int) -> DeviceArray:
    y = _out(x.shape, x)
    backend().dropout(x.dtype.name, x.size, x.ptr, p, seed, y.ptr)
    return y


# --- pooling --------------------------------------------------------------------------------
def _pool_shape(x_shape: Any, kernel: Any, stride: Any, pad: Any, ceil_mode: bool) -> Any:
    N, C, H, W = x_shape
    P = output_size(H, kernel[0], stride[0], 1, pad[0], pad[1], ceil_mode)
    Q = output_size(W, kernel[1], stride[1], 1, pad[2], pad[3], ceil_mode)
    return _C.CudaPoolShape((N, C, H, W, P, Q, *kernel, *stride, *pad)), (N, C, P, Q)


def max_pool2d_forward_argmax(
    x: DeviceArray, kernel: Any, stride: Any, pad: Any, ceil_mode: bool, relu: bool
) -> tuple[DeviceArray, DeviceArray]:
    s, y_shape = _pool_shape(x.shape, kernel, stride, pad, ceil_mode)
    y, codes = _out(y_shape, x), DeviceArray(y_shape, np.uint8)
    backend().max_pool(x.dtype.name, s, x.ptr, relu, y.ptr, codes.ptr)
    return y, codes


def max_pool2d_forward(
    x: DeviceArray, kernel: Any, stride: Any, pad: Any, ceil_mode: bool, return_indices: bool
) -> DeviceArray:
    if return_indices:
        raise NotImplementedError(
            "max_pool2d: return_indices is not supported on cuda (use max_pool2d_argmax)"
        )
    s, y_shape = _pool_shape(x.shape, kernel, stride, pad, ceil_mode)
    y = _out(y_shape, x)
    backend().max_pool(x.dtype.name, s, x.ptr, False, y.ptr, 0)
    return y


def max_pool2d_backward_argmax(
    codes: DeviceArray,
    dy: DeviceArray,
    x_shape: Any,
    kernel: Any,
    stride: Any,
    pad: Any,
    ceil_mode: bool,
) -> DeviceArray:
    s, _ = _pool_shape(x_shape, kernel, stride, pad, ceil_mode)
    dx = _out(x_shape, dy)
    backend().max_pool_backward(dy.dtype.name, s, codes.ptr, dy.ptr, dx.ptr)
    return dx


def max_pool2d_backward(
    x: DeviceArray, dy: DeviceArray, kernel: Any, stride: Any, pad: Any, ceil_mode: bool
) -> DeviceArray:
    _, codes = max_pool2d_forward_argmax(x, kernel, stride, pad, ceil_mode, False)
    return max_pool2d_backward_argmax(codes, dy, x.shape, kernel, stride, pad, ceil_mode)


def avg_pool2d_forward(
    x: DeviceArray, kernel: Any, stride: Any, pad: Any, ceil_mode: bool, count_include_pad: bool
) -> DeviceArray:
    s, y_shape = _pool_shape(x.shape, kernel, stride, pad, ceil_mode)
    y = _out(y_shape, x)
    backend().avg_pool(x.dtype.name, s, count_include_pad, x.ptr, y.ptr)
    return y


def avg_pool2d_backward(
    x: DeviceArray,
    dy: DeviceArray,
    kernel: Any,
    stride: Any,
    pad: Any,
    ceil_mode: bool,
    count_include_pad: bool,
) -> DeviceArray:
    s, _ = _pool_shape(x.shape, kernel, stride, pad, ceil_mode)
    dx = _out(x.shape, dy)
    backend().avg_pool_backward(dy.dtype.name, s, count_include_pad, dy.ptr, dx.ptr)
    return dx


def global_avg_pool2d_forward(x: DeviceArray) -> DeviceArray:
    N, C, H, W = x.shape
    y = _out((N, C, 1, 1), x)
    backend().channel_sum(x.dtype.name, 1, N * C, H * W, x.ptr, 1.0 / (H * W), y.ptr)
    return y


def global_avg_pool2d_backward(dy: DeviceArray, x_shape: Any) -> DeviceArray:
    dx = _out(x_shape, dy)
    backend().global_avg_pool_backward(
        dy.dtype.name, dx.size, x_shape[2] * x_shape[3], dy.ptr, dx.ptr
    )
    return dx


# --- softmax and cross-entropy (last axis) ---------------------------------------------------
def _rows(x: DeviceArray) -> tuple[int, int]:
    L = x.shape[-1] if x.ndim else 1
    return (x.size // L if L else 0), L


def softmax_forward(x: DeviceArray, log: bool = False) -> DeviceArray:
    y = _out(x.shape, x)
    backend().softmax(x.dtype.name, *_rows(x), log, x.ptr, y.ptr)
    return y


def log_softmax_forward(x: DeviceArray) -> DeviceArray:
    return softmax_forward(x, log=True)


def softmax_backward(y: DeviceArray, dy: DeviceArray, log: bool = False) -> DeviceArray:
    dx = _out(y.shape, y)
    backend().softmax_backward(y.dtype.name, *_rows(y), log, y.ptr, dy.ptr, dx.ptr)
    return dx


def log_softmax_backward(y: DeviceArray, dy: DeviceArray) -> DeviceArray:
    return softmax_backward(y, dy, log=True)


REDUCTION_CODES = {"mean": 0, "sum": 1, "none": 2}


def _targets(target: DeviceArray, soft: bool) -> tuple[int, int]:
    return (0, target.ptr) if soft else (target.ptr, 0)


def cross_entropy(
    logits: DeviceArray, target: DeviceArray, soft: bool, reduction: str
) -> DeviceArray:
    N, C = logits.shape
    losses = _out((N,), logits)
    backend().cross_entropy(
        logits.dtype.name, N, C, logits.ptr, *_targets(target, soft), losses.ptr
    )
    if reduction == "none":
        return losses
    if N == 0:  # the mean of nothing, as on the host
        return full((), np.nan if reduction == "mean" else 0.0, logits.dtype)
    total = _out((), logits)
    scale = 1.0 / N if reduction == "mean" else 1.0
    backend().channel_sum(logits.dtype.name, 1, 1, N, losses.ptr, scale, total.ptr)
    return total


def cross_entropy_backward(
    logits: DeviceArray, target: DeviceArray, soft: bool, reduction: str, dloss: Any
) -> DeviceArray:
    N, C = logits.shape
    if not isinstance(dloss, DeviceArray):  # a number from the caller, not a step's gradient
        dloss = full(
            () if reduction != "none" else (N,),
            float(np.asarray(dloss).reshape(-1)[0]),
            logits.dtype,
        )
    grad = _out((N, C), logits)
    backend().cross_entropy_backward(
        logits.dtype.name,
        N,
        C,
        REDUCTION_CODES[reduction],
        logits.ptr,
        *_targets(target, soft),
        dloss.ptr,
        grad.ptr,
    )
    return grad


# --- optimizer steps (in place) ----------------------------------------------------------------
def sgd_update(
    p: DeviceArray,
    g: DeviceArray,
    velocity: DeviceArray | None,
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
    first: bool,
) -> None:
    backend().sgd(
        p.dtype.name,
        p.size,
        p.ptr,
        _addr(velocity),
        g.ptr,
        lr,
        momentum,
        weight_decay,
        nesterov,
        first,
    )


def adam_update(
    p: DeviceArray,
    g: DeviceArray,
    m: DeviceArray,
    v: DeviceArray,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int,
) -> None:
    backend().adam(
        p.dtype.name, p.size, p.ptr, m.ptr, v.ptr, g.ptr, lr, beta1, beta2, eps, weight_decay, step
    )


def rmsprop_update(
    p: DeviceArray,
    g: DeviceArray,
    avg_sq_grad: DeviceArray,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    backend().rmsprop(
        p.dtype.name, p.size, p.ptr, avg_sq_grad.ptr, g.ptr, lr, rho, eps, weight_decay
    )


def adadelta_update(
    p: DeviceArray,
    g: DeviceArray,
    avg_sq_grad: DeviceArray,
    avg_sq_delta: DeviceArray,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    backend().adadelta(
        p.dtype.name,
        p.size,
        p.ptr,
        avg_sq_grad.ptr,
        avg_sq_delta.ptr,
        g.ptr,
        lr,
        rho,
        eps,
        weight_decay,
    )


# --- batch norm ------------------------------------------------------------------------------
def batch_norm_train_forward(
    x: DeviceArray, w: DeviceArray | None, b: DeviceArray | None, eps: float
) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
    N, C, L = _channels(x)
    mean, invstd, y = _out((C,), x), _out((C,), x), _out(x.shape, x)
    backend().batch_norm_stats(x.dtype.name, N, C, L, x.ptr, eps, mean.ptr, invstd.ptr)
    backend().batch_norm_apply(
        x.dtype.name, N, C, L, x.ptr, mean.ptr, invstd.ptr, False, eps, _addr(w), _addr(b), y.ptr
    )
    return y, mean, invstd


def batch_norm_inference_forward(
    x: DeviceArray,
    mean: DeviceArray,
    var: DeviceArray,
    w: DeviceArray | None,
    b: DeviceArray | None,
    eps: float,
) -> DeviceArray:
    N, C, L = _channels(x)
    y = _out(x.shape, x)
    backend().batch_norm_apply(
        x.dtype.name, N, C, L, x.ptr, mean.ptr, var.ptr, True, eps, _addr(w), _addr(b), y.ptr
    )
    return y


def batch_norm_backward(
    x: DeviceArray, dy: DeviceArray, mean: DeviceArray, invstd: DeviceArray, w: DeviceArray | None
) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
    N, C, L = _channels(x)
    dx, dw, db = _out(x.shape, x), _out((C,), x), _out((C,), x)
    backend().batch_norm_backward(
        x.dtype.name, N, C, L, x.ptr, dy.ptr, mean.ptr, invstd.ptr, _addr(w), dx.ptr, dw.ptr, db.ptr
    )
    return dx, dw, db


def batch_norm_running_stats(
    running_mean: DeviceArray | None,
    running_var: DeviceArray | None,
    mean: DeviceArray,
    invstd: DeviceArray,
    count: int,
    momentum: float,
    eps: float,
) -> None:
    backend().batch_norm_running_stats(
        mean.dtype.name,
        mean.size,
        mean.ptr,
        invstd.ptr,
        eps,
        count,
        momentum,
        _addr(running_mean),
        _addr(running_var),
    )


# --- layout --------------------------------------------------------------------------------------
def _rows_and_width(shape: tuple[int, ...], axis: int) -> tuple[int, int]:
    """Rows (the product of the axes before `axis`) and row width (the rest)."""
    return int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))


def concat(arrays: list[DeviceArray], axis: int) -> DeviceArray:
    """np.concatenate on the device: each input fills its slice of every output row."""
    first = arrays[0]
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = _out(tuple(shape), first)
    rows, out_width = _rows_and_width(out.shape, axis)
    offset = 0
    for a in arrays:
        _, width = _rows_and_width(a.shape, axis)
        backend().copy_rows(a.dtype.name, rows, width, a.ptr, width, 0, out.ptr, out_width, offset)
        offset += width
    return out


def split(array: DeviceArray, sizes: list[int], axis: int) -> list[DeviceArray]:
    """The inverse of concat: pieces of `sizes` along `axis`."""
    rows, in_width = _rows_and_width(array.shape, axis)
    pieces, offset = [], 0
    for n in sizes:
        shape = list(array.shape)
        shape[axis] = n
        piece = _out(tuple(shape), array)
        _, width = _rows_and_width(piece.shape, axis)
        backend().copy_rows(
            array.dtype.name, rows, width, array.ptr, in_width, offset, piece.ptr, width, 0
        )
        pieces.append(piece)
        offset += width
    return pieces


def broadcast_scalar(s: DeviceArray, shape: tuple[int, ...], scale: float = 1.0) -> DeviceArray:
    """An array of `shape` filled with the device scalar s (times scale), no host round trip."""
    out = _out(shape, s)
    backend().broadcast_scalar(s.dtype.name, out.size, s.ptr, scale, out.ptr)
    return out


# --- local response normalization ---------------------------------------------------------------
def lrn_forward(x: DeviceArray, size: int, alpha: float, beta: float, k: float) -> DeviceArray:
    N, C, H, W = x.shape
    y = _out(x.shape, x)
    backend().lrn(x.dtype.name, N, C, H * W, size, alpha, beta, k, x.ptr, y.ptr)
    return y


def lrn_backward(
    x: DeviceArray, dy: DeviceArray, size: int, alpha: float, beta: float, k: float
) -> DeviceArray:
    N, C, H, W = x.shape
    dx = _out(x.shape, x)
    backend().lrn_backward(x.dtype.name, N, C, H * W, size, alpha, beta, k, x.ptr, dy.ptr, dx.ptr)
    return dx
