"""Runs of modules in a Sequential that cnnfast computes as one pass:

- ReLU, MaxPool2d: relu_max_pool2d (one pass over the larger tensor, and the
  backward needs one byte per output instead of the ReLU's output);
- ConstantPad2d(0), Conv2d: the convolution with the pad folded into its padding
  (how TensorFlow's 'same' with an even kernel is written in torch.nn: no padded copy);
- ConstantPad2d(-inf), MaxPool2d, with a ReLU before them or not: the pooling with the
  pad folded in as padding that never wins (TensorFlow's 'same' pooling).

Exact: each computes what the modules compute one after another. A run is fused only
where none of its modules has hooks (they must see each module's input and output),
the pad adds (no negative, cropping, pad), and for pooling without ceil_mode (with
it, torch lets a window start in the explicit pad, which padding does not allow) and
within cnnfast's pooling rule (padding at most half the kernel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

NEG_INF = float("-inf")


@dataclass(frozen=True)
class Fusion:
    length: int  # modules it stands for
    what: str  # the pass, for the report
    run: Callable[[torch.Tensor], torch.Tensor]


def has_hooks(module: nn.Module) -> bool:
    """Whether calling the module runs hooks (its own or global ones): then it must
    run on its own, so that its hooks see its input and output."""
    from torch.nn.modules import module as m

    return bool(
        module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
        or module._backward_pre_hooks or m._global_forward_hooks
        or m._global_forward_pre_hooks or m._global_backward_hooks
        or m._global_backward_pre_hooks
    )  # fmt: skip


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _pad_of(module: nn.Module, value: float) -> tuple[int, int, int, int] | None:
    """A ConstantPad2d of `value` as (top, bottom, left, right), if it only adds."""
    if type(module) is not nn.ConstantPad2d or module.value != value:
        return None
    left, right, top, bottom = module.padding
    return None if min(left, right, top, bottom) < 0 else (top, bottom, left, right)


def fusion_at(
    layers: list[nn.Module], i: int, is_conv: Callable[[Any], bool], is_pool: Callable[[Any], bool]
) -> Fusion | None:
    """The fused run starting at layers[i], if any. is_conv / is_pool: whether a
    module is a Conv2d / MaxPool2d that runs on cnnfast."""
    from . import functional

    rest = layers[i:]
    if any(has_hooks(m) for m in rest[:3]):
        rest = rest[: next(k for k, m in enumerate(rest) if has_hooks(m))]
    relu = len(rest) > 1 and type(rest[0]) is nn.ReLU
    j = 1 if relu else 0  # where the pad or the pool starts
    pad = _pad_of(rest[j], NEG_INF) if j < len(rest) else None
    k = j + (pad is not None)  # where the pool is
    if k < len(rest) and is_pool(rest[k]) and (relu or pad is not None):
        pool = rest[k]
        kernel, stride = _pair(pool.kernel_size), _pair(pool.stride or pool.kernel_size)
        ph, pw = _pair(pool.padding)
        t, b, l, r = pad or (0, 0, 0, 0)
        both = (t + ph, b + ph, l + pw, r + pw)
        fits = 2 * max(both[:2]) <= kernel[0] and 2 * max(both[2:]) <= kernel[1]
        if pad is None or (fits and not pool.ceil_mode):
            what = ("relu_" if relu else "") + "max_pool2d" + (" with the pad" if pad else "")

            def run_pool(x: torch.Tensor) -> torch.Tensor:
                return functional.max_pool2d_explicit(
                    x, list(kernel), list(stride), list(both), pool.ceil_mode, relu
                )

            return Fusion(k + 1, what, run_pool)
    pad = _pad_of(rest[0], 0.0) if rest else None
    if pad is not None and len(rest) > 1 and is_conv(rest[1]):
        conv = rest[1]
        if conv.padding_mode == "zeros" and not isinstance(conv.padding, str):
            ph, pw = conv.padding
            t, b, l, r = pad
            both = [t + ph, b + ph, l + pw, r + pw]

            def run_conv(x: torch.Tensor) -> torch.Tensor:
                return functional.conv2d_explicit(
                    x, conv.weight, conv.bias, list(conv.stride), both, list(conv.dilation),
                    conv.groups,
                )  # fmt: skip

            return Fusion(2, "conv2d with the pad", run_conv)
    return None
