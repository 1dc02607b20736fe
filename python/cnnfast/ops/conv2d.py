"""2-D convolution on NumPy arrays: validated here, computed by the C++ kernels.

x (N, C, H, W), w (K, C/groups, R, S), b (K,) -> y (N, K, P, Q); arguments as in
`torch.nn.functional.conv2d`, plus TensorFlow's 'same'/'valid' padding.

Files:
  kernels    csrc/conv2d/conv2d.cpp (dispatch, im2col + GEMM),
             csrc/conv2d/conv2d_algorithm.cpp (the choice per layer and pass),
             csrc/conv2d/conv2d_epilogue.h (+ bias, fused ReLU, in every store),
             csrc/conv2d/conv2d_transforms.cpp (backward-input as a forward problem),
             csrc/conv2d/conv2d_winograd.cpp, csrc/conv2d/conv2d_winograd4.cpp,
             csrc/conv2d/conv2d_winograd_blocks.h, csrc/conv2d/conv2d_winograd_expand.cpp,
             csrc/conv2d/conv2d_direct.cpp, csrc/conv2d/avx2/conv_direct_avx2.cpp,
             csrc/conv2d/conv2d_taps.cpp, csrc/gemm/; CUDA csrc/cuda/conv2d.cuh on
             csrc/cuda/gemm.cuh
  binding    csrc/bindings/conv2d.cpp; CUDA csrc/bindings/cuda_backend.h
  backends   python/cnnfast/backend/cpu/conv2d.py, python/cnnfast/backend/cuda/conv2d.py
  reference  python/cnnfast/reference/conv2d.py
  tests      tests/test_conv2d.py, tests/test_conv2d_relu.py, tests/test_conv2d_winograd.py,
             tests/test_conv2d_direct.py, tests/test_conv2d_taps.py,
             tests/test_conv2d_winograd_expand.py,
             tests/test_nonfinite.py, tests/test_cuda_ops.py
  benchmark  python/cnnfast/bench/ops.py (cnnfast bench ops)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _C
from .._args import Padding, as_float_array, conv_args, require_same_dtype, require_shape
from ..backend import for_arrays


def conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    relu: bool = False,
) -> np.ndarray:
    """y = conv2d(x, w) + b, or relu(conv2d(x, w) + b) with relu=True (fused: each
    output is stored once, as ReLU of its sum; exactly `relu(conv2d(...))` of the
    same algorithm, for finite x and w).  x (N,C,H,W), w (K,C/groups,R,S), b (K,) -> (N,K,P,Q)."""
    a = conv_args("conv2d", x, w, stride, padding, dilation, groups)
    if b is not None:
        b = as_float_array("conv2d", "b", b)
        require_same_dtype("conv2d", x=a.x, b=b)
        require_shape("conv2d", "b", b, (a.w.shape[0],), f"one per output channel of w {a.w.shape}")
    if not isinstance(relu, (bool, np.bool_)):
        raise TypeError(f"conv2d: relu must be a bool, got {relu!r}")
    k = for_arrays("conv2d", x=a.x, w=a.w, b=b)
    return k.conv2d_forward(a.x, a.w, b, *a.kernel_args(), bool(relu))


def conv2d_algorithm(
    x_shape: Any,
    w_shape: Any,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    pass_: str = "forward",
) -> str:
    """Which algorithm one pass of conv2d ('forward', 'backward_input' or
    'backward_weight') runs for this layer: 'im2col' (column matrix + GEMM, any
    shape), 'winograd' / 'winograd4' (F(2x2, 3x3) / F(4x4, 3x3), 3x3 stride 1),
    'expand' / 'expand4' (the same on a strided, larger-kernel or grouped layer
    rewritten as a 3x3 stride-1 one), 'direct' (GEMM on shifted windows of the padded
    plane, stride 1) or 'taps' (one GEMM per kernel tap, stride 1, tiny maps). The
    rules, with the measurements behind them, are in csrc/conv2d/conv2d_algorithm.cpp;
    `_C.set_conv_algorithm` forces one where it applies."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    # Validated like conv2d on zero-size stand-ins of the same geometry.
    x, w = np.empty((0, *x_shape[1:]), np.float32), np.empty(w_shape, np.float32)
    a = conv_args("conv2d_algorithm", x, w, stride, padding, dilation, groups)
    return _C.conv2d_algorithm(x_shape, w_shape, *a.kernel_args(), pass_)


def conv2d_backward(
    x: Any,
    w: Any,
    dy: Any,
    stride: Any = 1,
    padding: Padding = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    need_input_grad: bool = True,
    need_weight_grad: bool = True,
    need_bias_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients (dx, dw, db) of conv2d given dy (N,K,P,Q); skipped ones are None."""
    op = "conv2d_backward"
    a = conv_args(op, x, w, stride, padding, dilation, groups)
    dy = as_float_array(op, "dy", dy)
    require_same_dtype(op, x=a.x, dy=dy)
    expected = (a.x.shape[0], a.w.shape[0], *a.out_hw)
    require_shape(op, "dy", dy, expected, f"the output of x {a.x.shape} and w {a.w.shape}")
    kargs = a.kernel_args()
    k = for_arrays(op, x=a.x, w=a.w, dy=dy)
    dx = k.conv2d_backward_input(a.w, dy, a.x.shape, *kargs) if need_input_grad else None
    dw = k.conv2d_backward_weight(a.x, dy, a.w.shape, *kargs) if need_weight_grad else None
    db = k.bias_add_backward(dy) if need_bias_grad else None
    return dx, dw, db
