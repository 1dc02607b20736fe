"""keras.losses: the cross-entropies the lectures compile with.

With a softmax as the model's last activation (as in every lecture net) the loss is
computed from the logits, softmax and log fused (cnnfast.ops.cross_entropy), so it
stays finite where Keras clips probabilities; binary_crossentropy likewise from a last
Dense(1, activation='sigmoid')'s logit (cnnfast.ops.binary_cross_entropy)."""

from __future__ import annotations

from typing import Any


def categorical_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """One-hot (or probability) targets. As a compile() argument, names the loss."""
    raise TypeError("categorical_crossentropy is used through model.compile(loss=...)")


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Integer class targets. As a compile() argument, names the loss."""
    raise TypeError("sparse_categorical_crossentropy is used through model.compile(loss=...)")


def binary_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """0/1 targets for a Dense(1, 'sigmoid') output. As a compile() argument, names the loss."""
    raise TypeError("binary_crossentropy is used through model.compile(loss=...)")


LOSSES = {
    "binary_crossentropy": "binary",
    "categorical_crossentropy": "categorical",
    "sparse_categorical_crossentropy": "sparse",
}


def get(identifier: Any) -> str:
    """'categorical', 'sparse' or 'binary' for a loss name or function."""
    name = getattr(identifier, "__name__", identifier)
    if name not in LOSSES:
        raise ValueError(f"unsupported loss {identifier!r}; cnnfast.keras has {sorted(LOSSES)}")
    return LOSSES[name]
