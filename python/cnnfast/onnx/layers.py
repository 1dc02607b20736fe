"""ONNX nodes for cnnfast.nn's layers, each computing what the layer computes in eval
mode (Dropout is the identity there and adds no node).

Padding is always written out as explicit pads, resolved for the sample's size as the
layer resolves it: TensorFlow's asymmetric 'same' becomes its (top, left, bottom,
right), which ONNX's auto_pad=SAME_UPPER would also give but only for the sizes the
graph is run on. Pooling's ceil_mode becomes extra bottom/right padding instead of
ONNX's own ceil_mode, whose rule for a last window that starts in the padding
differs between ONNX versions and runtimes; cnnfast's rule (PyTorch's) is that it
must start inside the input or the left padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from .._args import int_pair, pool_window, resolve_padding
from .graph import Graph, converts, host, run


def _onnx_pads(t: int, b: int, l: int, r: int) -> list[int]:
    """cnnfast's (top, bottom, left, right) in ONNX's order (begins, then ends)."""
    return [t, l, b, r]


@converts(nn.Conv2d)
def conv2d(g: Graph, m: nn.Conv2d, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    kernel = tuple(m.weight.shape[2:])
    stride = int_pair("Conv2d", "stride", m.stride, 1)
    dilation = int_pair("Conv2d", "dilation", m.dilation, 1)
    pads = resolve_padding("Conv2d", m.padding, sample.shape[2:], kernel, stride, dilation)
    inputs = [x, g.constant(f"{path}.weight", m.weight.data)]
    if m.bias is not None:
        inputs.append(g.constant(f"{path}.bias", m.bias.data))
    y = run(m, sample)
    out = g.node(
        "Conv",
        inputs,
        path,
        y.shape,
        kernel_shape=list(kernel),
        strides=list(stride),
        dilations=list(dilation),
        pads=_onnx_pads(*pads),
        group=m.groups,
    )
    return out, y


def _pool_geometry(
    op: str, m: Any, sample: np.ndarray
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int], tuple[int, int]]:
    """(kernel, stride, padding, overhang): the padding as the layer resolves it, and
    the extra bottom/right cells ceil_mode's last windows reach past it."""
    kernel, stride, pad, _, out_hw = pool_window(
        op, sample.shape, m.kernel_size, m.stride, m.padding, m.ceil_mode
    )
    padded = (sample.shape[2] + pad[0] + pad[1], sample.shape[3] + pad[2] + pad[3])
    overhang = tuple(max(0, (out_hw[i] - 1) * stride[i] + kernel[i] - padded[i]) for i in range(2))
    return kernel, stride, pad, overhang  # type: ignore[return-value]


def _pool(
    g: Graph,
    op: str,
    x: str,
    path: str,
    y: np.ndarray,
    geometry: tuple[Any, Any, tuple[int, int, int, int], tuple[int, int]],
    **attributes: Any,
) -> str:
    """A pooling node whose padding takes in the overhang."""
    kernel, stride, (t, b, l, r), (oh, ow) = geometry
    return g.node(
        op,
        [x],
        path,
        y.shape,
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=_onnx_pads(t, b + oh, l, r + ow),
        **attributes,
    )


