# Type stub for the pybind11 module cnnfast._C (csrc/bindings/). Each kernel
# entry point takes float32 or float64 arrays (one overload per dtype) and
# returns new arrays of the same dtype. tests/test_runtime.py keeps this file
# in step with the module: same names, same parameter names.
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.floating]
IntArray = NDArray[np.int64]
ByteArray = NDArray[np.uint8]
Pair = tuple[int, int]
Quad = tuple[int, int, int, int]

__version__: str
cuda_built: bool

class CudaBackend:
    """One build of the CUDA backend, a submodule (csrc/bindings/cuda_backend.h): device
    memory, copies, and the kernels on device addresses (ints). Geometry is validated
    by the CPU's shape code and every address against the live device arrays."""

    name: str
    Buffer: type
    Borrowed: type
    def activation(
        self, dtype: str, op: CudaActivation, n: int, a: int, b: int, out: int
    ) -> None: ...
    def adadelta(
        self,
        dtype: str,
        n: int,
        p: int,
        avg_sq_grad: int,
        avg_sq_delta: int,
        g: int,
        lr: float,
        rho: float,
        eps: float,
        weight_decay: float,
    ) -> None: ...
    def adam(
        self,
        dtype: str,
        n: int,
        p: int,
        m: int,
        v: int,
        g: int,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
        step: int,
    ) -> None: ...
    def avg_pool(
        self,
        dtype: str,
        x_shape: Sequence[int],
        kernel: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        count_include_pad: bool,
        x: int,
        y: int,
    ) -> None: ...
    def avg_pool_backward(
        self,
        dtype: str,
        x_shape: Sequence[int],
        kernel: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        count_include_pad: bool,
        dy: int,
        dx: int,
    ) -> None: ...
    def axpby(
        self, dtype: str, n: int, alpha: float, a: int, beta: float, b: int, period: int, out: int
    ) -> None: ...
    def batch_norm_apply(
        self,
        dtype: str,
        N: int,
        C: int,
        L: int,
        x: int,
        mean: int,
        scale: int,
        from_var: bool,
        eps: float,
        w: int,
        b: int,
        y: int,
    ) -> None: ...
    def batch_norm_backward(
        self,
        dtype: str,
        N: int,
        C: int,
        L: int,
        x: int,
        dy: int,
        mean: int,
        invstd: int,
        w: int,
        dx: int,
        dw: int,
        db: int,
    ) -> None: ...
    def batch_norm_inference_backward(
        self,
        dtype: str,
        N: int,
        C: int,
        L: int,
        x: int,
        dy: int,
        mean: int,
        var: int,
        eps: float,
        w: int,
        dx: int,
        dw: int,
        db: int,
    ) -> None: ...
    def batch_norm_running_stats(
        self,
        dtype: str,
        C: int,
        mean: int,
        invstd: int,
        eps: float,
        count: int,
        momentum: float,
        running_mean: int,
        running_var: int,
    ) -> None: ...
    def batch_norm_stats(
        self, dtype: str, N: int, C: int, L: int, x: int, eps: float, mean: int, invstd: int
    ) -> None: ...
    def bias_add(self, dtype: str, n: int, C: int, L: int, x: int, bias: int, y: int) -> None: ...
    def broadcast_scalar(self, dtype: str, n: int, src: int, scale: float, out: int) -> None: ...
    def channel_sum(
        self, dtype: str, N: int, C: int, L: int, x: int, scale: float, out: int
    ) -> None: ...
    def conv2d_backward_input(
        self,
        dtype: str,
        x_shape: Sequence[int],
        w_shape: Sequence[int],
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
        w: int,
        dy: int,
        dx: int,
    ) -> None: ...
    def conv2d_backward_weight(
        self,
        dtype: str,
        x_shape: Sequence[int],
        w_shape: Sequence[int],
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
        x: int,
        dy: int,
        dw: int,
    ) -> None: ...
    def conv2d_forward(
        self,
        dtype: str,
        x_shape: Sequence[int],
        w_shape: Sequence[int],
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
        x: int,
        w: int,
        bias: int,
        y: int,
    ) -> None: ...
    def conv2d_output_shape(
        self,
        x_shape: Sequence[int],
        w_shape: Sequence[int],
        stride: Pair,
        padding: Quad,
        dilation: Pair,
        groups: int,
    ) -> list[int]: ...
    def copy(self, dst: int, src: int, nbytes: int) -> None: ...
    def copy_from_host(self, dst: int, src: Any, nbytes: int) -> None: ...
    def copy_rows(
        self,
        dtype: str,
        rows: int,
        width: int,
        src: int,
        src_stride: int,
        src_offset: int,
        dst: int,
        dst_stride: int,
        dst_offset: int,
    ) -> None: ...
    def copy_to_host(self, dst: Any, src: int, nbytes: int) -> None: ...
    def cross_entropy(
        self, dtype: str, N: int, C: int, logits: int, labels: int, probs: int, losses: int
    ) -> None: ...
    def cross_entropy_backward(
        self,
        dtype: str,
        N: int,
        C: int,
        reduction: int,
        logits: int,
        labels: int,
        probs: int,
        dloss: int,
        grad: int,
    ) -> None: ...
    def dropout(self, dtype: str, n: int, x: int, p: float, seed: int, out: int) -> None: ...
    def empty_cache(self) -> None: ...
    def fill(self, dtype: str, n: int, value: float, out: int) -> None: ...
    def global_avg_pool_backward(self, dtype: str, n: int, L: int, dy: int, dx: int) -> None: ...
    def lrn(
        self,
        dtype: str,
        N: int,
        C: int,
        HW: int,
        size: int,
        alpha: float,
        beta: float,
        k: float,
        x: int,
        y: int,
    ) -> None: ...
    def lrn_backward(
        self,
        dtype: str,
        N: int,
        C: int,
        HW: int,
        size: int,
        alpha: float,
        beta: float,
        k: float,
        x: int,
        dy: int,
        dx: int,
    ) -> None: ...
    def matmul(
        self,
        dtype: str,
        M: int,
        N: int,
        K: int,
        a: int,
        trans_a: bool,
        b: int,
        trans_b: bool,
        c: int,
    ) -> None: ...
    def max_pool(
        self,
        dtype: str,
        x_shape: Sequence[int],
        kernel: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        x: int,
        relu: bool,
        y: int,
        codes: int,
    ) -> None: ...
    def max_pool_backward(
        self,
        dtype: str,
        x_shape: Sequence[int],
        kernel: Pair,
        stride: Pair,
        padding: Quad,
        ceil_mode: bool,
        codes: int,
        dy: int,
        dx: int,
    ) -> None: ...
    def memory_stats(self) -> dict[str, int]: ...
    def pool_output_shape(
        self, x_shape: Sequence[int], kernel: Pair, stride: Pair, padding: Quad, ceil_mode: bool
    ) -> list[int]: ...
    def reset_peak(self) -> None: ...
    def rmsprop(
        self,
        dtype: str,
        n: int,
        p: int,
        avg_sq_grad: int,
        g: int,
        lr: float,
        rho: float,
        eps: float,
        weight_decay: float,
    ) -> None: ...
    def sgd(
        self,
        dtype: str,
        n: int,
        p: int,
        v: int,
        g: int,
        lr: float,
        momentum: float,
        weight_decay: float,
        nesterov: bool,
        first: bool,
    ) -> None: ...
    def softmax(self, dtype: str, rows: int, L: int, log: bool, x: int, y: int) -> None: ...
    def softmax_backward(
        self, dtype: str, rows: int, L: int, log: bool, y: int, dy: int, dx: int
    ) -> None: ...
    def synchronize(self) -> None: ...

