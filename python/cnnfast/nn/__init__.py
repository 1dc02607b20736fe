"""cnnfast.nn: modules and layers on top of the autograd Tensor."""

from . import functional, init
from .blocks import Inception, ResidualBlock, SentenceCNN
from .layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    PositionBias,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .module import Module, Parameter
from .sequential import Sequential
