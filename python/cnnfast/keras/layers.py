"""keras.layers: the layers the lectures use, as Keras describes them (channels-last
shapes, Keras's names, defaults and parameter counts), each building the cnnfast.nn
modules that compute it. A layer knows its output shape as soon as its input shape
is known, so Sequential.add() reports a misfit at once, naming the layer.

Shapes here are per sample and channels-last, as in Keras: (height, width, channels)
or (features,). Called on a symbolic tensor (`Conv2D(...)(x)`, x from `Input`), a
layer returns the tensor of its output, which is how a functional Model's graph is
written; Add and Concatenate take a list of tensors.

The engine runs (channels, height, width); Flatten therefore orders
features channel-first, which shows only in the first Dense's weight layout after it
(keras.saving.layout converts it exactly for Keras's files).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from typing import Any

from .. import nn
from .._args import output_size
from ..nn.init import INITIALIZERS

Shape = tuple[int, ...]

_counts: dict[str, int] = defaultdict(int)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("2_d", "2d")


def _pair(value: Any, what: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")


ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softmax": lambda: nn.Softmax(axis=1),
}


def _activation(name: str | None) -> str | None:
    if name in (None, "linear"):
        return None
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)} or 'linear'"
        )
    return name


class KerasTensor:
    """A symbolic tensor of the functional API: the output of `layer`, computed from
    `parents`. `shape` is Keras's, with the batch as None."""

    def __init__(self, shape: Shape, layer: Layer, parents: tuple[KerasTensor, ...]) -> None:
        self.per_sample, self.layer, self.parents = tuple(shape), layer, parents

    @property
    def shape(self) -> tuple[Any, ...]:
        return (None, *self.per_sample)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, from layer '{self.layer.name}'>"


def _tensor(value: Any, where: str) -> KerasTensor:
    if isinstance(value, Input):
        return value.output
    if isinstance(value, KerasTensor):
        return value
    raise TypeError(
        f"{where}: expected a symbolic tensor (from keras.Input or a layer call), "
        f"got {type(value).__name__}"
    )


