"""Seeded inputs for the checks, and their float64 and absolute copies."""

from __future__ import annotations

from typing import Any

import numpy as np


def f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [a.astype(np.float64) for a in arrays]


def abs64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.abs(a.astype(np.float64)) for a in arrays]


def normal(rng: np.random.Generator, shape: Any, dtype: Any) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)
