"""Composite blocks from the case studies: the residual basic block, the inception
module, and Kim's sentence CNN."""

from __future__ import annotations

from ..tensor import Tensor, concat
from . import functional as F
from .layers import BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d
from .module import Module


class ResidualBlock(Module):
    """ResNet's basic block: conv3x3-BN-ReLU-conv3x3-BN, plus the input (or its 1x1
    projection when the shape changes), then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.projection = None
        if stride != 1 or in_channels != out_channels:
            self.projection = Conv2d(in_channels, out_channels, 1, stride, bias=False)
            self.projection_bn = BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.projection is None else self.projection_bn(self.projection(x))
        return F.relu(y + shortcut)


class Inception(Module):
    """GoogLeNet's module: 1x1, 1x1->3x3, 1x1->5x5 and maxpool->1x1 branches, each with
    ReLU, concatenated along the channels."""

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c3_reduce: int,
        c3: int,
        c5_reduce: int,
        c5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.b1 = Conv2d(in_channels, c1, 1)
        self.b3_reduce = Conv2d(in_channels, c3_reduce, 1)
        self.b3 = Conv2d(c3_reduce, c3, 3, padding=1)
        self.b5_reduce = Conv2d(in_channels, c5_reduce, 1)
        self.b5 = Conv2d(c5_reduce, c5, 5, padding=2)
        self.pool = MaxPool2d(3, 1, 1)
        self.pool_proj = Conv2d(in_channels, pool_proj, 1)

    def forward(self, x: Tensor) -> Tensor:
        return concat(
            [
                F.relu(self.b1(x)),
                F.relu(self.b3(F.relu(self.b3_reduce(x)))),
                F.relu(self.b5(F.relu(self.b5_reduce(x)))),
                F.relu(self.pool_proj(self.pool(x))),
            ],
            axis=1,
        )


class SentenceCNN(Module):
    """Kim (2014): a sentence as a 1 x L x d matrix; filters of heights 3, 4, 5 spanning d
    (100 maps each), ReLU, max over time, concatenated, dropout 0.5, a dense layer."""

    def __init__(
        self,
        length: int,
        dim: int,
        classes: int,
        heights: tuple[int, ...] = (3, 4, 5),
        maps: int = 100,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.length = length
        self.heights = heights
        for h in heights:
            setattr(self, f"conv{h}", Conv2d(1, maps, (h, dim)))
        self.dropout = Dropout(dropout)
        self.fc = Linear(maps * len(heights), classes)

    def forward(self, x: Tensor) -> Tensor:
        pooled = []
        for h in self.heights:
            y = F.relu(getattr(self, f"conv{h}")(x))  # (N, maps, L-h+1, 1)
            pooled.append(F.max_pool2d(y, (self.length - h + 1, 1)).flatten())  # max over time
        return self.fc(self.dropout(concat(pooled, axis=1)))
