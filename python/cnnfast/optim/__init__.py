"""Optimizers (SGD, Adam, Adadelta, RMSprop) and ReduceLROnPlateau."""

from .optimizers import SGD, Adadelta, Adam, Optimizer, RMSprop, get
from .schedulers import ReduceLROnPlateau

__all__ = ["SGD", "Adadelta", "Adam", "Optimizer", "RMSprop", "ReduceLROnPlateau", "get"]
