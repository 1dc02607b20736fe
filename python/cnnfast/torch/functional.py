"""`torch.nn.functional`'s convolution, pooling, LRN and dropout on cnnfast's kernels,
with the same signatures, for tensors in and out.

Each function runs cnnfast's kernel when it can and PyTorch's own otherwise, so a call
is always what `torch.nn.functional` would compute. cnnfast's kernel runs for CPU
tensors of one dtype, float32 or float64, in the default contiguous (NCHW) layout,
batched (4-D), with arguments cnnfast supports. Anything else — another device,
another dtype, channels_last or other strides, unbatched input, pooling dilation,
`return_indices`, `divisor_override`, in-place dropout, arguments cnnfast refuses —
runs PyTorch's kernel, is counted in `fallbacks()`, and warns once per reason
(`FallbackWarning`).

Where a gradient is needed, each call goes through its `torch.autograd.Function`
(`autograd.py`); under `torch.no_grad()` or inference mode, straight to the operator,
saving nothing. So `torch.jit.trace` under no_grad records `cnnfast::*` nodes (an
inference graph; run with gradients, it raises, library.py), and with gradients
records each Function as a Python op (trainable, not serialisable).
`conv2d_explicit` and `max_pool2d_explicit` take cnnfast's resolved arguments
(asymmetric padding: fusion.py folds a ConstantPad2d into them).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from . import autograd, library, twins

ops = library.kernels  # (torch.ops.cnnfast.*, without the dispatcher when eager)
_FLOATS = (torch.float32, torch.float64)


class FallbackWarning(UserWarning):
    """A call ran PyTorch's kernel instead of cnnfast's (once per op and reason)."""


_fallbacks: Counter[str] = Counter()


def fallbacks() -> dict[str, int]:
    """How many calls ran PyTorch's kernel, by 'op: reason', since the last reset."""
    return dict(_fallbacks)


def reset_fallbacks() -> None:
    _fallbacks.clear()


def _fall_back(op: str, reason: str) -> None:
    if torch.compiler.is_compiling():  # (decided once, at trace time)
        return
    key = f"{op}: {reason}"
    if key not in _fallbacks:
        warnings.warn(
            f"cnnfast.torch.{op} ran PyTorch's kernel: {reason}", FallbackWarning, stacklevel=3
        )
    _fallbacks[key] += 1


def _unsupported(*tensors: torch.Tensor | None, batched_nchw: bool = True) -> str | None:
    """Why cnnfast's kernel cannot take these tensors (None: it can); batched_nchw:
    the first must be 4-D."""
    x = tensors[0]
    assert x is not None
    for t in tensors:
        if t is None:
            continue
        if t.device.type != "cpu":
            return f"a tensor on {t.device}"
        if t.dtype != x.dtype:
            return f"mixed dtypes {x.dtype} and {t.dtype}"
        if t.dtype not in _FLOATS:
            return f"dtype {t.dtype} (cnnfast runs float32 and float64)"
        if not t.is_contiguous():
            layout = (
                "channels_last"
                if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)
                else "non-contiguous"
            )
            return f"a {layout} tensor (cnnfast runs contiguous NCHW; call .contiguous())"
    if batched_nchw and x.dim() != 4:
        return f"{x.dim()}-D input {tuple(x.shape)} (cnnfast runs batched 4-D NCHW)"
    return None


