"""Sequential: layers applied in order, with ReLU then MaxPool2d run as one fused pass,
and Conv2d then ReLU (not followed by a MaxPool2d) as one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .layers import Conv2d, MaxPool2d, ReLU
from .module import Module, has_call_hooks


def _is_relu_then_max_pool(layers: list[Module], i: int) -> bool:
    return i + 1 < len(layers) and type(layers[i]) is ReLU and type(layers[i + 1]) is MaxPool2d


def _is_conv_then_relu(layers: list[Module], i: int) -> bool:
    # Where a MaxPool2d follows, ReLU goes into the pool's pass instead: one pass
    # either way, and the pool's keeps the byte argmax that spares the backward x.
    return (
        i + 1 < len(layers)
        and type(layers[i]) is Conv2d
        and type(layers[i + 1]) is ReLU
        and not _is_relu_then_max_pool(layers, i + 1)
    )


class Sequential(Module):
    """Layers applied in order; indexable and iterable like a list."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def forward(self, x: Any) -> Any:
        layers = list(self._modules.values())
        # With call hooks registered (Module.summary, a user's), every layer runs
        # through its own __call__, so each one reports its output: the fusion has
        # no ReLU output to report.
        fuse = not has_call_hooks()
        i = 0
        while i < len(layers):
            if fuse and _is_relu_then_max_pool(layers, i):
                # One fused pass instead of two over the largest tensors of most
                # lecture nets; exact (see functional.relu_max_pool2d).
                x = layers[i + 1].forward_after_relu(x)
                i += 2
                continue
            if fuse and _is_conv_then_relu(layers, i):
                # ReLU in the convolution's store (ops.conv2d relu=True): exact.
                x = layers[i].forward_with_relu(x)
                i += 2
                continue
            x = layers[i](x)
            i += 1
        return x

    def append(self, layer: Module) -> Sequential:
        setattr(self, str(len(self._modules)), layer)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
