"""cnnfast.data's float NCHW arrays back to Keras's uint8 NHWC ones."""

from __future__ import annotations

import numpy as np


def to_uint8_images(x: np.ndarray, squeeze_channel: bool) -> np.ndarray:
    """float [0, 1] (N, C, H, W) -> uint8 (N, H, W, C), or (N, H, W) for one channel
    as Keras's MNIST. The loaders store k/255 (IDX, CIFAR) or k/256 (the mnist.pkl.gz
    copy): whichever scale gives integers is the one used."""
    scale = 256.0 if np.array_equal(x[:64] * 256, np.rint(x[:64] * 256)) else 255.0
    images = np.rint(x * scale).clip(0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images[..., 0] if squeeze_channel else images)


def to_keras(
    splits: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    squeeze_channel: bool,
    label_column: bool,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    out = []
    for x, y in splits:
        labels = y.astype(np.uint8)
        out.append(
            (to_uint8_images(x, squeeze_channel), labels[:, None] if label_column else labels)
        )
    return out[0], out[1]
