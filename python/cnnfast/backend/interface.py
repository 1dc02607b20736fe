"""The interface every backend implements: each kernel function `cnnfast.ops` calls,
with its parameters. Arrays are the backend's own (NumPy on cpu, DeviceArray on cuda),
already validated by ops: shapes agree, dtypes agree, windows and paddings resolved
(stride a pair, padding (top, bottom, left, right)), every array on this backend.
Outputs are new arrays unless a function says it updates in place.

A backend is a package with these functions (`backend.cpu`, `backend.cuda`), one
module per op family (FAMILIES, as in `cnnfast.ops`), each listing what it implements
in `__all__`; tests/test_backend.py checks that each backend has every function, with
these parameter names.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol

Array = Any
Pair = tuple[int, int]
Quad = tuple[int, int, int, int]


FAMILIES = (
    "memory",
    "gemm",
    "conv2d",
    "activation",
    "dropout",
    "pool2d",
    "softmax",
    "batch_norm",
    "lrn",
    "optim",
    "layout",
)


class Backend(Protocol):
    # --- memory (ops/device.py) ---------------------------------------------------------
    def zeros(self, shape: Sequence[int], dtype: Any) -> Array: ...
    def full(self, shape: Sequence[int], value: float, dtype: Any) -> Array: ...
    def from_host(self, array: Any) -> Array:
        """A copy on this backend of a host (NumPy) array."""

    def to_host(self, array: Array) -> Any:
        """A NumPy array holding the data (itself on cpu)."""

    # --- GEMM (ops/gemm.py) ----------------------------------------------------------------
    def matmul(self, a: Array, b: Array, trans_a: bool, trans_b: bool) -> Array: ...

    # --- convolution (ops/conv2d.py) -------------------------------------------------------
    def conv2d_forward(
        self,
        x: Array,
        w: Array,
        b: Array | None,
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
        relu: bool = False,
    ) -> Array: ...
    def conv2d_backward_input(
        self,
        w: Array,
        dy: Array,
        x_shape: Sequence[int],
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
    ) -> Array: ...
    def conv2d_backward_weight(
        self,
        x: Array,
        dy: Array,
        w_shape: Sequence[int],
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
    ) -> Array: ...

    # --- element-wise (ops/activation.py, ops/dropout.py) ----------------------------------
    def bias_add(self, x: Array, b: Array) -> Array: ...
    def bias_add_backward(self, dy: Array) -> Array: ...
    def relu_forward(self, x: Array) -> Array: ...
    def relu_backward(self, x: Array, dy: Array) -> Array: ...
    def tanh_forward(self, x: Array) -> Array: ...
    def tanh_backward(self, y: Array, dy: Array) -> Array: ...
    def sigmoid_forward(self, x: Array) -> Array: ...
    def sigmoid_backward(self, y: Array, dy: Array) -> Array: ...
    def dropout_forward(self, x: Array, p: float, seed: int) -> Array: ...

    # --- pooling (ops/pool2d.py) -------------------------------------------------------------
    def max_pool2d_forward(
        self,
        x: Array,
        kernel_size: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        return_indices: bool,
    ) -> Any: ...
    def max_pool2d_backward(
        self,
        x: Array,
        dy: Array,
        kernel_size: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
    ) -> Array: ...
    def max_pool2d_forward_argmax(
        self,
        x: Array,
        kernel_size: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        relu: bool,
    ) -> tuple[Array, Array]: ...
    def max_pool2d_backward_argmax(
        self,
        argmax: Array,
        dy: Array,
        x_shape: Sequence[int],
        kernel_size: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
    ) -> Array: ...
    def avg_pool2d_forward(
        self,
        x: Array,
        kernel_size: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> Array: ...
    def avg_pool2d_backward(
        self,
        x: Array,
        dy: Array,
        kernel_size: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> Array: ...
    def global_avg_pool2d_forward(self, x: Array) -> Array: ...
    def global_avg_pool2d_backward(self, dy: Array, x_shape: Sequence[int]) -> Array: ...

    # --- softmax and cross-entropy, last axis (ops/softmax.py) -----------------------------
    def softmax_forward(self, x: Array) -> Array: ...
    def softmax_backward(self, y: Array, dy: Array) -> Array: ...
    def log_softmax_forward(self, x: Array) -> Array: ...
    def log_softmax_backward(self, y: Array, dy: Array) -> Array: ...
    def cross_entropy(self, logits: Array, target: Array, soft: bool, reduction: str) -> Array:
        """Per-row losses ('none') or their 'mean' / 'sum' (a 0-d array; the mean of
        no rows is NaN). target: int64 class indices (N,), or probabilities (N, C)
        when soft."""

    def cross_entropy_backward(
        self, logits: Array, target: Array, soft: bool, reduction: str, dloss: Any
    ) -> Array:
        """d(loss)/d(logits) times dloss: an (N,) array for 'none', else a number or
        a 0-d array."""

    # --- batch norm over axis 1 (ops/batch_norm.py) -----------------------------------------
    def batch_norm_train_forward(
        self, x: Array, weight: Array | None, bias: Array | None, eps: float
    ) -> tuple[Array, Array, Array]: ...
    def batch_norm_inference_forward(
        self,
        x: Array,
        mean: Array,
        var: Array,
        weight: Array | None,
        bias: Array | None,
        eps: float,
    ) -> Array: ...
    def batch_norm_backward(
        self, x: Array, dy: Array, mean: Array, invstd: Array, weight: Array | None
    ) -> tuple[Array, Array, Array]: ...
    def batch_norm_inference_backward(
        self, x: Array, dy: Array, mean: Array, var: Array, weight: Array | None, eps: float
    ) -> tuple[Array, Array, Array]:
        """(dx, dweight, dbias) of batch_norm_inference_forward: the statistics are
        constants there, so dx = dy * weight / sqrt(var + eps)."""

    def batch_norm_running_stats(
        self,
        running_mean: Array | None,
        running_var: Array | None,
        mean: Array,
        invstd: Array,
        count: int,
        momentum: float,
        eps: float,
    ) -> None:
        """running = (1 - momentum) running + momentum batch, in place, with the
        unbiased batch variance (count > 0)."""

    # --- local response normalization (ops/lrn.py) -------------------------------------------
    def lrn_forward(self, x: Array, size: int, alpha: float, beta: float, k: float) -> Array: ...
    def lrn_backward(
        self, x: Array, dy: Array, size: int, alpha: float, beta: float, k: float
    ) -> Array: ...

    # --- optimizer steps, in place on p and the state (ops/optim.py) --------------------------
    def sgd_update(
        self,
        p: Array,
        g: Array,
        velocity: Array | None,
        lr: float,
        momentum: float,
        weight_decay: float,
        nesterov: bool,
        first: bool,
    ) -> None: ...
    def adam_update(
        self,
        p: Array,
        g: Array,
        m: Array,
        v: Array,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
        step: int,
    ) -> None: ...
    def rmsprop_update(
        self,
        p: Array,
        g: Array,
        avg_sq_grad: Array,
        lr: float,
        rho: float,
        eps: float,
        weight_decay: float,
    ) -> None: ...
    def adadelta_update(
        self,
        p: Array,
        g: Array,
        avg_sq_grad: Array,
        avg_sq_delta: Array,
        lr: float,
        rho: float,
        eps: float,
        weight_decay: float,
    ) -> None: ...

    # --- layout (ops/layout.py) ---------------------------------------------------------------
    def concat(self, arrays: Sequence[Array], axis: int) -> Array: ...
    def split(self, array: Array, sizes: Sequence[int], axis: int) -> list[Array]: ...
    def sum_backward(
        self,
        g: Array,
        shape: Sequence[int],
        axis: int | tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
    ) -> Array:
        """The gradient of x.sum(axis, keepdims) for x of `shape` and `dtype`: g spread
        back (on cuda, sums over all or leading axes, the sums a DeviceArray has)."""


def function_names() -> list[str]:
    """Every function of the interface, in the order above."""
    return [n for n in Backend.__dict__ if not n.startswith("_") and callable(Backend.__dict__[n])]


def assemble(namespace: dict[str, Any], package: str) -> list[str]:
    """Puts the functions of a backend package's family modules (each one's __all__)
    into the package's namespace; returns their names. A function of the interface
    that no family provides is an ImportError naming it."""
    for family in FAMILIES:
        module = importlib.import_module(f"{package}.{family}")
        namespace.update({n: getattr(module, n) for n in module.__all__})
    missing = [n for n in function_names() if n not in namespace]
    if missing:
        raise ImportError(f"{package} implements no {missing}")
    return function_names()
