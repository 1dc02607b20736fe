"""Batch normalization over axis 1 on the device: csrc/cuda/batch_norm.cuh."""

from __future__ import annotations

from ._common import DeviceArray, addr, backend, channels, out


def _apply(
    x: DeviceArray,
    mean: DeviceArray,
    scale: DeviceArray,
    from_var: bool,
    eps: float,
    w: DeviceArray | None,
    b: DeviceArray | None,
) -> DeviceArray:
    """(x - mean) * scale * w + b per channel; scale = 1/sqrt(scale + eps) when from_var."""
    N, C, L = channels(x)
    y = out(x.shape, x)
    backend().batch_norm_apply(
        x.dtype.name, N, C, L, x.ptr, mean.ptr, scale.ptr, from_var, eps, addr(w), addr(b), y.ptr
    )
    return y


def batch_norm_train_forward(
    x: DeviceArray, weight: DeviceArray | None, bias: DeviceArray | None, eps: float
) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
    N, C, L = channels(x)
    mean, invstd = out((C,), x), out((C,), x)
    backend().batch_norm_stats(x.dtype.name, N, C, L, x.ptr, eps, mean.ptr, invstd.ptr)
    return _apply(x, mean, invstd, False, eps, weight, bias), mean, invstd


def batch_norm_inference_forward(
    x: DeviceArray,
    mean: DeviceArray,
    var: DeviceArray,
    weight: DeviceArray | None,
    bias: DeviceArray | None,
    eps: float,
) -> DeviceArray:
    return _apply(x, mean, var, True, eps, weight, bias)


def batch_norm_backward(
    x: DeviceArray,
    dy: DeviceArray,
    mean: DeviceArray,
    invstd: DeviceArray,
    weight: DeviceArray | None,
) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
    N, C, L = channels(x)
    dx, dw, db = out(x.shape, x), out((C,), x), out((C,), x)
    backend().batch_norm_backward(
        x.dtype.name,
        N,
        C,
        L,
        x.ptr,
        dy.ptr,
        mean.ptr,
        invstd.ptr,
        addr(weight),
        dx.ptr,
        dw.ptr,
        db.ptr,
    )
    return dx, dw, db


def batch_norm_inference_backward(
    x: DeviceArray,
    dy: DeviceArray,
    mean: DeviceArray,
    var: DeviceArray,
    weight: DeviceArray | None,
    eps: float,
) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
    N, C, L = channels(x)
    dx, dw, db = out(x.shape, x), out((C,), x), out((C,), x)
    backend().batch_norm_inference_backward(
        x.dtype.name, N, C, L, x.ptr, dy.ptr, mean.ptr, var.ptr, eps, addr(weight), dx.ptr, dw.ptr,
        db.ptr,
    )  # fmt: skip
    return dx, dw, db


def batch_norm_running_stats(
    running_mean: DeviceArray | None,
    running_var: DeviceArray | None,
    mean: DeviceArray,
    invstd: DeviceArray,
    count: int,
    momentum: float,
    eps: float,
) -> None:
    backend().batch_norm_running_stats(
        mean.dtype.name,
        mean.size,
        mean.ptr,
        invstd.ptr,
        eps,
        count,
        momentum,
        addr(running_mean),
        addr(running_var),
    )


__all__ = [
    "batch_norm_backward",
    "batch_norm_inference_backward",
    "batch_norm_inference_forward",
    "batch_norm_running_stats",
    "batch_norm_train_forward",
]