def _needs_grad(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _pair(value: Any) -> tuple[int, int] | None:
    """torch's int-or-pair argument as a pair (None: not a form cnnfast takes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) == 1:
            value = (value[0], value[0])
        if len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return (value[0], value[1])
    return None


def _conv_padding(
    padding: Any, weight_hw: Sequence[int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """torch's conv padding as (top, bottom, left, right); None where torch decides."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same" and stride == (1, 1):
            # torch's 'same': total d*(k-1), the odd one at the bottom/right
            pads = []
            for k, d in zip(weight_hw, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return (pads[0], pads[1], pads[2], pads[3])
        return None  # (torch's own error: 'same' with a stride, an unknown string)
    p = _pair(padding)
    return None if p is None else (p[0], p[0], p[1], p[1])


def conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> torch.Tensor:
    """F.conv2d on cnnfast's convolution kernels."""
    reason = _unsupported(input, weight, bias)
    s, d = _pair(stride), _pair(dilation)
    if reason is None and (s is None or d is None):
        reason = f"stride {stride!r} or dilation {dilation!r} in a form cnnfast does not take"
    pad = None if reason else _conv_padding(padding, weight.shape[2:], s, d)  # type: ignore[arg-type]
    if reason is None and pad is None:
        reason = f"padding {padding!r} with stride {stride!r}"
    if reason is None and weight.dim() != 4:
        reason = f"{weight.dim()}-D weight"
    args = None if reason else (list(s), list(pad), list(d), int(groups))  # type: ignore[arg-type]
    return _conv2d(
        input, weight, bias, reason, args,
        lambda: F.conv2d(input, weight, bias, stride, padding, dilation, groups),
    )  # fmt: skip


def conv2d_explicit(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: list[int],
    padding: list[int],
    dilation: list[int],
    groups: int,
) -> torch.Tensor:
    """conv2d in cnnfast's resolved arguments: stride and dilation pairs, padding
    (top, bottom, left, right), which may be asymmetric (fusion.py folds a
    ConstantPad2d into it)."""
    return _conv2d(
        input, weight, bias, _unsupported(input, weight, bias),
        (stride, padding, dilation, groups),
        lambda: twins.conv2d(input, weight, bias, stride, padding, dilation, groups),
    )  # fmt: skip


def _conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    reason: str | None,
    args: tuple[Any, ...] | None,
    torch_kernel: Callable[[], torch.Tensor],
) -> torch.Tensor:
    """cnnfast's convolution with the resolved args, or (where reason says why not,
    or cnnfast refuses them) PyTorch's."""
    if reason is None:
        try:
            if not _needs_grad(input, weight, bias):
                return ops.conv2d(input, weight, bias, *args)  # type: ignore[misc]
            return autograd.Conv2d.apply(input, weight, bias, *args)  # type: ignore[misc]
        except (ValueError, TypeError) as e:  # cnnfast refused: torch decides (or raises)
            reason = f"cnnfast refused the arguments ({e})"
    _fall_back("conv2d", reason)
    return torch_kernel()


def _pool_args(
    op: str, input: torch.Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any
) -> tuple[list[int], list[int], list[int]] | str:
    """(kernel, stride, (top, bottom, left, right)), or why cnnfast cannot pool so."""
    reason = _unsupported(input)
    if reason:
        return reason
    k = _pair(kernel_size)
    no_stride = stride is None or (isinstance(stride, Sequence) and len(stride) == 0)
    s = k if no_stride else _pair(stride)
    p = _pair(padding)
    if k is None or s is None or p is None:
        return "kernel_size, stride or padding in a form cnnfast does not take"
    if _pair(dilation) != (1, 1):
        return f"dilation {dilation!r} (cnnfast pools without dilation)"
    return [k[0], k[1]], [s[0], s[1]], [p[0], p[0], p[1], p[1]]


def max_pool2d(
    input: torch.Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """F.max_pool2d on cnnfast's pooling kernels (return_indices: PyTorch's)."""
    return _max_pool2d("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, relu=False)  # fmt: skip


def relu_max_pool2d(
    input: torch.Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """F.max_pool2d(F.relu(input), ...) in one pass over input, with the same gradient
    (max and ReLU commute; ReLU's zero gradient where input <= 0 is kept)."""
    return _max_pool2d("relu_max_pool2d", input, kernel_size, stride, padding, dilation,
                       ceil_mode, False, relu=True)  # fmt: skip


def _max_pool2d(
    op: str,
    input: torch.Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
    relu: bool,
) -> Any:
    args = _pool_args(op, input, kernel_size, stride, padding, dilation)
    if return_indices:
        args = "return_indices (PyTorch's flat indices)"

    def torch_kernel() -> Any:
        x = F.relu(input) if relu else input
        return F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)

    if isinstance(args, str):
        return _max_pool(op, input, args, None, relu, torch_kernel)
    return _max_pool(op, input, None, (*args, bool(ceil_mode)), relu, torch_kernel)


def max_pool2d_explicit(
    input: torch.Tensor,
    kernel: list[int],
    stride: list[int],
    padding: list[int],
    ceil_mode: bool,
    relu: bool,
) -> torch.Tensor:
    """(relu_)max_pool2d in cnnfast's resolved arguments: kernel and stride pairs,
    padding (top, bottom, left, right) that never wins, which may be asymmetric
    (fusion.py folds a ConstantPad2d of -inf into it)."""
    return _max_pool(
        "relu_max_pool2d" if relu else "max_pool2d", input, _unsupported(input),
        (kernel, stride, padding, ceil_mode), relu,
        lambda: twins.max_pool2d(input, kernel, stride, padding, ceil_mode, relu),
    )  # fmt: skip


def _max_pool(
    op: str,
    input: torch.Tensor,
    reason: str | None,
    args: tuple[Any, ...] | None,
    relu: bool,
    torch_kernel: Callable[[], Any],
) -> Any:
    """cnnfast's max pooling (of relu(input)) with the resolved args (kernel, stride,
    padding, ceil_mode), or (where reason says why not, or cnnfast refuses them)
    PyTorch's."""
    if reason is None:
        kernel = args[0]  # type: ignore[index]
        byte_argmax = kernel[0] * kernel[1] <= 255  # (the argmax byte names the window's cell)
        try:
            if not _needs_grad(input):
                if relu and byte_argmax:
                    return ops.max_pool2d_argmax(input, *args, True)[0]  # type: ignore[misc]
                y = ops.max_pool2d(input, *args)  # type: ignore[misc]
                return torch.relu_(y) if relu else y
            if byte_argmax:
                return autograd.MaxPool2dArgmax.apply(input, *args, relu)  # type: ignore[misc]
            x = torch.relu(input) if relu else input
            return autograd.MaxPool2d.apply(x, *args)  # type: ignore[misc]
        except (ValueError, TypeError) as e:
            reason = f"cnnfast refused the arguments ({e})"
    _fall_back(op, reason)
    return torch_kernel()


def avg_pool2d(
    input: torch.Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """F.avg_pool2d on cnnfast's pooling kernels (divisor_override: PyTorch's)."""
    args = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1)
    if divisor_override is not None:
        args = "divisor_override"
    if not isinstance(args, str):
        a = (*args, bool(ceil_mode), bool(count_include_pad))
        try:
            if not _needs_grad(input):
                return ops.avg_pool2d(input, *a)
            return autograd.AvgPool2d.apply(input, *a)
        except (ValueError, TypeError) as e:
            args = f"cnnfast refused the arguments ({e})"
    _fall_back("avg_pool2d", args)
    return F.avg_pool2d(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def local_response_norm(
    input: torch.Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> torch.Tensor:
    """F.local_response_norm on cnnfast's LRN kernel (4-D input; others PyTorch's)."""
    reason = _unsupported(input)
    if reason is None:
        a = (int(size), float(alpha), float(beta), float(k))
        try:
            if not _needs_grad(input):
                return ops.local_response_norm(input, *a)
            return autograd.LocalResponseNorm.apply(input, *a)
        except (ValueError, TypeError) as e:
            reason = f"cnnfast refused the arguments ({e})"
    _fall_back("local_response_norm", reason)
    return F.local_response_norm(input, size, alpha, beta, k)


def dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """F.dropout with cnnfast's counter-based masks (7x faster than PyTorch's on the
    lecture nets' activations), each seeded from PyTorch's default generator: so
    torch.manual_seed fixes them, though they are not the masks PyTorch would draw.
    Under torch.compile or torch.jit.trace, and inplace, PyTorch's dropout."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    reason = _unsupported(input, batched_nchw=False)
    if reason is None and inplace:
        reason = "inplace"
    if reason is None and (torch.compiler.is_compiling() or torch.jit.is_tracing()):
        return F.dropout(input, p, training, inplace)  # (the tracer's own random ops)
    if reason is None:
        seed = int(torch.empty((), dtype=torch.int64).random_())
        if not _needs_grad(input):
            return ops.dropout(input, float(p), seed)
        return autograd.Dropout.apply(input, float(p), seed)
    _fall_back("dropout", reason)
    return F.dropout(input, p, training, inplace)
