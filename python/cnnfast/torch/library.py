"""cnnfast's kernels as PyTorch operators: `torch.ops.cnnfast.*`.

Each operator is declared with a schema (`torch.library.define`), given a CPU kernel
that hands the tensors' memory to `cnnfast.ops` without copying (a CPU tensor and the
NumPy array of `.numpy()` share storage, and `torch.from_numpy` wraps the result) and
a fake kernel that computes only the output's shape and dtype, which is what
`torch.compile` and `torch.export` trace with. (`define` + `impl` rather than the
`custom_op` decorator: the decorator costs ~40 us more per call in eager mode,
pytorch/pytorch#139500.)

Autograd is not registered on the operators: `cnnfast.torch.autograd` wraps each
forward and its backward operator in a `torch.autograd.Function`, which costs less per
call than an Autograd kernel (~15 us less, measured) and keeps inference calls free of
it. An operator without one would be backpropagated through by PyTorch's fallback,
with a warning and a wrong gradient, so the forward kernels refuse to run where a
gradient would be asked of them (grad mode on and an input that requires grad; inside
a Function's forward grad mode is off): a direct call (`torch.ops.cnnfast.conv2d(...)`,
or a `torch.jit.trace` graph recorded under no_grad) is for inference only, and says
so.

Arguments are cnnfast's resolved forms, as `cnnfast.torch.functional` prepares them:
padding is (top, bottom, left, right), stride and kernel are pairs. The kernels
validate again (cnnfast.ops does), so a direct call with bad arguments is an error
naming them, not a crash.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .. import ops
from .._args import output_size

_LIB = torch.library.Library("cnnfast", "DEF")

_DEFINITIONS = {
    "conv2d": "(Tensor x, Tensor w, Tensor? b, int[2] stride, int[4] padding, "
    "int[2] dilation, int groups) -> Tensor",
    "conv2d_backward": "(Tensor dy, Tensor x, Tensor w, int[2] stride, int[4] padding, "
    "int[2] dilation, int groups, bool[3] output_mask) -> (Tensor, Tensor, Tensor)",
    "max_pool2d": "(Tensor x, int[2] kernel, int[2] stride, int[4] padding, bool ceil_mode) "
    "-> Tensor",
    "max_pool2d_backward": "(Tensor dy, Tensor x, int[2] kernel, int[2] stride, "
    "int[4] padding, bool ceil_mode) -> Tensor",
    "max_pool2d_argmax": "(Tensor x, int[2] kernel, int[2] stride, int[4] padding, "
    "bool ceil_mode, bool relu) -> (Tensor, Tensor)",
    "max_pool2d_backward_argmax": "(Tensor dy, Tensor argmax, SymInt[4] x_shape, "
    "int[2] kernel, int[2] stride, int[4] padding, bool ceil_mode) -> Tensor",
    "avg_pool2d": "(Tensor x, int[2] kernel, int[2] stride, int[4] padding, bool ceil_mode, "
    "bool count_include_pad) -> Tensor",
    "avg_pool2d_backward": "(Tensor dy, Tensor x, int[2] kernel, int[2] stride, "
    "int[4] padding, bool ceil_mode, bool count_include_pad) -> Tensor",
    "dropout": "(Tensor x, float p, int seed) -> Tensor",
    "local_response_norm": "(Tensor x, int size, float alpha, float beta, float k) -> Tensor",
    "local_response_norm_backward": "(Tensor dy, Tensor x, int size, float alpha, float beta, "
    "float k) -> Tensor",
}
for _name, _schema in _DEFINITIONS.items():
    _LIB.define(_name + _schema)


def _np(t: torch.Tensor) -> np.ndarray:
    """The tensor's memory as an array (shared, not copied, for a CPU tensor)."""
    return t.detach().numpy()


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


def _forward_only(name: str, *tensors: torch.Tensor | None) -> None:
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        raise RuntimeError(
            f"torch.ops.cnnfast.{name} has no autograd of its own: call "
            f"cnnfast.torch.{name} (or a module from cnnfast.torch.accelerate) for "
            "gradients, or call the operator under torch.no_grad()"
        )


# Each operator's CPU kernel, by name (`kernels`, below, calls them without the
# dispatcher).
CPU_KERNELS: dict[str, Any] = {}


