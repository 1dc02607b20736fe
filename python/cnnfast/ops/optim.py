"""Optimizer updates in place: one pass over a parameter and its state arrays.

p and every state array must be one float dtype and one shape, on one device, and
writable; g is cast to p's dtype. A host array that is a strided view (a parameter
sliced from a bigger one) is updated through a contiguous copy written back.

Files:
  kernels    csrc/optim.cpp (Adam); NumPy for SGD, RMSprop and Adadelta on the host;
             CUDA csrc/cuda/optim.cuh
  binding    csrc/bindings/optim.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/optim.py, python/cnnfast/backend/cuda/optim.py
  reference  python/cnnfast/reference/optim.py (Adam: the same arithmetic in the same order)
  tests      tests/test_optim.py, tests/test_backend.py
  benchmark  python/cnnfast/bench/nets.py (in each training step)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._args import as_float_array
from ..backend import for_arrays, is_device_array


def _in_place(op: str, p: Any, g: Any, state: dict[str, Any]) -> tuple[Any, Any]:
    """Checks p and the state arrays (updated in place) and returns (backend, g)."""
    arrays = {"p": p, **state}
    for name, a in arrays.items():
        if a is None:
            continue
        on_device = is_device_array(a)
        if not (on_device or isinstance(a, np.ndarray)) or a.dtype not in (
            np.float32,
            np.float64,
        ):
            raise TypeError(f"{op}: {name} must be a float32 or float64 array, got {type(a)}")
        if a.dtype != p.dtype or a.shape != p.shape:
            raise ValueError(
                f"{op}: {name} {a.dtype}{a.shape} must match p {p.dtype}{p.shape} "
                "(updated in place)"
            )
        if not on_device and not a.flags.writeable:
            raise ValueError(f"{op}: {name} must be writable (updated in place)")
    k = for_arrays(op, g=g, **arrays)
    g = as_float_array(op, "g", g)
    if g.shape != p.shape:
        raise ValueError(f"{op}: g {g.shape} must have p's shape {p.shape}")
    return k, g if g.dtype == p.dtype else g.astype(p.dtype)


def _run(update: Callable[..., None], p: Any, g: Any, state: list[Any], **hyper: Any) -> None:
    """update(p, g, *state, **hyper) in place, through contiguous copies of any strided
    host arrays, written back."""
    arrays = [p, *state]
    strided = [
        a is not None and not is_device_array(a) and not a.flags.c_contiguous for a in arrays
    ]
    if not any(strided):
        update(p, g, *state, **hyper)
        return
    work = [np.ascontiguousarray(a) if s else a for a, s in zip(arrays, strided)]
    update(work[0], g, *work[1:], **hyper)
    for a, w, s in zip(arrays, work, strided):
        if s:
            a[...] = w


def sgd_update(
    p: Any,
    g: Any,
    velocity: Any,
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
    first: bool,
) -> None:
    """SGD step (PyTorch's formulation): velocity (None without momentum) becomes g on
    the first step and momentum * velocity + g after; p -= lr * (g + momentum * velocity
    if nesterov else velocity), g including weight_decay * p."""
    k, g = _in_place("sgd_update", p, g, {"velocity": velocity})
    hyper = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    _run(k.sgd_update, p, g, [velocity if momentum else None], **hyper, first=bool(first))


def adam_update(
    p: Any,
    g: Any,
    m: Any,
    v: Any,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int,
) -> None:
    """Adam step `step` (1 for the first), updating p, m and v in place."""
    k, g = _in_place("adam_update", p, g, {"m": m, "v": v})
    if int(step) < 1:
        raise ValueError(f"adam_update: step must be >= 1, got {step}")
    hyper = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    _run(k.adam_update, p, g, [m, v], **hyper, step=int(step))


def rmsprop_update(
    p: Any, g: Any, avg_sq_grad: Any, *, lr: float, rho: float, eps: float, weight_decay: float
) -> None:
    """RMSprop step: avg_sq_grad = rho avg_sq_grad + (1 - rho) g^2; p -= lr g / (sqrt(.) + eps)."""
    k, g = _in_place("rmsprop_update", p, g, {"avg_sq_grad": avg_sq_grad})
    hyper = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
    _run(k.rmsprop_update, p, g, [avg_sq_grad], **hyper)


def adadelta_update(
    p: Any,
    g: Any,
    avg_sq_grad: Any,
    avg_sq_delta: Any,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
) -> None:
    """Adadelta step (Zeiler 2012, Algorithm 1), scaled by lr."""
    state = {"avg_sq_grad": avg_sq_grad, "avg_sq_delta": avg_sq_delta}
    k, g = _in_place("adadelta_update", p, g, state)
    hyper = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
    _run(k.adadelta_update, p, g, [avg_sq_grad, avg_sq_delta], **hyper)
