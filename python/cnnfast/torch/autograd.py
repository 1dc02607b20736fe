"""Autograd for `torch.ops.cnnfast.*`: one `torch.autograd.Function` per forward
operator, whose backward calls the matching backward operator.

What each saves is what its backward kernel reads (conv2d: x and w; max pooling: the
one-byte argmax per output; the rest: x), plus the inputs that double backward needs:
with `create_graph=True` the backward runs with grad mode on, and then it recomputes
the forward with PyTorch's own kernels (`twins`) and differentiates that, so second
derivatives are PyTorch's, never a wrong one. Saved tensors are references, not copies.
(Each forward takes ctx itself, without a separate setup_context: with one, every
Function.apply binds its arguments through inspect.signature, ~60 us a call. So
torch.func transforms (vmap, jacrev) refuse these Functions, with PyTorch's error.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import library, twins

ops = library.kernels  # (torch.ops.cnnfast.*, without the dispatcher when eager)


def _vjp_through_torch(
    fn: Callable[..., torch.Tensor], inputs: tuple[Any, ...], args: tuple[Any, ...], dy: Any
) -> tuple[Any, ...]:
    """The input gradients of fn(*inputs, *args) for dy, as a graph (create_graph)."""
    wanted = [t for t in inputs if isinstance(t, torch.Tensor) and t.requires_grad]
    with torch.enable_grad():
        y = fn(*inputs, *args)
    grads = iter(torch.autograd.grad(y, wanted, dy, create_graph=True, allow_unused=True))
    return tuple(
        next(grads) if isinstance(t, torch.Tensor) and t.requires_grad else None for t in inputs
    )


class Conv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x, w, b, stride, padding, dilation, groups):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x, w, b)
        ctx.args = (stride, padding, dilation, groups)
        return ops.conv2d(x, w, b, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx: Any, dy):  # type: ignore[no-untyped-def]
        x, w, b = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True
            grads = _vjp_through_torch(twins.conv2d, (x, w, b), ctx.args, dy)
        else:
            need = ctx.needs_input_grad
            mask = [need[0], need[1], b is not None and need[2]]
            dx, dw, db = ops.conv2d_backward(dy.contiguous(), x, w, *ctx.args, mask)
            grads = tuple(g if m else None for g, m in zip((dx, dw, db), mask))
        return (*grads, None, None, None, None)


class MaxPool2dArgmax(torch.autograd.Function):
    """max_pool2d (of relu(x) with relu) saving each window's argmax byte."""

    @staticmethod
    def forward(ctx: Any, x, kernel, stride, padding, ceil_mode, relu):  # type: ignore[no-untyped-def]
        y, argmax = ops.max_pool2d_argmax(x, kernel, stride, padding, ceil_mode, relu)
        ctx.save_for_backward(x, argmax)
        ctx.args, ctx.relu = (kernel, stride, padding, ceil_mode), relu
        return y

    @staticmethod
    def backward(ctx: Any, dy):  # type: ignore[no-untyped-def]
        x, argmax = ctx.saved_tensors
        if torch.is_grad_enabled():
            (dx,) = _vjp_through_torch(twins.max_pool2d, (x,), (*ctx.args, ctx.relu), dy)
        else:
            dx = ops.max_pool2d_backward_argmax(dy.contiguous(), argmax, x.shape, *ctx.args)
        return dx, None, None, None, None, None


def _one_input(
    name: str, forward: Callable[..., Any], backward: Callable[..., Any], twin: Callable[..., Any]
) -> type[torch.autograd.Function]:
    """The Function of an op whose backward reads only its input x and its arguments:
    forward(x, *args), backward(dy, x, *args); twin is PyTorch's same op (double
    backward)."""

    def fwd(ctx: Any, x: Any, *args: Any) -> Any:
        ctx.save_for_backward(x)
        ctx.args = args
        return forward(x, *args)

    def bwd(ctx: Any, dy: Any) -> Any:
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():
            (dx,) = _vjp_through_torch(twin, (x,), ctx.args, dy)
        else:
            dx = backward(dy.contiguous(), x, *ctx.args)
        return (dx, *(None,) * len(ctx.args))

    attrs = {"forward": staticmethod(fwd), "backward": staticmethod(bwd), "__module__": __name__}
    return type(name, (torch.autograd.Function,), attrs)


# max_pool2d saving x (windows too large for the argmax byte)
MaxPool2d = _one_input("MaxPool2d", ops.max_pool2d, ops.max_pool2d_backward, twins.max_pool2d)
AvgPool2d = _one_input("AvgPool2d", ops.avg_pool2d, ops.avg_pool2d_backward, twins.avg_pool2d)
LocalResponseNorm = _one_input(
    "LocalResponseNorm",
    ops.local_response_norm,
    ops.local_response_norm_backward,
    twins.local_response_norm,
)


class Dropout(torch.autograd.Function):
    """Inverted dropout with cnnfast's counter-based mask: the backward regenerates
    the mask from the seed (dropout of dy), and, being linear, is differentiable
    again through this same Function."""

    @staticmethod
    def forward(ctx: Any, x, p, seed):  # type: ignore[no-untyped-def]
        ctx.args = (p, seed)
        return ops.dropout(x, p, seed)

    @staticmethod
    def backward(ctx: Any, dy):  # type: ignore[no-untyped-def]
        if torch.is_grad_enabled():
            return Dropout.apply(dy, *ctx.args), None, None
        return ops.dropout(dy.contiguous(), *ctx.args), None, None