class CudaEmulated(CudaBackend):
    """The host emulator's build, with the emulator's own checks."""

    def sgemm(self, a: Any, b: Any, alpha: float, beta: float, c: Any) -> None: ...
    def sum(self, x: Any, blocks: int) -> Any: ...
    def thread_indices(self, grid: Sequence[int], block: Sequence[int]) -> Any: ...

# The host emulator's build, always; the GPU's, when built with nvcc.
cuda_emulated: CudaEmulated
cuda_device: CudaBackend
# The activation enum their activation function takes.
CudaActivation: type

def cuda_device_count() -> int: ...
def cuda_device_names() -> list[str]: ...
def cuda_versions() -> tuple[int, int]: ...
def dlpack_export(
    ptr: int,
    shape: list[int],
    code: int,
    bits: int,
    device_type: int,
    device_id: int,
    owner: object,
) -> object: ...
def dlpack_import(capsule: object) -> tuple[Any, ...]: ...
def get_num_threads() -> int: ...
def fma_peak(seconds: float = 0.2, repeats: int = 5) -> dict[str, float | int | str]: ...
def memory_stats() -> dict[str, int]: ...
def get_conv_algorithm() -> str: ...
def set_conv_algorithm(name: str) -> None: ...
def nonfinite_scans() -> bool: ...
def set_nonfinite_scans(on: bool) -> None: ...
def reset_peak_memory() -> None: ...
def set_memory_cache_limit(bytes: int) -> None: ...
def empty_memory_cache() -> None: ...
def set_num_threads(n: int) -> None: ...
def max_threads() -> int: ...
def spin_microseconds() -> int: ...
def set_spin_microseconds(us: int) -> None: ...
def share_openmp_runtime(path: str) -> bool: ...
def shared_openmp_runtime() -> str: ...
def thread_count_reads(microseconds: int) -> tuple[int, int]: ...
def threads_enabled() -> bool: ...
def get_isa() -> str: ...
def set_isa(name: str) -> None: ...
def best_isa() -> str: ...
def supported_isas() -> list[str]: ...
def gemm_ukernel_names() -> tuple[str, str]: ...
def matmul(
    a: FloatArray, b: FloatArray, trans_a: bool = False, trans_b: bool = False
) -> FloatArray: ...
def conv2d_algorithm(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: Pair,
    padding: Quad,
    dilation: Pair,
    groups: int,
    pass_: str,
) -> str: ...
def conv2d_forward(
    x: FloatArray,
    w: FloatArray,
    b: FloatArray | None,
    stride: Pair,
    padding: Quad,
    dilation: Pair,
    groups: int,
    relu: bool = False,
) -> FloatArray: ...
def conv2d_backward_input(
    w: FloatArray,
    dy: FloatArray,
    x_shape: Sequence[int],
    stride: Pair,
    padding: Quad,
    dilation: Pair,
    groups: int,
) -> FloatArray: ...
def conv2d_backward_weight(
    x: FloatArray,
    dy: FloatArray,
    w_shape: Sequence[int],
    stride: Pair,
    padding: Quad,
    dilation: Pair,
    groups: int,
) -> FloatArray: ...
def max_pool2d_forward(
    x: FloatArray,
    kernel_size: Pair,
    stride: Pair,
    padding: Quad,
    ceil_mode: bool,
    return_indices: bool,
) -> FloatArray | tuple[FloatArray, IntArray]: ...
def max_pool2d_backward(
    x: FloatArray, dy: FloatArray, kernel_size: Pair, stride: Pair, padding: Quad, ceil_mode: bool
) -> FloatArray: ...
def max_pool2d_forward_argmax(
    x: FloatArray, kernel_size: Pair, stride: Pair, padding: Quad, ceil_mode: bool, relu: bool
) -> tuple[FloatArray, ByteArray]: ...
def max_pool2d_backward_argmax(
    argmax: ByteArray,
    dy: FloatArray,
    x_shape: Sequence[int],
    kernel_size: Pair,
    stride: Pair,
    padding: Quad,
    ceil_mode: bool,
) -> FloatArray: ...
def avg_pool2d_forward(
    x: FloatArray,
    kernel_size: Pair,
    stride: Pair,
    padding: Quad,
    ceil_mode: bool,
    count_include_pad: bool,
) -> FloatArray: ...
def avg_pool2d_backward(
    x: FloatArray,
    dy: FloatArray,
    kernel_size: Pair,
    stride: Pair,
    padding: Quad,
    ceil_mode: bool,
    count_include_pad: bool,
) -> FloatArray: ...
def global_avg_pool2d_forward(x: FloatArray) -> FloatArray: ...
def global_avg_pool2d_backward(dy: FloatArray, x_shape: Sequence[int]) -> FloatArray: ...
def bias_add(x: FloatArray, b: FloatArray) -> FloatArray: ...
def bias_add_backward(dy: FloatArray) -> FloatArray: ...
def relu_forward(x: FloatArray) -> FloatArray: ...
def relu_backward(x: FloatArray, dy: FloatArray) -> FloatArray: ...
def tanh_forward(x: FloatArray) -> FloatArray: ...
def tanh_backward(y: FloatArray, dy: FloatArray) -> FloatArray: ...
def sigmoid_forward(x: FloatArray) -> FloatArray: ...
def sigmoid_backward(y: FloatArray, dy: FloatArray) -> FloatArray: ...
def softmax_forward(x: FloatArray) -> FloatArray: ...
def softmax_backward(y: FloatArray, dy: FloatArray) -> FloatArray: ...
def log_softmax_forward(x: FloatArray) -> FloatArray: ...
def log_softmax_backward(y: FloatArray, dy: FloatArray) -> FloatArray: ...
def cross_entropy_forward(logits: FloatArray, target: IntArray) -> FloatArray: ...
def cross_entropy_backward(
    logits: FloatArray, target: IntArray, dloss: FloatArray
) -> FloatArray: ...
def cross_entropy_soft_forward(logits: FloatArray, target: FloatArray) -> FloatArray: ...
def cross_entropy_soft_backward(
    logits: FloatArray, target: FloatArray, dloss: FloatArray
) -> FloatArray: ...
def dropout_forward(x: FloatArray, p: float, seed: int) -> FloatArray: ...
def affine_sample(x: FloatArray, matrices: NDArray[np.float64]) -> FloatArray: ...
def dropout_mask_float32(shape: Sequence[int], p: float, seed: int) -> NDArray[np.float32]: ...
def dropout_mask_float64(shape: Sequence[int], p: float, seed: int) -> NDArray[np.float64]: ...
def batch_norm_train_forward(
    x: FloatArray, weight: FloatArray | None, bias: FloatArray | None, eps: float
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def batch_norm_inference_forward(
    x: FloatArray,
    mean: FloatArray,
    var: FloatArray,
    weight: FloatArray | None,
    bias: FloatArray | None,
    eps: float,
) -> FloatArray: ...
def batch_norm_backward(
    x: FloatArray, dy: FloatArray, mean: FloatArray, invstd: FloatArray, weight: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def batch_norm_inference_backward(
    x: FloatArray,
    dy: FloatArray,
    mean: FloatArray,
    var: FloatArray,
    weight: FloatArray | None,
    eps: float,
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def lrn_forward(x: FloatArray, size: int, alpha: float, beta: float, k: float) -> FloatArray: ...
def lrn_backward(
    x: FloatArray, dy: FloatArray, size: int, alpha: float, beta: float, k: float
) -> FloatArray: ...
def adam_update(
    p: FloatArray,
    g: FloatArray,
    m: FloatArray,
    v: FloatArray,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int,
) -> None: ...
