"""Argument checks and normalisation shared by `cnnfast.ops` and `cnnfast.reference`.

Everything a user can pass wrong is caught here, once, with a message that names
the op, the argument and the shapes involved. Kernels below trust what comes out.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple, Union

import numpy as np

from ._sizes import MAX_ELEMENTS, require_index, require_representable
from .backend import is_device_array

Padding = Union[int, Sequence[int], str]
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(op: str, name: str, value: Any) -> np.ndarray:
    """`value` as a C-contiguous float32/float64 array (a device array stays one, on
    the device); anything else is a TypeError."""
    if is_device_array(value):
        if value.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"{op}: {name} must be float32 or float64, got dtype {value.dtype} "
                f"with shape {value.shape} on cuda"
            )
        return value  # type: ignore[return-value]
    arr = value if type(value) is np.ndarray else np.asarray(value)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}: {name} must be float32 or float64, got dtype {arr.dtype} with shape {arr.shape}"
        )
    # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")


def require_ndim(op: str, name: str, arr: np.ndarray, ndim: int, layout: str = "") -> None:
    if arr.ndim != ndim:
        what = f" {layout}" if layout else ""
        raise ValueError(f"{op}: {name} must be {ndim}-D{what}, got shape {arr.shape}")


def require_same_dtype(op: str, **arrays: np.ndarray | None) -> None:
    if len({a.dtype for a in arrays.values() if a is not None}) <= 1:
        return  # the common case, checked without building the message's pieces
    named = [(k, a) for k, a in arrays.items() if a is not None]
    first_name, first = named[0]
    for name, arr in named[1:]:
        if arr.dtype != first.dtype:
            raise TypeError(
                f"{op}: {first_name} is {first.dtype} but {name} is {arr.dtype}; "
                "cast them to one dtype"
            )


def require_shape(
    op: str, name: str, arr: np.ndarray, shape: tuple[int, ...], why: str = ""
) -> None:
    if tuple(arr.shape) != tuple(shape):
        extra = f" ({why})" if why else ""
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}{extra}, got {arr.shape}")


def _as_int(op: str, name: str, v: Any) -> int:
    if type(v) is int:  # the common case first: the ABC checks below cost ~1 us
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {v!r}")
    return int(v)


def int_pair(op: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum."""
    if type(value) is int and value >= minimum:
        return (value, value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair, got {value!r}")
        out = (_as_int(op, name, value[0]), _as_int(op, name, value[1]))
    else:
        v = _as_int(op, name, value)
        out = (v, v)
    if min(out) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return out


def positive_int(op: str, name: str, value: Any) -> int:
    if type(value) is int and value >= 1:
        return value
    v = _as_int(op, name, value)
    if v < 1:
        raise ValueError(f"{op}: {name} must be >= 1, got {value!r}")
    return v


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME: output ceil(size/stride); odd total padding puts the extra at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    op: str,
    padding: Padding,
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, a 4-tuple, 'valid' or 'same'."""
    if type(padding) is int and padding >= 0:
        return (padding, padding, padding, padding)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode == "same":
            t, b = same_padding(in_hw[0], kernel_hw[0], stride[0], dilation[0])
            l, r = same_padding(in_hw[1], kernel_hw[1], stride[1], dilation[1])
            return (t, b, l, r)
        raise ValueError(f"{op}: padding must be 'valid', 'same' or ints, got {padding!r}")
    if isinstance(padding, Sequence):
        vals = tuple(_as_int(op, "padding", v) for v in padding)
        if len(vals) == 2:
            vals = (vals[0], vals[0], vals[1], vals[1])
        elif len(vals) != 4:
            raise ValueError(
                f"{op}: padding must be an int, a pair (h, w) or a 4-tuple "
                f"(top, bottom, left, right), got {padding!r}"
            )
    else:
        p = _as_int(op, "padding", padding)
        vals = (p, p, p, p)
    if min(vals) < 0:
        raise ValueError(f"{op}: padding must be >= 0, got {padding!r}")
    return vals  # type: ignore[return-value]


def check_padding(op: str, padding: Padding) -> None:
    """The forms padding takes (an int, a pair, a 4-tuple of ints >= 0, 'valid' or
    'same'), checked where no input size is known yet (a layer's constructor)."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be 'valid', 'same' or ints, got {padding!r}")
        return
    resolve_padding(op, padding, (1, 1), (1, 1), (1, 1))


def output_size(
    size: int,
    kernel: int,
    stride: int,
    dilation: int,
    pad_before: int,
    pad_after: int,
    ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window along one axis (docs/DESIGN.md's formula, as
    csrc/shapes.cpp computes it). With ceil_mode the last window may overhang the
    padded input by up to stride - 1 (PyTorch's rule: an output of at least 1 is
    valid), but it must start inside the input or the left padding."""
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1
    if span < 0 and not (ceil_mode and span > -stride):
        return 0
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1  # the last window must start inside the input or the left padding
    return out


class ConvArgs(NamedTuple):
    """Validated conv2d arguments, in the form the kernels take. (A NamedTuple: a
    frozen dataclass cost ~1.5 us per call, a fifth of a tiny conv's overhead.)"""

    x: np.ndarray
    w: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int
    out_hw: tuple[int, int]

    def kernel_args(self) -> tuple[Any, ...]:
        return (self.stride, self.padding, self.dilation, self.groups)


# Geometry already validated, by everything it depends on: a layer called again
# with the same shapes skips the checks (a tiny conv's Python overhead halves).
# Bounded: cleared when full.
_GEOMETRY_CACHE: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_GEOMETRY_CACHE_SIZE = 512


def _plain(v: Any) -> bool:
    """Whether `v` may key the cache: exactly an int, a str, a bool flag, None, or a
    tuple of ints. Anything else (2.0, True as a stride, numpy.int64, a list) is
    validated afresh on every call: 2.0 == 2 and hash(2.0) == hash(2), so a key
    made of raw values would let a float in once the equal int had been used."""
    t = type(v)
    return (
        t is int
        or t is str
        or t is bool
        or v is None
        or (t is tuple and all(type(e) is int for e in v))
    )


def _key(prefix: tuple[Any, ...], *params: Any) -> tuple[Any, ...] | None:
    """The cache key of a geometry, or None when a parameter is not plain. The
    types are part of the key (a bool flag and an int stride never share one)."""
    for v in params:
        if not _plain(v):
            return None
    return (*prefix, *((type(v), v) for v in params))


def _cached(key: tuple[Any, ...] | None, compute: Any) -> tuple[Any, ...]:
    if key is None:
        return compute()
    try:
        return _GEOMETRY_CACHE[key]
    except KeyError:
        pass
    value = compute()
    if len(_GEOMETRY_CACHE) >= _GEOMETRY_CACHE_SIZE:
        _GEOMETRY_CACHE.clear()
    _GEOMETRY_CACHE[key] = value
    return value


def conv_args(
    op: str, x: Any, w: Any, stride: Any, padding: Padding, dilation: Any, groups: Any
) -> ConvArgs:
    x = as_float_array(op, "x", x)
    w = as_float_array(op, "w", w)
    require_ndim(op, "x", x, 4, "(N, C, H, W)")
    require_ndim(op, "w", w, 4, "(K, C/groups, R, S)")
    require_same_dtype(op, x=x, w=w)
    key = _key(("conv", op, x.shape[1:], w.shape), stride, padding, dilation, groups)
    geometry = _cached(key, lambda: _conv_geometry(op, x, w, stride, padding, dilation, groups))
    P, Q = geometry[4]
    if x.shape[0] * w.shape[0] * P * Q > MAX_ELEMENTS:  # one image's output was checked
        require_representable(op, "the output", (x.shape[0], w.shape[0], P, Q), x.dtype)
    return ConvArgs(x, w, *geometry)


def _conv_geometry(
    op: str, x: np.ndarray, w: np.ndarray, stride: Any, padding: Padding, dilation: Any, groups: Any
) -> tuple[Any, ...]:
    """(stride, padding, dilation, groups, out_hw), validated; independent of the batch."""
    groups = positive_int(op, "groups", groups)
    stride = int_pair(op, "stride", stride, 1)
    dilation = int_pair(op, "dilation", dilation, 1)
    _, C, H, W = x.shape
    K, Cg, R, S = w.shape
    if groups > max(K, 1):  # (as PyTorch: every group has a filter)
        raise ValueError(
            f"{op}: groups={groups} is more than the output channels ({K}, w {w.shape}): "
            "every group needs at least one filter"
        )
    if C % groups or K % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide the input channels ({C}, x {x.shape}) "
            f"and the output channels ({K}, w {w.shape})"
        )
    if Cg * groups != C:
        raise ValueError(
            f"{op}: channel mismatch: x {x.shape} has C={C}, but w {w.shape} with "
            f"groups={groups} expects C={Cg * groups}"
        )
    if R < 1 or S < 1:
        raise ValueError(f"{op}: w has an empty kernel: {w.shape}")
    pad = resolve_padding(op, padding, (H, W), (R, S), stride, dilation)
    for name, values in (("groups", (groups,)), ("stride", stride), ("dilation", dilation)):
        require_index(op, name, max(values))
    require_index(op, "padding", max(pad))
    eff = (dilation[0] * (R - 1) + 1, dilation[1] * (S - 1) + 1)
    padded = (H + pad[0] + pad[1], W + pad[2] + pad[3])
    require_index(op, f"the dilated kernel (w {w.shape}, dilation {dilation})", max(eff))
    require_index(op, f"the padded input (x {x.shape}, padding {pad})", max(padded))
    if eff[0] > padded[0] or eff[1] > padded[1]:
        raise ValueError(
            f"{op}: kernel {eff[0]}x{eff[1]} (w {w.shape}, dilation {dilation}) is larger than "
            f"the padded input {padded[0]}x{padded[1]} (x {x.shape}, padding {pad})"
        )
    out_hw = (
        output_size(H, R, stride[0], dilation[0], pad[0], pad[1]),
        output_size(W, S, stride[1], dilation[1], pad[2], pad[3]),
    )
    # What the kernels build for one image (csrc/shapes.cpp checks the same): the
    # output, the padded plane and the unrolled input.
    why = f"(x {x.shape}, w {w.shape}, stride {stride}, padding {pad}, dilation {dilation})"
    require_representable(op, f"one image's output {why}", (K, *out_hw), x.dtype)
    require_representable(op, f"the padded input plane {why}", padded, x.dtype)
    require_representable(op, f"one image's unrolled input {why}", (Cg * R * S, *out_hw), x.dtype)
    return stride, pad, dilation, groups, out_hw


class PoolArgs(NamedTuple):
    """Validated pooling arguments, in the form the kernels take."""

    x: np.ndarray
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    ceil_mode: bool
    out_hw: tuple[int, int]

    def kernel_args(self) -> tuple[Any, ...]:
        return (self.kernel, self.stride, self.padding, self.ceil_mode)


def pool_args(
    op: str, x: Any, kernel_size: Any, stride: Any, padding: Padding, ceil_mode: bool
) -> PoolArgs:
    x = as_float_array(op, "x", x)
    require_ndim(op, "x", x, 4, "(N, C, H, W)")
    key = _key(("pool", op, x.shape), kernel_size, stride, padding, ceil_mode)
    window = _cached(key, lambda: pool_window(op, x.shape, kernel_size, stride, padding, ceil_mode))
    return PoolArgs(x, *window)


def pool_window(
    op: str,
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any,
    padding: Padding,
    ceil_mode: bool,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int], bool, tuple[int, int]]:
    """(kernel, stride, padding, ceil_mode, out_hw) of pooling an input of x_shape."""
    kernel = int_pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else int_pair(op, "stride", stride, 1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{op}: ceil_mode must be a bool, got {ceil_mode!r}")
    H, W = x_shape[2:]
    if H < 1 or W < 1:  # (as PyTorch: only the batch may be empty)
        raise ValueError(
            f"{op}: x {tuple(x_shape)} has an empty plane (H x W = {H} x {W}): "
            "no window would hold an input element"
        )
    pad = resolve_padding(op, padding, (H, W), kernel, stride)
    if 2 * max(pad[:2]) > kernel[0] or 2 * max(pad[2:]) > kernel[1]:
        raise ValueError(
            f"{op}: padding {pad} must be at most half the kernel {kernel} "
            "(a window must not see only padding)"
        )
    padded = (H + pad[0] + pad[1], W + pad[2] + pad[3])
    for name, values in (("kernel_size", kernel), ("stride", stride), ("padding", pad)):
        require_index(op, name, max(values))
    # (the kernels form a window's end and the padded end plus a stride)
    require_index(
        op,
        f"the padded input (x {tuple(x_shape)}, padding {pad}) plus kernel_size and stride",
        max(padded[0] + kernel[0] + stride[0], padded[1] + kernel[1] + stride[1]),
    )
    out_hw = (
        output_size(H, kernel[0], stride[0], 1, pad[0], pad[1], bool(ceil_mode)),
        output_size(W, kernel[1], stride[1], 1, pad[2], pad[3], bool(ceil_mode)),
    )
    if min(out_hw) < 1:  # PyTorch's rule: the output size decides
        raise ValueError(
            f"{op}: kernel {kernel} is larger than the padded input {padded} "
            f"(x {tuple(x_shape)}, padding {pad}, stride {stride}, ceil_mode={bool(ceil_mode)}): "
            "no window fits"
        )
    # (for one image even if the batch is empty: the kernels size planes of P x Q)
    require_representable(
        op, "the output", (max(x_shape[0], 1), *x_shape[1:2], *out_hw), np.float64
    )
    require_representable(op, "the output plane", out_hw, np.float64)
    return kernel, stride, pad, bool(ceil_mode), out_hw