class Layer:
    """A Keras layer: a name, an optional input_shape (the first layer's), the output
    shape for a given input shape, its parameter counts, and the engine modules."""

    activation: str | None = None
    merges = False  # Add, Concatenate: several inputs, combined by the engine's graph

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every layer remembers the arguments it was made with (its config, which
        Sequential.save writes and models.load_model replays)."""
        super().__init_subclass__(**kwargs)
        init = cls.__init__

        @functools.wraps(init)
        def recording(self: Layer, *args: Any, **kw: Any) -> None:
            if not hasattr(self, "_arguments"):  # the outermost constructor's
                self._arguments = (list(args), dict(kw))
            init(self, *args, **kw)

        cls.__init__ = recording  # type: ignore[method-assign]

    def get_config(self) -> dict[str, Any]:
        """The class name and constructor arguments (with the layer's name)."""
        args, kwargs = getattr(self, "_arguments", ([], {}))
        return {
            "class_name": type(self).__name__,
            "args": args,
            "kwargs": {**kwargs, "name": self.name},
        }

    def __init__(
        self, name: str | None = None, input_shape: Shape | None = None, **kwargs: Any
    ) -> None:
        if kwargs.pop("batch_input_shape", None) is not None:
            raise ValueError("batch_input_shape: pass input_shape (without the batch axis)")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unsupported arguments {sorted(kwargs)}")
        base = _snake(type(self).__name__)
        if name is None:
            n = _counts[base]
            _counts[base] += 1
            name = base if n == 0 else f"{base}_{n}"
        self.name = name
        self.input_shape = None if input_shape is None else tuple(int(d) for d in input_shape)

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def __call__(self, inputs: Any) -> KerasTensor:
        """The functional API: this layer applied to a symbolic tensor (a list of them
        for Add / Concatenate); its shape is checked now, naming the layer."""
        where = f"{type(self).__name__} layer '{self.name}'"
        if getattr(self, "output", None) is not None:
            raise self._error(
                "is already called on a tensor; cnnfast.keras does not share a layer's "
                "weights between calls: make another layer"
            )
        if self.merges:
            if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
                raise self._error("merges a list of two or more tensors")
            parents = tuple(_tensor(t, where) for t in inputs)
            shape = self.merge_shape([t.per_sample for t in parents])
        else:
            if isinstance(inputs, (list, tuple)):
                raise self._error(f"takes one tensor, got a list of {len(inputs)}")
            parents = (_tensor(inputs, where),)
            shape = self.output_shape(parents[0].per_sample)
        self.output = KerasTensor(shape, self, parents)
        return self.output

    def merge_shape(self, shapes: list[Shape]) -> Shape:
        raise NotImplementedError

    def params(self, shape: Shape) -> tuple[int, int]:
        """(trainable, non-trainable) parameter counts for this input shape."""
        return 0, 0

    def modules(self, shape: Shape) -> list[nn.Module]:
        """The engine modules computing this layer, for this input shape."""
        return []

    def _error(self, why: str) -> ValueError:
        return ValueError(f"{type(self).__name__} layer '{self.name}': {why}")

    def _image(self, shape: Shape) -> tuple[int, int, int]:
        if len(shape) != 3:
            raise self._error(f"needs an image input (height, width, channels), got shape {shape}")
        return shape  # type: ignore[return-value]


def InputLayer(shape: Shape, name: str | None = None) -> Layer:
    return Input(shape=shape, name=name)


class Input(Layer):
    """The model's input: `Input(shape=(28, 28, 1))` as a Sequential's first layer, or
    the tensor a functional Model starts from (`x = Input(...)`, `Conv2D(...)(x)`)."""

    def __init__(self, shape: Shape, name: str | None = None) -> None:
        super().__init__(name=name, input_shape=shape)
        self.output = KerasTensor(self.input_shape, self, ())  # type: ignore[arg-type]

    @property
    def shape(self) -> tuple[Any, ...]:
        return self.output.shape

    def __call__(self, inputs: Any) -> KerasTensor:
        raise self._error("is a model's input; it is not called on a tensor")


class _Windowed(Layer):
    """Conv2D and the pooling layers: a window sliding over height and width."""

    def __init__(self, kernel: Any, strides: Any, padding: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel = _pair(kernel, f"{type(self).__name__}: kernel_size / pool_size")
        self.strides = (
            self.kernel if strides is None else _pair(strides, f"{type(self).__name__}: strides")
        )
        if padding not in ("valid", "same"):
            raise ValueError(
                f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}"
            )
        self.padding = padding

    def _out_hw(self, shape: Shape) -> tuple[int, int]:
        h, w, _ = self._image(shape)
        if self.padding == "same":
            return -(-h // self.strides[0]), -(-w // self.strides[1])
        kh, kw = self.kernel
        if kh > h or kw > w:
            raise self._error(
                f"a {kh}x{kw} window does not fit its {h}x{w} input (padding='valid')"
            )
        return (
            output_size(h, kh, self.strides[0], 1, 0, 0),
            output_size(w, kw, self.strides[1], 1, 0, 0),
        )


class Conv2D(_Windowed):
    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(kernel_size, strides, padding, **kwargs)
        self.filters, self.use_bias = int(filters), bool(use_bias)
        self.activation = _activation(activation)
        if kernel_initializer not in INITIALIZERS:
            raise ValueError(
                f"Conv2D: kernel_initializer {kernel_initializer!r} is not one of "
                f"{sorted(INITIALIZERS)}"
            )
        self.kernel_initializer = kernel_initializer

    def output_shape(self, shape: Shape) -> Shape:
        return (*self._out_hw(shape), self.filters)

    def params(self, shape: Shape) -> tuple[int, int]:
        c = self._image(shape)[2]
        return self.kernel[0] * self.kernel[1] * c * self.filters + (
            self.filters if self.use_bias else 0
        ), 0

    def modules(self, shape: Shape) -> list[nn.Module]:
        conv = nn.Conv2d(
            self._image(shape)[2],
            self.filters,
            self.kernel,
            self.strides,
            self.padding,
            bias=self.use_bias,
            init=self.kernel_initializer,
        )
        return [conv]


Convolution2D = Conv2D


class MaxPooling2D(_Windowed):
    def __init__(
        self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid", **kwargs: Any
    ) -> None:
        super().__init__(pool_size, strides, padding, **kwargs)

    def output_shape(self, shape: Shape) -> Shape:
        return (*self._out_hw(shape), shape[2])

    def modules(self, shape: Shape) -> list[nn.Module]:
        return [nn.MaxPool2d(self.kernel, self.strides, self.padding)]


class AveragePooling2D(MaxPooling2D):
    def modules(self, shape: Shape) -> list[nn.Module]:
        # Keras averages over the cells inside the input only ('same' padding)
        return [nn.AvgPool2d(self.kernel, self.strides, self.padding, count_include_pad=False)]


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D


class Dropout(Layer):
    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def modules(self, shape: Shape) -> list[nn.Module]:
        return [nn.Dropout(self.rate)]


class Flatten(Layer):
    def output_shape(self, shape: Shape) -> Shape:
        n = 1
        for d in shape:
            n *= d
        return (n,)

    def modules(self, shape: Shape) -> list[nn.Module]:
        return [nn.Flatten()] if len(shape) > 1 else []


class Dense(Layer):
    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.use_bias = int(units), bool(use_bias)
        self.activation = _activation(activation)
        self.kernel_initializer = kernel_initializer

    def _features(self, shape: Shape) -> int:
        if len(shape) != 1:
            raise self._error(
                f"needs a flat input (features,), got shape {shape}: add Flatten() before it"
            )
        return shape[0]

    def output_shape(self, shape: Shape) -> Shape:
        self._features(shape)
        return (self.units,)

    def params(self, shape: Shape) -> tuple[int, int]:
        return self._features(shape) * self.units + (self.units if self.use_bias else 0), 0

    def modules(self, shape: Shape) -> list[nn.Module]:
        return [
            nn.Linear(
                self._features(shape), self.units, bias=self.use_bias, init=self.kernel_initializer
            )
        ]


class Activation(Layer):
    def __init__(self, activation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = _activation(activation)


class BatchNormalization(Layer):
    """Over the channels (Keras's axis=-1), with Keras's momentum (0.99: the running
    statistics keep 99% per step, cnnfast's momentum=0.01) and epsilon (1e-3)."""

    def __init__(
        self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if axis not in (-1, 3):
            raise ValueError(f"BatchNormalization: only the channel axis (-1), got axis={axis}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)

    def params(self, shape: Shape) -> tuple[int, int]:
        return 2 * shape[-1], 2 * shape[-1]

    def modules(self, shape: Shape) -> list[nn.Module]:
        return [nn.BatchNorm2d(shape[-1], eps=self.epsilon, momentum=1.0 - self.momentum)]


class _Merge(Layer):
    merges = True

    def output_shape(self, shape: Shape) -> Shape:
        raise self._error("merges several tensors: use it in a functional Model, on a list")


class Add(_Merge):
    """The element-wise sum of tensors of one shape (a residual block's shortcut)."""

    def merge_shape(self, shapes: list[Shape]) -> Shape:
        if any(s != shapes[0] for s in shapes):
            raise self._error(f"adds tensors of one shape, got {[(None, *s) for s in shapes]}")
        return shapes[0]


class Concatenate(_Merge):
    """Tensors joined along `axis` (Keras's axis of the per-sample shape with the batch
    first: -1, the channels, by default); the other axes must agree."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _axis(self, ndim: int) -> int:
        """The axis in the per-sample shape (Keras's axis counts the batch as 0)."""
        a = self.axis if self.axis < 0 else self.axis - 1
        if not -ndim <= a < ndim or self.axis == 0:
            raise self._error(f"axis {self.axis} is not an axis of a {ndim}-D sample")
        return a % ndim

    def engine_axis(self, ndim: int) -> int:
        """The same axis in the engine's channel-first (N, C, H, W) or (N, features)."""
        a = self._axis(ndim)
        return 1 if ndim == 1 else {0: 2, 1: 3, 2: 1}[a]

    def merge_shape(self, shapes: list[Shape]) -> Shape:
        ndim = len(shapes[0])
        a = self._axis(ndim)
        rest = {s[:a] + s[a + 1 :] for s in shapes}
        if any(len(s) != ndim for s in shapes) or len(rest) != 1:
            raise self._error(
                f"joins along axis {self.axis} tensors whose other axes agree, got "
                f"{[(None, *s) for s in shapes]}"
            )
        return (*shapes[0][:a], sum(s[a] for s in shapes), *shapes[0][a + 1 :])


class GlobalAveragePooling2D(Layer):
    """The mean of each channel over height and width: (H, W, C) -> (C,)."""

    def output_shape(self, shape: Shape) -> Shape:
        return (self._image(shape)[2],)

    def modules(self, shape: Shape) -> list[nn.Module]:
        return [nn.GlobalAvgPool2d(), nn.Flatten()]


GlobalAvgPool2D = GlobalAveragePooling2D


__all__ = [
    "Activation",
    "Add",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Convolution2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "Input",
    "InputLayer",
    "KerasTensor",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
]
