"""Weight initialisers (seeded from cnnfast.random). Fan-in/fan-out follow Keras and
PyTorch: a conv weight (K, C/g, R, S) has fan_in C/g*R*S and fan_out K*R*S."""

from __future__ import annotations

import numpy as np

from ..random import generator


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 2:  # linear (out, in)
        return shape[1], shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def glorot_uniform(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)): Keras's default kernel initialiser."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / max(fan_in + fan_out, 1))
    return generator().uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """N(0, 2 / fan_in) truncated at two standard deviations (Keras's he_normal)."""
    fan_in, _ = fans(shape)
    std = np.sqrt(2.0 / max(fan_in, 1)) / 0.87962566103423978  # truncation correction
    values = generator().standard_normal(shape)
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = generator().standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2
    return (values * std).astype(dtype)


def he_uniform(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / max(fan_in, 1))
    return generator().uniform(-limit, limit, shape).astype(dtype)


def zeros(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "zeros": zeros,
}
