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

    def forward_after_relu(self, input: torch.Tensor) -> torch.Tensor:
        """This pool of relu(input), in one pass (Sequential's fusion)."""
        return functional.relu_max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )


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


def has_hooks(module: torch.nn.Module) -> bool:
    """Whether calling the module runs hooks (its own or global ones): then it must
    run on its own, so that its hooks see its input and output."""
    from torch.nn.modules import module as m

    return bool(
        module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
        or module._backward_pre_hooks or m._global_forward_hooks
        or m._global_forward_pre_hooks or m._global_backward_hooks
        or m._global_backward_pre_hooks
    )  # fmt: skip


def fuses(first: torch.nn.Module, second: torch.nn.Module) -> bool:
    """Whether Sequential runs first then second as one relu_max_pool2d."""
    return (
        type(first) is torch.nn.ReLU
        and type(second) is MaxPool2d
        and not second.return_indices
        and not has_hooks(first)
        and not has_hooks(second)
    )


class Sequential(torch.nn.Sequential):
    """torch.nn.Sequential that runs a ReLU followed by a MaxPool2d as one fused pass
    (unless either has hooks, which must see the ReLU's output). The ReLU module itself
    is untouched: called on its own, it is PyTorch's ReLU."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        layers = list(self._modules.values())
        i = 0
        while i < len(layers):
            if i + 1 < len(layers) and fuses(layers[i], layers[i + 1]):
                input = layers[i + 1].forward_after_relu(input)  # type: ignore[operator]
                i += 2
            else:
                input = layers[i](input)
                i += 1
        return input


# each accelerated class and the torch.nn class it stands for
ACCELERATED: dict[type, type] = {
    cls: cls.__bases__[0]
    for cls in (Conv2d, MaxPool2d, AvgPool2d, LocalResponseNorm, Dropout, Sequential)
}
