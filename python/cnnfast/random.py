"""cnnfast's random state: one seeded generator from which weight initialisation,
shuffling and dropout masks draw, so `manual_seed(s)` makes a run reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reset the generator: everything random after this follows from `seed`."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _generator


def next_seed() -> int:
    """A fresh 63-bit seed (for dropout masks)."""
    return int(_generator.integers(0, 2**63))


def numpy_rng(seed: int | None = None) -> np.random.Generator:
    """A NumPy generator for shuffling and augmentation: from `seed`, or when it is
    None from this module's generator, so that manual_seed makes a run repeatable."""
    return np.random.default_rng(next_seed() if seed is None else seed)


def get_state() -> dict:
    """The generator's state, for checkpoints."""
    return _generator.bit_generator.state


def set_state(state: dict) -> None:
    _generator.bit_generator.state = state
