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


def get(name: str, seed: int | None = 0, classes: int | None = None):
    """A freshly initialised net (weights drawn from `seed`; None keeps cnnfast.random's
    state). `classes` other than the net's own replaces its last Linear layer by one with
    that many outputs (for a user's own data set of another class count)."""
    from ..nn import Linear, Sequential
    from ..random import manual_seed

    s = spec(name)
    if seed is not None:
        manual_seed(seed)
    model = s.build()
    if classes is None or classes == s.classes:
        return model
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    last = model[len(model) - 1] if isinstance(model, Sequential) and len(model) else None
    if not isinstance(last, Linear):
        raise ValueError(f"{name} does not end with a Linear layer: its class count is fixed")
    setattr(model, str(len(model) - 1), Linear(last.weight.shape[1], classes))
    return model


__all__ = ["ModelSpec", "get", "list", "spec"]
