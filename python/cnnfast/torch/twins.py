"""PyTorch's own kernels for what `torch.ops.cnnfast.*` computes, in the same resolved
arguments: what runs where cnnfast cannot (double backward differentiates these), so
each is the plain composition of `torch.nn.functional` calls that means the same."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _symmetric(padding: Sequence[int]) -> tuple[int, int] | None:
    t, b, l, r = padding
    return (t, l) if t == b and l == r else None


def conv2d(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
) -> torch.Tensor:
    pad = _symmetric(padding)
    if pad is None:  # (TensorFlow's 'same' with an odd total: the extra row at the end)
        t, bottom, l, r = padding
        x, pad = F.pad(x, (l, r, t, bottom)), (0, 0)
    return F.conv2d(x, w, b, tuple(stride), pad, tuple(dilation), groups)


def max_pool2d(
    x: torch.Tensor,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    relu: bool = False,
) -> torch.Tensor:
    pad = _symmetric(padding)
    if pad is None:  # (padding never wins a max)
        t, b, l, r = padding
        x, pad = F.pad(x, (l, r, t, b), value=float("-inf")), (0, 0)
    if relu:
        x = torch.relu(x)
    return F.max_pool2d(x, tuple(kernel), tuple(stride), pad, ceil_mode=ceil_mode)


def avg_pool2d(
    x: torch.Tensor,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool,
) -> torch.Tensor:
    pad = _symmetric(padding)
    if pad is None:
        raise ValueError(f"avg_pool2d: PyTorch has no asymmetric padding {tuple(padding)}")
    return F.avg_pool2d(x, tuple(kernel), tuple(stride), pad, ceil_mode, count_include_pad)


def local_response_norm(
    x: torch.Tensor, size: int, alpha: float, beta: float, k: float
) -> torch.Tensor:
    return F.local_response_norm(x, size, alpha, beta, k)
