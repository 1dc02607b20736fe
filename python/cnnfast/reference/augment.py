"""affine_sample in NumPy: the twin of cnnfast.ops.affine_sample (same double
arithmetic, in the same order, so the two agree bit for bit)."""

from __future__ import annotations

from typing import Any

import numpy as np


def affine_sample(images: Any, matrices: Any) -> np.ndarray:
    images = np.asarray(images)
    matrices = np.asarray(matrices, dtype=np.float64)
    n, h, w, _ = images.shape
    rows, cols = np.meshgrid(
        np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij"
    )
    m = matrices[:, :, :, None, None]  # (N, 2, 3, 1, 1) against the (H, W) grid
    src_r = np.clip(m[:, 0, 0] * rows + m[:, 0, 1] * cols + m[:, 0, 2], 0, h - 1)
    src_c = np.clip(m[:, 1, 0] * rows + m[:, 1, 1] * cols + m[:, 1, 2], 0, w - 1)
    r0, c0 = np.floor(src_r).astype(np.intp), np.floor(src_c).astype(np.intp)
    r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
    fr, fc = (src_r - r0)[..., None], (src_c - c0)[..., None]
    k = np.arange(n)[:, None, None]
    top = images[k, r0, c0] * (1 - fc) + images[k, r0, c1] * fc
    bottom = images[k, r1, c0] * (1 - fc) + images[k, r1, c1] * fc
    return (top * (1 - fr) + bottom * fr).astype(images.dtype)
