"""Optimizer steps in place on the device, one fused kernel each: csrc/cuda/optim.cuh."""

from __future__ import annotations

from ._common import DeviceArray, addr, backend


def sgd_update(
    p: DeviceArray,
    g: DeviceArray,
    velocity: DeviceArray | None,
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
    first: bool,
) -> None:
    backend().sgd(
        p.dtype.name, p.size, p.ptr, addr(velocity), g.ptr, lr, momentum, weight_decay,
        nesterov, first,
    )  # fmt: skip


def adam_update(
    p: DeviceArray,
    g: DeviceArray,
    m: DeviceArray,
    v: DeviceArray,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int,
) -> None:
    backend().adam(
        p.dtype.name, p.size, p.ptr, m.ptr, v.ptr, g.ptr, lr, beta1, beta2, eps, weight_decay, step
    )


def rmsprop_update(
    p: DeviceArray,
    g: DeviceArray,
    avg_sq_grad: DeviceArray,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    backend().rmsprop(
        p.dtype.name, p.size, p.ptr, avg_sq_grad.ptr, g.ptr, lr, rho, eps, weight_decay
    )


def adadelta_update(
    p: DeviceArray,
    g: DeviceArray,
    avg_sq_grad: DeviceArray,
    avg_sq_delta: DeviceArray,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    backend().adadelta(
        p.dtype.name, p.size, p.ptr, avg_sq_grad.ptr, avg_sq_delta.ptr, g.ptr, lr, rho, eps,
        weight_decay,
    )  # fmt: skip


__all__ = [
    "adadelta_update",
    "adam_update",
    "rmsprop_update",
    "sgd_update",
]
