"""Data augmentation's resampling: a batch of channels-last images, each sampled
bilinearly at an affine map of its pixel coordinates (ImageDataGenerator's rotations,
shifts, zooms and shears), edges clamped ('nearest' fill).

Host only: augmentation prepares a batch before it moves to a device.

Files:
  kernel     csrc/augment.cpp, csrc/augment.h
  binding    csrc/bindings/augment.cpp
  reference  python/cnnfast/reference/augment.py (bit for bit: same double arithmetic)
  tests      tests/test_augment.py
  benchmark  python/cnnfast/bench/images.py (augmentation in a CIFAR-10 epoch)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _C
from .._args import as_float_array, require_ndim, require_shape
from ..backend import is_device_array


def affine_sample(images: Any, matrices: Any) -> np.ndarray:
    """images (N, H, W, C) float32/float64; matrices (N, 2, 3): output pixel (row, col)
    reads the input at clamp(M_i @ (row, col, 1)), bilinearly. Returns a new array."""
    op = "affine_sample"
    if is_device_array(images) or is_device_array(matrices):
        raise TypeError(f"{op}: runs on the host (augment a batch before it moves to a device)")
    images = as_float_array(op, "images", images)
    require_ndim(op, "images", images, 4, "(N, H, W, C), channels last")
    m = np.ascontiguousarray(matrices, dtype=np.float64)
    require_shape(op, "matrices", m, (images.shape[0], 2, 3), "one 2x3 map per image")
    if not np.isfinite(m).all():
        raise ValueError(f"{op}: matrices must be finite")
    return _C.affine_sample(np.ascontiguousarray(images), m)
