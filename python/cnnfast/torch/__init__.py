"""cnnfast as PyTorch's CPU backend for convolution, pooling and LRN.

    import cnnfast.torch
    model = cnnfast.torch.accelerate(model)     # torch.nn.Module in, the same module out

`accelerate` swaps the model's Conv2d, MaxPool2d, AvgPool2d, LocalResponseNorm and Dropout
(and a ReLU followed by a MaxPool2d in a Sequential, fused) for cnnfast-backed
subclasses holding the same Parameters (`accelerate.py`); `report(model)` says what
runs where and why. `conv2d`, `max_pool2d`, `relu_max_pool2d`, `avg_pool2d`,
`local_response_norm` and `dropout` take `torch.nn.functional`'s arguments (`functional.py`); what
cnnfast cannot run falls back to PyTorch's kernel (`fallbacks()` counts it). The
operators themselves are `torch.ops.cnnfast.*` (`library.py`), with autograd in
`autograd.py`. `accelerate` runs cnnfast's kernels on PyTorch's own OpenMP threads
(`share_threads`, `threads.py`), so the two libraries never compete for the cores.

PyTorch is not a dependency of cnnfast: this module needs it installed, and
`import cnnfast` never imports it.
"""

from __future__ import annotations

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised where torch is absent
    raise ImportError(
        "cnnfast.torch needs PyTorch, which cnnfast does not install: pip install torch"
    ) from e

from .accelerate import Report, accelerate, report, restore
from .functional import (
    FallbackWarning,
    avg_pool2d,
    conv2d,
    dropout,
    fallbacks,
    local_response_norm,
    max_pool2d,
    relu_max_pool2d,
    reset_fallbacks,
)
from .threads import share_threads, torch_openmp_runtime

__all__ = [
    "FallbackWarning",
    "Report",
    "accelerate",
    "avg_pool2d",
    "conv2d",
    "dropout",
    "fallbacks",
    "local_response_norm",
    "max_pool2d",
    "relu_max_pool2d",
    "report",
    "reset_fallbacks",
    "restore",
    "share_threads",
    "torch_openmp_runtime",
]
