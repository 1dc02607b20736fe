"""Random cases of every op family, for `cnnfast check` and the property tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .activation import check_activations
from .batch_norm import check_batch_norm
from .compare import Result
from .conv2d import check_conv2d
from .dropout import check_dropout
from .gemm import check_matmul
from .lrn import check_lrn
from .pool2d import check_avg_pool2d, check_global_avg_pool2d, check_max_pool2d
from .softmax import check_binary_cross_entropy, check_cross_entropy, check_softmax


def random_padding(rng: np.random.Generator, kernel: tuple[int, int], pool: bool) -> Any:
    """One of the padding forms; for pooling, at most half the kernel."""
    cap_h, cap_w = (kernel[0] // 2, kernel[1] // 2) if pool else (3, 3)
    form = rng.integers(5)
    if form == 0:
        return "valid"
    if form == 1:
        return "same"
    if form == 2:
        return int(rng.integers(0, min(cap_h, cap_w) + 1))
    if form == 3:
        return (int(rng.integers(0, cap_h + 1)), int(rng.integers(0, cap_w + 1)))
    return tuple(int(rng.integers(0, c + 1)) for c in (cap_h, cap_h, cap_w, cap_w))


def random_conv2d_case(rng: np.random.Generator) -> dict[str, Any]:
    groups = int(rng.choice([1, 1, 2, 3]))
    depthwise = rng.random() < 0.2
    cg = 1 if depthwise else int(rng.integers(1, 5))
    kg = int(rng.integers(1, 4)) if depthwise else int(rng.integers(1, 6))
    if depthwise:
        groups = int(rng.integers(1, 6))
    R, S = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    padding = random_padding(rng, (R, S), pool=False)
    H = dilation[0] * (R - 1) + 1 + int(rng.integers(0, 7))
    W = dilation[1] * (S - 1) + 1 + int(rng.integers(0, 7))
    return dict(
        x_shape=(int(rng.integers(1, 4)), cg * groups, H, W),
        w_shape=(kg * groups, cg, R, S),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bool(rng.random() < 0.7),
    )


def random_pool2d_case(rng: np.random.Generator) -> dict[str, Any]:
    k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    stride = None if rng.random() < 0.3 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = random_padding(rng, k, pool=True)
    H, W = k[0] + int(rng.integers(0, 7)), k[1] + int(rng.integers(0, 7))
    return dict(
        x_shape=(int(rng.integers(1, 3)), int(rng.integers(1, 4)), H, W),
        kernel_size=k,
        stride=stride,
        padding=padding,
        ceil_mode=bool(rng.random() < 0.5),
    )


def random_suite(
    rng: np.random.Generator,
    cases: int,
    dtypes: tuple[Any, ...] = (np.float32, np.float64),
    device: str = "cpu",
) -> list[Result]:
    """`cases` random instances of every op family in every dtype, on `device`. (The
    same draws on either device, except that softmax on cuda runs along the last axis,
    the only one its kernels take.)"""
    on_cpu = ops.device_name(device, "random_suite") == "cpu"
    out: list[Result] = []
    for dtype in dtypes:
        for _ in range(cases):
            out += check_conv2d(rng, dtype, **random_conv2d_case(rng), device=device)
            out += check_max_pool2d(rng, dtype, **random_pool2d_case(rng), device=device)
            out += check_avg_pool2d(
                rng,
                dtype,
                **random_pool2d_case(rng),
                count_include_pad=bool(rng.random() < 0.5),
                device=device,
            )
            out += check_global_avg_pool2d(
                rng, dtype, tuple(int(v) for v in rng.integers(1, 6, 4)), device=device
            )
            m, n, k = (int(v) for v in rng.integers(1, 80, 3))
            out += check_matmul(
                rng,
                dtype,
                m,
                n,
                k,
                bool(rng.random() < 0.5),
                bool(rng.random() < 0.5),
                device=device,
            )
            shape = tuple(int(v) for v in rng.integers(1, 6, int(rng.integers(2, 5))))
            out += check_activations(rng, dtype, shape, device=device)
            axis = int(rng.integers(-len(shape), len(shape)))
            out += check_softmax(rng, dtype, shape, axis if on_cpu else -1, device=device)
            out += check_cross_entropy(
                rng,
                dtype,
                int(rng.integers(1, 20)),
                int(rng.integers(1, 12)),
                bool(rng.random() < 0.5),
                str(rng.choice(["mean", "sum", "none"])),
                device=device,
            )
            out += check_binary_cross_entropy(
                rng,
                dtype,
                int(rng.integers(1, 20)),
                bool(rng.random() < 0.5),
                str(rng.choice(["mean", "sum", "none"])),
                device=device,
            )
            out += check_dropout(
                rng,
                dtype,
                shape,
                float(rng.choice([0.0, 0.2, 0.5, 0.9, 1.0])),
                int(rng.integers(0, 2**63)),
                device=device,
            )
            out += check_batch_norm(
                rng,
                dtype,
                shape if len(shape) != 3 else (*shape, 2),
                bool(rng.random() < 0.7),
                device=device,
            )
            lrn_shape = tuple(int(v) for v in rng.integers(1, 7, 4))
            out += check_lrn(rng, dtype, lrn_shape, int(rng.integers(1, 7)), device=device)
    return out