@converts(nn.MaxPool2d)
def max_pool2d(g: Graph, m: nn.MaxPool2d, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    # ONNX's MaxPool ignores padded cells (as cnnfast's padding never wins), so the
    # overhang is just more padding.
    y = run(m, sample)
    return _pool(g, "MaxPool", x, path, y, _pool_geometry("MaxPool2d", m, sample)), y


@converts(nn.AvgPool2d)
def avg_pool2d(g: Graph, m: nn.AvgPool2d, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    # Padding counts in the divisor with count_include_pad, the overhang never does. ONNX
    # has one count_include_pad for both, so counted padding is made real with a Pad node
    # and AveragePool then counts only what it is given.
    kernel, stride, (t, b, l, r), overhang = _pool_geometry("AvgPool2d", m, sample)
    y = run(m, sample)
    if m.count_include_pad and max(t, b, l, r) > 0:
        n, c, h, w = sample.shape
        pads = g.int64s(f"{path}.pads", [0, 0, t, l, 0, 0, b, r])
        x = g.node("Pad", [x, pads], path, (n, c, h + t + b, w + l + r), mode="constant")
        t = b = l = r = 0
    geometry = (kernel, stride, (t, b, l, r), overhang)
    return _pool(g, "AveragePool", x, path, y, geometry, count_include_pad=0), y


@converts(nn.GlobalAvgPool2d)
def global_avg_pool2d(g: Graph, m: Any, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    y = run(m, sample)
    return g.node("GlobalAveragePool", [x], path, y.shape), y


def _elementwise(op: str) -> Any:
    def convert(g: Graph, m: Any, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
        y = run(m, sample)
        return g.node(op, [x], path, y.shape), y

    return convert


converts(nn.ReLU)(_elementwise("Relu"))
converts(nn.Tanh)(_elementwise("Tanh"))
converts(nn.Sigmoid)(_elementwise("Sigmoid"))


@converts(nn.Softmax)
def softmax(g: Graph, m: nn.Softmax, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    # (opset 13's Softmax normalises along one axis, as cnnfast's does)
    y = run(m, sample)
    return g.node("Softmax", [x], path, y.shape, axis=int(m.axis)), y


@converts(nn.Dropout)
def dropout(g: Graph, m: nn.Dropout, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    return x, sample  # the identity in eval mode: no node


@converts(nn.Flatten)
def flatten(g: Graph, m: nn.Flatten, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    y = run(m, sample)
    start = m.start_dim % sample.ndim if sample.ndim else 0
    if start == 1:
        return g.node("Flatten", [x], path, y.shape, axis=1), y
    # Reshape's 0 keeps that dimension of the input (the batch stays symbolic).
    shape = g.int64s(f"{path}.shape", [0] * start + [-1])
    return g.node("Reshape", [x, shape], path, y.shape), y


@converts(nn.Linear)
def linear(g: Graph, m: nn.Linear, path: str, x: str, sample: np.ndarray) -> tuple[str, Any]:
    inputs = [x, g.constant(f"{path}.weight", m.weight.data)]
    if m.bias is not None:
        inputs.append(g.constant(f"{path}.bias", m.bias.data))
    y = run(m, sample)
    return g.node("Gemm", inputs, path, y.shape, transB=1), y


@converts(nn.BatchNorm2d)
def batch_norm(
    g: Graph, m: nn.BatchNorm2d, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    c = m.running_mean.shape[0]
    scale = m.weight.data if m.weight is not None else np.ones(c, np.float32)
    shift = m.bias.data if m.bias is not None else np.zeros(c, np.float32)
    inputs = [
        x,
        g.constant(f"{path}.weight", scale),
        g.constant(f"{path}.bias", shift),
        g.constant(f"{path}.running_mean", m.running_mean),
        g.constant(f"{path}.running_var", m.running_var),
    ]
    y = run(m, sample)
    return g.node("BatchNormalization", inputs, path, y.shape, epsilon=float(m.eps)), y


@converts(nn.LocalResponseNorm)
def local_response_norm(
    g: Graph, m: nn.LocalResponseNorm, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    y = run(m, sample)
    size, alpha, beta, k = int(m.size), float(m.alpha), float(m.beta), float(m.k)
    if size % 2:  # ONNX's LRN: the same window (size // 2 channels each side) and scale
        return g.node("LRN", [x], path, y.shape, size=size, alpha=alpha, beta=beta, bias=k), y
    # An even window: cnnfast (as PyTorch) takes size // 2 channels before and one fewer
    # after; ONNX's LRN the other way round. So: x / (k + alpha * mean of x^2 over the
    # window)^beta, the mean an AveragePool over a channel axis padded as cnnfast pads it.
    n, c, h, w = sample.shape
    before, after = size // 2, (size - 1) // 2
    axis = g.int64s(f"{path}.axis", [1])  # (the plane axis Unsqueeze adds, Squeeze removes)
    square = g.node("Mul", [x, x], f"{path}.square", (n, c, h, w))
    planes = g.node("Unsqueeze", [square, axis], path, (n, 1, c, h, w))
    mean = g.node(
        "AveragePool",
        [planes],
        path,
        (n, 1, c, h, w),
        kernel_shape=[size, 1, 1],
        pads=[before, 0, 0, after, 0, 0],
        count_include_pad=1,
    )
    mean = g.node("Squeeze", [mean, axis], path, (n, c, h, w))
    scaled = g.node("Mul", [mean, g.constant(f"{path}.alpha", np.float32(alpha))], path, None)
    base = g.node("Add", [scaled, g.constant(f"{path}.k", np.float32(k))], path, None)
    powered = g.node("Pow", [base, g.constant(f"{path}.beta", np.float32(-beta))], path, None)
    return g.node("Mul", [x, powered], path, y.shape), y


@converts(nn.PositionBias)
def position_bias(
    g: Graph, m: nn.PositionBias, path: str, x: str, sample: np.ndarray
) -> tuple[str, Any]:
    y = run(m, sample)
    return g.node("Add", [x, g.constant(f"{path}.bias", host(m.bias.data))], path, y.shape), y
