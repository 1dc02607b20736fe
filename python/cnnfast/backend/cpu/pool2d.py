"""Max, average and global-average pooling: csrc/pool2d/pool2d.cpp,
csrc/pool2d/pool2d_argmax.cpp (byte argmax codes, the fused ReLU) and
csrc/pool2d/avx2/max_pool2x2_avx2.cpp (the 2x2 stride-2 hot path)."""

from ..._C import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_backward_argmax,
    max_pool2d_forward,
    max_pool2d_forward_argmax,
)

__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "global_avg_pool2d_backward",
    "global_avg_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_backward_argmax",
    "max_pool2d_forward",
    "max_pool2d_forward_argmax",
]
