"""cnnfast.keras: run the lectures' Keras scripts on cnnfast by changing the imports
(`from keras.layers import Conv2D` -> `from cnnfast.keras.layers import Conv2D`).

A thin layer over cnnfast.nn, cnnfast.optim and cnnfast.training: Keras's names,
defaults, channels-last shapes, parameter counts and summary table, building the
engine's modules. Submodules: models, layers, optimizers, losses, callbacks, utils,
datasets, backend, preprocessing (ImageDataGenerator).
"""

from . import backend, callbacks, datasets, layers, losses, models, optimizers, preprocessing, utils
from .layers import Input
from .models import Model, Sequential

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "backend",
    "callbacks",
    "datasets",
    "layers",
    "losses",
    "models",
    "optimizers",
    "preprocessing",
    "utils",
]
