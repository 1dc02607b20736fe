"""keras.callbacks: cnnfast.training's callbacks under Keras's names (see there)."""

from ..training.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"]