def _kernel(name: str):  # type: ignore[no-untyped-def]
    def register(fn):  # type: ignore[no-untyped-def]
        _LIB.impl(name, fn, "CPU")
        CPU_KERNELS[name] = fn
        return fn

    return register


def _fake(name: str):  # type: ignore[no-untyped-def]
    return torch.library.register_fake(f"cnnfast::{name}", lib=_LIB)


def _pooled_shape(
    x_shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool,
    channels: int | None = None,
) -> list[int]:
    """(N, C or channels, P, Q) of a window sliding over x_shape's plane."""
    N, C, H, W = x_shape
    P = output_size(H, kernel[0], stride[0], dilation[0], padding[0], padding[1], ceil_mode)
    Q = output_size(W, kernel[1], stride[1], dilation[1], padding[2], padding[3], ceil_mode)
    return [N, C if channels is None else channels, P, Q]


# conv2d ----------------------------------------------------------------------------


@_kernel("conv2d")
def _conv2d(x, w, b, stride, padding, dilation, groups):  # type: ignore[no-untyped-def]
    _forward_only("conv2d", x, w, b)
    bias = None if b is None else _np(b)
    args = (tuple(stride), tuple(padding), tuple(dilation), groups)
    return _t(ops.conv2d(_np(x), _np(w), bias, *args))


@_fake("conv2d")
def _conv2d_fake(x, w, b, stride, padding, dilation, groups):  # type: ignore[no-untyped-def]
    K, _, R, S = w.shape
    return x.new_empty(_pooled_shape(x.shape, (R, S), stride, padding, dilation, False, K))


@_kernel("conv2d_backward")
def _conv2d_backward(dy, x, w, stride, padding, dilation, groups, output_mask):  # type: ignore[no-untyped-def]
    grads = ops.conv2d_backward(
        _np(x), _np(w), _np(dy), tuple(stride), tuple(padding), tuple(dilation), groups,
        need_input_grad=output_mask[0], need_weight_grad=output_mask[1],
        need_bias_grad=output_mask[2],
    )  # fmt: skip
    return tuple(x.new_empty(0) if g is None else _t(g) for g in grads)


@_fake("conv2d_backward")
def _conv2d_backward_fake(dy, x, w, stride, padding, dilation, groups, output_mask):  # type: ignore[no-untyped-def]
    shapes = (x.shape, w.shape, (w.shape[0],))
    return tuple(x.new_empty(shape if need else (0,)) for shape, need in zip(shapes, output_mask))


# pooling ---------------------------------------------------------------------------


@_kernel("max_pool2d")
def _max_pool2d(x, kernel, stride, padding, ceil_mode):  # type: ignore[no-untyped-def]
    _forward_only("max_pool2d", x)
    return _t(ops.max_pool2d(_np(x), tuple(kernel), tuple(stride), tuple(padding), ceil_mode))


@_fake("max_pool2d")
def _max_pool2d_fake(x, kernel, stride, padding, ceil_mode):  # type: ignore[no-untyped-def]
    return x.new_empty(_pooled_shape(x.shape, kernel, stride, padding, (1, 1), ceil_mode))


@_kernel("max_pool2d_backward")
def _max_pool2d_backward(dy, x, kernel, stride, padding, ceil_mode):  # type: ignore[no-untyped-def]
    return _t(
        ops.max_pool2d_backward(
            _np(x), _np(dy), tuple(kernel), tuple(stride), tuple(padding), ceil_mode
        )
    )


@_fake("max_pool2d_backward")
def _max_pool2d_backward_fake(dy, x, kernel, stride, padding, ceil_mode):  # type: ignore[no-untyped-def]
    return torch.empty_like(x)


@_kernel("max_pool2d_argmax")
def _max_pool2d_argmax(x, kernel, stride, padding, ceil_mode, relu):  # type: ignore[no-untyped-def]
    _forward_only("max_pool2d", x)
    y, argmax = ops.max_pool2d_argmax(
        _np(x), tuple(kernel), tuple(stride), tuple(padding), ceil_mode, relu
    )
    return _t(y), _t(argmax)


