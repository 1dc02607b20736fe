"""The layers the lecture nets are built from (PyTorch names and argument order)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import Padding, check_padding, int_pair, positive_int
from ..tensor import Tensor
from . import functional as F
from .init import INITIALIZERS
from .module import Module, Parameter


class Conv2d(Module):
    """weight (out, in/groups, kh, kw), glorot-uniform like Keras; bias zeros."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Padding = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        init: str = "glorot_uniform",
    ) -> None:
        super().__init__()
        in_channels = positive_int("Conv2d", "in_channels", in_channels)
        out_channels = positive_int("Conv2d", "out_channels", out_channels)
        kh, kw = int_pair("Conv2d", "kernel_size", kernel_size, 1)
        int_pair("Conv2d", "stride", stride, 1)
        int_pair("Conv2d", "dilation", dilation, 1)
        groups = positive_int("Conv2d", "groups", groups)
        check_padding("Conv2d", padding)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: groups={groups} must divide in_channels={in_channels} "
                f"and out_channels={out_channels}"
            )
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.weight = Parameter(INITIALIZERS[init]((out_channels, in_channels // groups, kh, kw)))
        self.bias = Parameter(np.zeros(out_channels, np.float32)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def forward_with_relu(self, x: Tensor) -> Tensor:
        """relu(this layer(x)), fused (Sequential calls it for Conv2d, ReLU)."""
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, True
        )


class Linear(Module):
    """y = x @ weight.T + bias; weight (out, in), glorot-uniform (Keras's Dense)."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, init: str = "glorot_uniform"
    ) -> None:
        super().__init__()
        in_features = positive_int("Linear", "in_features", in_features)
        out_features = positive_int("Linear", "out_features", out_features)
        self.weight = Parameter(INITIALIZERS[init]((out_features, in_features)))
        self.bias = Parameter(np.zeros(out_features, np.float32)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


def _check_pool(op: str, kernel_size: Any, stride: Any, padding: Padding, ceil_mode: Any) -> None:
    """The arguments a pooling layer can check before it sees an input."""
    int_pair(op, "kernel_size", kernel_size, 1)
    if stride is not None:
        int_pair(op, "stride", stride, 1)
    check_padding(op, padding)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{op}: ceil_mode must be a bool, got {ceil_mode!r}")


class MaxPool2d(Module):
    def __init__(
        self, kernel_size: Any, stride: Any = None, padding: Padding = 0, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        _check_pool("MaxPool2d", kernel_size, stride, padding, ceil_mode)
        self.kernel_size, self.stride, self.padding, self.ceil_mode = (
            kernel_size,
            stride,
            padding,
            ceil_mode,
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def forward_after_relu(self, x: Tensor) -> Tensor:
        """This layer applied to relu(x), fused (Sequential calls it for ReLU, MaxPool2d)."""
        return F.relu_max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)


class AvgPool2d(Module):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Padding = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        _check_pool("AvgPool2d", kernel_size, stride, padding, ceil_mode)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class GlobalAvgPool2d(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.global_avg_pool2d(x)


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Softmax(Module):
    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)


class Dropout(Module):
    """Drops with probability p in training mode; the identity in eval mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)


class Flatten(Module):
    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim)


class BatchNorm2d(Module):
    """Batch norm over axis 1 of (N, C, H, W) or (N, C); running stats as buffers."""

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True
    ) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, np.float32))
        self.register_buffer("running_var", np.ones(num_features, np.float32))

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training,
            self.momentum,
            self.eps,
        )


BatchNorm1d = BatchNorm2d


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)


class PositionBias(Module):
    """A learned bias for every position of a (C, H, W) map (AlphaGo's last layer)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.bias = Parameter(np.zeros(shape, np.float32))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.bias
