"""Optimizers as published, updating parameters in place through cnnfast.ops (Adam
with a fused kernel, the others with NumPy on the host; on device='cuda' the fused
kernels of csrc/cuda/optim.cuh, the same rules).

Each `_update(p, g, state)` transcribes its paper's rule; tests/test_optim.py checks
every one step by step against an independent NumPy transcription.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from .. import ops
from ..nn.module import Parameter


def _slot(state: dict[str, Any], name: str, p: Any) -> Any:
    """The state array `name`, zeros like p (on p's device) the first time."""
    a = state.get(name)
    if a is None:
        a = state[name] = ops.zeros_like(p)
    return a


class Optimizer:
    """Holds the parameters, the learning rate and per-parameter state."""

    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: Iterable[Parameter], **hyper: Any) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimise")
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyper-parameters {sorted(unknown)}")
        self.hyper = {**self.defaults, **hyper}
        if self.hyper["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {self.hyper['lr']}")
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.iterations = 0

    @property
    def lr(self) -> float:
        return float(self.hyper["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        self.hyper["lr"] = float(value)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.iterations += 1
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.data, p.grad.astype(p.data.dtype, copy=False), state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat arrays for an .npz checkpoint: hyper-parameters, step count, slot arrays."""
        out = {f"hyper.{k}": np.asarray(v) for k, v in self.hyper.items()}
        out["iterations"] = np.asarray(self.iterations)
        for i, state in enumerate(self.state):
            for k, v in state.items():
                out[f"state.{i}.{k}"] = np.asarray(v)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """The state from state_dict(). All or nothing: every entry is checked (its
        name, the parameter it belongs to, a slot's shape) before anything changes."""
        self.check_state_dict(state)
        for key, value in state.items():
            value = np.asarray(value)
            kind, _, rest = key.partition(".")
            if kind == "hyper":
                self.hyper[rest] = value.item() if value.ndim == 0 else value
            elif kind == "iterations":
                self.iterations = int(value)
            elif kind == "state":
                index, _, slot = rest.partition(".")
                if value.ndim == 0:
                    self.state[int(index)][slot] = value.item()
                else:  # slots live with their parameter
                    where = ops.device_of(self.params[int(index)].data)
                    self.state[int(index)][slot] = ops.to_device(value, where, copy=True)

    def check_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Raises ValueError, naming the entry, if `state` does not fit this optimizer."""
        name = type(self).__name__
        for key, value in state.items():
            value = np.asarray(value)
            kind, _, rest = key.partition(".")
            if kind == "hyper":
                continue
            if value.dtype.kind not in "fiub":
                raise ValueError(f"{name}.load_state_dict: {key} has dtype {value.dtype}")
            if kind == "iterations" and not rest and value.ndim == 0:
                continue
            index, _, slot = rest.partition(".")
            if kind != "state" or not index.isdigit() or not slot:
                raise ValueError(f"{name}.load_state_dict: unexpected entry {key!r}")
            if int(index) >= len(self.params):
                raise ValueError(
                    f"{name}.load_state_dict: {key} is for parameter {index}, but the "
                    f"optimizer has {len(self.params)}"
                )
            shape = tuple(self.params[int(index)].data.shape)
            if value.ndim and tuple(value.shape) != shape:
                raise ValueError(
                    f"{name}.load_state_dict: {key} has shape {value.shape}, its parameter {shape}"
                )


class SGD(Optimizer):
    """v = momentum * v + g (+ weight_decay * p); p -= lr * (g + momentum * v if nesterov else v)
    (PyTorch's formulation, Sutskever et al. 2013 for Nesterov)."""

    defaults: ClassVar[dict[str, Any]] = {
        "lr": 0.01,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        h = self.hyper
        first = h["momentum"] and state.get("velocity") is None
        ops.sgd_update(
            p,
            g,
            _slot(state, "velocity", p) if h["momentum"] else None,
            lr=h["lr"],
            momentum=h["momentum"],
            weight_decay=h["weight_decay"],
            nesterov=bool(h["nesterov"]),
            first=bool(first),
        )


class Adam(Optimizer):
    """Kingma & Ba (2015), Algorithm 1: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)."""

    defaults: ClassVar[dict[str, Any]] = {
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
    }

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        h = self.hyper
        t = state["t"] = state.get("t", 0) + 1
        ops.adam_update(  # one fused pass (csrc/optim.cpp, csrc/cuda/optim.cuh)
            p,
            g,
            _slot(state, "m", p),
            _slot(state, "v", p),
            lr=h["lr"],
            beta1=h["beta1"],
            beta2=h["beta2"],
            eps=h["eps"],
            weight_decay=h["weight_decay"],
            step=t,
        )


class Adadelta(Optimizer):
    """Zeiler (2012), Algorithm 1: E[g^2] = rho E[g^2] + (1-rho) g^2;
    dx = -sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g; E[dx^2] = rho E[dx^2] + (1-rho) dx^2;
    p += lr * dx (lr = 1 is the paper's rule)."""

    defaults: ClassVar[dict[str, Any]] = {"lr": 1.0, "rho": 0.95, "eps": 1e-6, "weight_decay": 0.0}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        h = self.hyper
        ops.adadelta_update(
            p,
            g,
            _slot(state, "avg_sq_grad", p),
            _slot(state, "avg_sq_delta", p),
            lr=h["lr"],
            rho=h["rho"],
            eps=h["eps"],
            weight_decay=h["weight_decay"],
        )


class RMSprop(Optimizer):
    """Hinton's lecture 6e: E[g^2] = rho E[g^2] + (1-rho) g^2;
    p -= lr * g / (sqrt(E[g^2]) + eps)."""

    defaults: ClassVar[dict[str, Any]] = {"lr": 1e-3, "rho": 0.9, "eps": 1e-7, "weight_decay": 0.0}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        h = self.hyper
        ops.rmsprop_update(
            p,
            g,
            _slot(state, "avg_sq_grad", p),
            lr=h["lr"],
            rho=h["rho"],
            eps=h["eps"],
            weight_decay=h["weight_decay"],
        )


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adadelta": Adadelta, "rmsprop": RMSprop}


def get(name: str, params: Iterable[Parameter], **hyper: Any) -> Optimizer:
    """An optimizer by name ('sgd', 'adam', 'adadelta', 'rmsprop'); hyper=None values dropped."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None
    return cls(params, **{k: v for k, v in hyper.items() if v is not None})
