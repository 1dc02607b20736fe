"""The lecture nets, by name: `cnnfast.models.get("keras-mnist-2conv")` builds a fresh,
seeded nn.Module whose forward returns logits (the softmax lives in the loss).
Shapes are in each builder's comments (zoo.py); `spec(name)` tells the input shape,
class count and the data set a net was taught on."""

from __future__ import annotations

from .zoo import ZOO, ModelSpec


def list() -> list[str]:
    """Every net's name."""
    return sorted(ZOO)


def spec(name: str) -> ModelSpec:
    try:
        return ZOO[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; cnnfast.models.list() has {sorted(ZOO)}"
        ) from None


def get(name: str, seed: int | None = 0):
    """A freshly initialised net (weights drawn from `seed`; None keeps cnnfast.random's state)."""
    from ..random import manual_seed

    s = spec(name)
    if seed is not None:
        manual_seed(seed)
    return s.build()


__all__ = ["ModelSpec", "get", "list", "spec"]