@_fake("max_pool2d_argmax")
def _max_pool2d_argmax_fake(x, kernel, stride, padding, ceil_mode, relu):  # type: ignore[no-untyped-def]
    shape = _pooled_shape(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    return x.new_empty(shape), x.new_empty(shape, dtype=torch.uint8)


@_kernel("max_pool2d_backward_argmax")
def _max_pool2d_backward_argmax(dy, argmax, x_shape, kernel, stride, padding, ceil_mode):  # type: ignore[no-untyped-def]
    return _t(
        ops.max_pool2d_backward_argmax(
            _np(argmax), _np(dy), tuple(x_shape), tuple(kernel), tuple(stride),
            tuple(padding), ceil_mode,
        )
    )  # fmt: skip


@_fake("max_pool2d_backward_argmax")
def _max_pool2d_backward_argmax_fake(dy, argmax, x_shape, kernel, stride, padding, ceil_mode):  # type: ignore[no-untyped-def]
    return dy.new_empty(x_shape)


@_kernel("avg_pool2d")
def _avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad):  # type: ignore[no-untyped-def]
    _forward_only("avg_pool2d", x)
    return _t(
        ops.avg_pool2d(
            _np(x), tuple(kernel), tuple(stride), tuple(padding), ceil_mode, count_include_pad
        )
    )


@_fake("avg_pool2d")
def _avg_pool2d_fake(x, kernel, stride, padding, ceil_mode, count_include_pad):  # type: ignore[no-untyped-def]
    return x.new_empty(_pooled_shape(x.shape, kernel, stride, padding, (1, 1), ceil_mode))


@_kernel("avg_pool2d_backward")
def _avg_pool2d_backward(dy, x, kernel, stride, padding, ceil_mode, count_include_pad):  # type: ignore[no-untyped-def]
    return _t(
        ops.avg_pool2d_backward(
            _np(x), _np(dy), tuple(kernel), tuple(stride), tuple(padding), ceil_mode,
            count_include_pad,
        )
    )  # fmt: skip


@_fake("avg_pool2d_backward")
def _avg_pool2d_backward_fake(dy, x, kernel, stride, padding, ceil_mode, count_include_pad):  # type: ignore[no-untyped-def]
    return torch.empty_like(x)


# dropout: the mask is a function of (seed, element index), so the backward is the
# same op on dy ------------------------------------------------------------------------


@_kernel("dropout")
def _dropout(x, p, seed):  # type: ignore[no-untyped-def]
    _forward_only("dropout", x)
    return _t(ops.dropout(_np(x), p, seed))


@_fake("dropout")
def _dropout_fake(x, p, seed):  # type: ignore[no-untyped-def]
    return torch.empty_like(x)


# local response normalisation --------------------------------------------------------


@_kernel("local_response_norm")
def _lrn(x, size, alpha, beta, k):  # type: ignore[no-untyped-def]
    _forward_only("local_response_norm", x)
    return _t(ops.local_response_norm(_np(x), size, alpha, beta, k))


@_fake("local_response_norm")
def _lrn_fake(x, size, alpha, beta, k):  # type: ignore[no-untyped-def]
    return torch.empty_like(x)


@_kernel("local_response_norm_backward")
def _lrn_backward(dy, x, size, alpha, beta, k):  # type: ignore[no-untyped-def]
    return _t(ops.local_response_norm_backward(_np(x), _np(dy), size, alpha, beta, k))


@_fake("local_response_norm_backward")
def _lrn_backward_fake(dy, x, size, alpha, beta, k):  # type: ignore[no-untyped-def]
    return torch.empty_like(x)


def _eager_or_traced(name: str) -> Any:
    op, kernel = getattr(torch.ops.cnnfast, name), CPU_KERNELS[name]

    def call(*args: Any) -> Any:
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return op(*args)
        return kernel(*args)

    call.__name__ = name
    return call


# `kernels.NAME(...)`: torch.ops.cnnfast.NAME where a tracer must see the operator
# (torch.compile, torch.jit.trace), else its CPU kernel called directly, which saves
# the dispatcher's ~20-30 us a call. Only for arguments cnnfast.torch has already
# checked (CPU tensors of one float dtype). (Built here, once: torch.compile traces
# the calls, and must find plain functions.)
kernels = types.SimpleNamespace(**{name: _eager_or_traced(name) for name in _DEFINITIONS})
