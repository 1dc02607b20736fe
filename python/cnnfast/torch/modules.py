"""torch.nn modules computed by cnnfast's kernels. Each subclasses the torch.nn module
it stands for and adds no state, so `accelerate()` turns an existing module into one by
changing its class: the same object, the same Parameters, buffers, hooks and
state_dict keys; `restore()` changes it back. Built directly, each takes the
arguments of its torch.nn base."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from . import functional
from .fusion import fusion_at


class Conv2d(torch.nn.Conv2d):
    def _conv_forward(
        self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        if self.padding_mode != "zeros":  # (as torch.nn.Conv2d: pad first, then convolve)
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return functional.conv2d(
                padded, weight, bias, self.stride, _pair(0), self.dilation, self.groups
            )
        return functional.conv2d(
            input, weight, bias, self.stride, self.padding, self.dilation, self.groups
        )


class MaxPool2d(torch.nn.MaxPool2d):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return functional.max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation,
            self.ceil_mode, self.return_indices,
        )  # fmt: skip


class AvgPool2d(torch.nn.AvgPool2d):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return functional.avg_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override,
        )  # fmt: skip


class LocalResponseNorm(torch.nn.LocalResponseNorm):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return functional.local_response_norm(input, self.size, self.alpha, self.beta, self.k)


class Dropout(torch.nn.Dropout):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return functional.dropout(input, self.p, self.training, self.inplace)


def runs_on_cnnfast_conv(m: object) -> bool:
    return type(m) is Conv2d


def runs_on_cnnfast_pool(m: object) -> bool:
    return type(m) is MaxPool2d and not m.return_indices  # type: ignore[attr-defined]


class Sequential(torch.nn.Sequential):
    """torch.nn.Sequential that runs the module runs of fusion.py (ReLU -> MaxPool2d;
    a ConstantPad2d folded into the Conv2d or MaxPool2d after it) as one pass each,
    unless one of them has hooks. The modules themselves are untouched: each called
    on its own is what it was."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        layers = list(self._modules.values())
        i = 0
        while i < len(layers):
            fused = fusion_at(layers, i, runs_on_cnnfast_conv, runs_on_cnnfast_pool)
            if fused is not None:
                input = fused.run(input)
                i += fused.length
            else:
                input = layers[i](input)
                i += 1
        return input


# each accelerated class and the torch.nn class it stands for
ACCELERATED: dict[type, type] = {
    cls: cls.__bases__[0]
    for cls in (Conv2d, MaxPool2d, AvgPool2d, LocalResponseNorm, Dropout, Sequential)
}
