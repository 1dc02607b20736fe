"""keras.optimizers: Keras's names and default hyper-parameters, building cnnfast's
optimizers (cnnfast.optim) when the model is compiled. `learning_rate` or the older
`lr`. Adadelta's default rate is Keras 2's 1.0 (the rule as published, and what the
lectures' Keras used); tf.keras later changed it to 0.001."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from .. import optim


class Optimizer:
    defaults: ClassVar[dict[str, Any]] = {}
    engine: ClassVar[type[optim.Optimizer]] = optim.Optimizer
    names: ClassVar[dict[str, str]] = {}  # Keras argument -> cnnfast hyper-parameter

    def __init__(
        self, learning_rate: float | None = None, lr: float | None = None, **kwargs: Any
    ) -> None:
        unknown = set(kwargs) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unsupported arguments {sorted(unknown)}")
        rate = learning_rate if learning_rate is not None else lr
        self.config = {**self.defaults, **kwargs}
        self.config["learning_rate"] = (
            self.defaults["learning_rate"] if rate is None else float(rate)
        )

    def build(self, params: Iterable[Any]) -> optim.Optimizer:
        hyper = {self.names.get(k, k): v for k, v in self.config.items()}
        hyper["lr"] = hyper.pop("learning_rate")
        return self.engine(params, **hyper)


class SGD(Optimizer):
    defaults: ClassVar[dict[str, Any]] = {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}
    engine: ClassVar[type[optim.Optimizer]] = optim.SGD


class Adam(Optimizer):
    defaults: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
    }
    engine: ClassVar[type[optim.Optimizer]] = optim.Adam
    names: ClassVar[dict[str, str]] = {"beta_1": "beta1", "beta_2": "beta2", "epsilon": "eps"}


class RMSprop(Optimizer):
    defaults: ClassVar[dict[str, Any]] = {"learning_rate": 0.001, "rho": 0.9, "epsilon": 1e-7}
    engine: ClassVar[type[optim.Optimizer]] = optim.RMSprop
    names: ClassVar[dict[str, str]] = {"epsilon": "eps"}


class Adadelta(Optimizer):
    defaults: ClassVar[dict[str, Any]] = {"learning_rate": 1.0, "rho": 0.95, "epsilon": 1e-7}
    engine: ClassVar[type[optim.Optimizer]] = optim.Adadelta
    names: ClassVar[dict[str, str]] = {"epsilon": "eps"}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adadelta": Adadelta}


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name ('adam', ...) or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"unsupported optimizer {identifier!r}; choose from {sorted(OPTIMIZERS)}")
