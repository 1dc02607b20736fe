"""2-D max and average pooling on NumPy arrays (NCHW), as in torch.nn.functional.

Padding: int, pair, 4-tuple (top, bottom, left, right), 'valid' or 'same'
(TensorFlow's). Padding never wins a max; explicit padding may be at most half
the kernel.

Files:
  kernels    csrc/pool2d/pool2d.cpp, csrc/pool2d/pool2d_argmax.cpp (byte argmax codes,
             the fused ReLU: max pooling's hot path),
             csrc/pool2d/avx2/max_pool2x2_avx2.cpp (2x2 stride 2); CUDA csrc/cuda/pool2d.cuh
  binding    csrc/bindings/pool2d.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/pool2d.py, python/cnnfast/backend/cuda/pool2d.py
  reference  python/cnnfast/reference/pool2d.py
  tests      tests/test_pool2d.py, tests/test_pool2d_argmax.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/ops.py (cnnfast bench ops)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import (
    Padding,
    PoolArgs,
    _as_int,
    as_float_array,
    int_pair,
    pool_args,
    pool_window,
    require_ndim,
    require_same_dtype,
    require_shape,
)
from .._sizes import require_representable
from ..backend import as_array, for_arrays


def _checked_dy(op: str, a: PoolArgs, dy: Any) -> np.ndarray:
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, x=a.x, dy=dy)
    require_shape(op, "dy", dy, (*a.x.shape[:2], *a.out_hw), f"the pooled shape of x {a.x.shape}")
    return dy


def max_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over windows. With return_indices, also the argmax as h*W + w in each plane."""
    a = pool_args("max_pool2d", x, kernel_size, stride, padding, ceil_mode)
    return for_arrays("max_pool2d", x=a.x).max_pool2d_forward(
        a.x, *a.kernel_args(), bool(return_indices)
    )


def max_pool2d_backward(
    x: Any,
    dy: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """dx: each dy goes to its window's (first) maximum."""
    op = "max_pool2d_backward"
    a = pool_args(op, x, kernel_size, stride, padding, ceil_mode)
    dy = _checked_dy(op, a, dy)
    return for_arrays(op, x=a.x, dy=dy).max_pool2d_backward(a.x, dy, *a.kernel_args())


# Windows whose cell index fits the one-byte argmax code (255 means "no gradient").
MAX_ARGMAX_WINDOW = 255


def max_pool2d_argmax(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
    relu: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(y, argmax), both (N, C, P, Q): y as max_pool2d(x) (of relu(x) with relu=True);
    argmax (uint8) names each window's winning cell as (h - h0) * kw + (w - w0), from
    the window's origin (h0, w0) = (oh*stride - pad_top, ow*stride - pad_left), or is
    255 where ReLU passes no gradient (the max is <= 0). For the backward, it stands in
    for x at one byte per output. The window may have at most 255 cells."""
    op = "max_pool2d_argmax"
    a = pool_args(op, x, kernel_size, stride, padding, ceil_mode)
    _require_byte_window(op, a.kernel)
    return for_arrays(op, x=a.x).max_pool2d_forward_argmax(a.x, *a.kernel_args(), bool(relu))


def max_pool2d_backward_argmax(
    argmax: Any,
    dy: Any,
    x_shape: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """dx (x_shape) from max_pool2d_argmax's codes: each dy goes to its window's
    winning cell; codes of 255 pass nothing."""
    op = "max_pool2d_backward_argmax"
    x_shape = tuple(_as_int(op, "x_shape", n) for n in x_shape)
    if len(x_shape) != 4 or min(x_shape) < 0:
        raise ValueError(f"{op}: x_shape must be (N, C, H, W) with no negative size, got {x_shape}")
    require_representable(
        op, "dx of x_shape", x_shape, dy.dtype if hasattr(dy, "dtype") else np.float64
    )
    kernel, stride_, pad, ceil, out_hw = pool_window(
        op, x_shape, kernel_size, stride, padding, ceil_mode
    )
    _require_byte_window(op, kernel)
    expected = (*x_shape[:2], *out_hw)
    argmax = as_array(argmax)
    if argmax.dtype != np.uint8:
        raise TypeError(f"{op}: argmax must be uint8 (from max_pool2d_argmax), got {argmax.dtype}")
    require_shape(op, "argmax", argmax, expected, f"the pooled shape of x {x_shape}")
    dy = as_float_array(op, "dy", dy)
    require_shape(op, "dy", dy, expected, f"the pooled shape of x {x_shape}")
    k = for_arrays(op, argmax=argmax, dy=dy)
    return k.max_pool2d_backward_argmax(argmax, dy, x_shape, kernel, stride_, pad, ceil)


def fits_argmax_window(kernel_size: Any) -> bool:
    """Whether max_pool2d_argmax's byte codes can name every cell of this window
    (an int k means k x k, as everywhere)."""
    kh, kw = int_pair("max_pool2d", "kernel_size", kernel_size, 1)
    return kh * kw <= MAX_ARGMAX_WINDOW


def _require_byte_window(op: str, kernel: tuple[int, int]) -> None:
    if kernel[0] * kernel[1] > MAX_ARGMAX_WINDOW:
        raise ValueError(
            f"{op}: kernel {kernel} has {kernel[0] * kernel[1]} cells; byte argmax codes "
            f"cover at most {MAX_ARGMAX_WINDOW} (use max_pool2d_backward with x instead)"
        )


def avg_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Mean over windows; count_include_pad counts padded cells in the divisor."""
    a = pool_args("avg_pool2d", x, kernel_size, stride, padding, ceil_mode)
    return for_arrays("avg_pool2d", x=a.x).avg_pool2d_forward(
        a.x, *a.kernel_args(), bool(count_include_pad)
    )


def avg_pool2d_backward(
    x: Any,
    dy: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Padding = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    op = "avg_pool2d_backward"
    a = pool_args(op, x, kernel_size, stride, padding, ceil_mode)
    dy = _checked_dy(op, a, dy)
    k = for_arrays(op, x=a.x, dy=dy)
    return k.avg_pool2d_backward(a.x, dy, *a.kernel_args(), bool(count_include_pad))


def _global_x(op: str, x: Any) -> np.ndarray:
    x = as_float_array(op, "x", x)
    require_ndim(op, "x", x, 4, "(N, C, H, W)")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{op}: x has no pixels to average: shape {x.shape}")
    return x


def global_avg_pool2d(x: Any) -> np.ndarray:
    """Mean of each plane: (N, C, H, W) -> (N, C, 1, 1)."""
    x = _global_x("global_avg_pool2d", x)
    return for_arrays("global_avg_pool2d", x=x).global_avg_pool2d_forward(x)


def global_avg_pool2d_backward(x: Any, dy: Any) -> np.ndarray:
    op = "global_avg_pool2d_backward"
    x = _global_x(op, x)
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, x=x, dy=dy)
    require_shape(op, "dy", dy, (*x.shape[:2], 1, 1))
    return for_arrays(op, x=x, dy=dy).global_avg_pool2d_backward(dy, x.shape)
