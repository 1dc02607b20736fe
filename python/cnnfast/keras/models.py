"""keras.models.Sequential over cnnfast's engine.

add() checks each layer against the shape before it; compile() picks the loss and
builds cnnfast's optimizer; fit/evaluate/predict convert Keras's channels-last
arrays to the engine's layout once per call and run cnnfast.training's loop. A
softmax as the last activation is not run in training: the cross-entropy takes the
logits (fused, stable); predict() applies it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn, ops
from ..distributed import comm
from ..errors import FileFormatError, reading
from ..training import History
from ..training.callbacks import Callback
from ..training.files import load_npz, load_weights, save_npz, save_weights
from ..training.loop import fit as engine_fit
from ..training.loop import logits_metrics, predict_logits
from . import callbacks as keras_callbacks
from . import losses, optimizers, saving
from .layers import Input, Layer, Shape
from .preprocessing.image import NumpyArrayIterator
from .progress import KerasProgress


class _OldNames(Callback):
    """Runs first: adds Keras's old names 'acc' / 'val_acc' to the epoch's logs, so the
    callbacks after it may monitor them and the History carries them."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: dict[str, Any]) -> bool:
        for new, old in (("accuracy", "acc"), ("val_accuracy", "val_acc")):
            if new in logs:
                logs[old] = logs[new]
        return False


def _flow_augmentation(flow: NumpyArrayIterator) -> Any:
    """The flow's augmentation as the training loop's hook: engine batches (N, C, H, W)
    to channels-last, augmented, and back."""

    def augment(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = flow.generator.augment(xb.transpose(0, 2, 3, 1), rng)
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)

    return augment


_LOOP_KEYS = ("accuracy", "val_accuracy", "acc", "val_acc", "seconds")


def _arrays(data: Any, what: str) -> tuple[np.ndarray, Any]:
    """(x, y) from a tuple (a third item, sample weights, is refused) or from a flow
    whose generator only rescales / standardises (its batches are then fixed)."""
    if isinstance(data, NumpyArrayIterator):
        if data.y is None:
            raise ValueError(f"{what}: the flow has no targets (flow(x, y))")
        return _images(data, what), data.y
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{what}: expected (x, y) or ImageDataGenerator.flow(x, y)")
    return data[0], data[1]


def _images(flow: NumpyArrayIterator, what: str) -> np.ndarray:
    """A flow's images as fixed data: only a generator without random transforms has
    them (rescaled / standardised)."""
    if flow.generator.is_random:
        raise ValueError(
            f"{what}: the flow's generator transforms at random; "
            "evaluate on fixed data (a generator with rescale/standardisation only)"
        )
    return flow.generator.standardize(flow.x)


def _to_engine(x: Any) -> np.ndarray:
    """Keras's (N, H, W, C) images (or (N, features)) as the engine's float32 (N, C, H, W)."""
    x = np.asarray(x, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else np.ascontiguousarray(x)


class Sequential:
    """A stack of layers (keras.models.Sequential)."""

    def __init__(self, layers: Sequence[Layer] | None = None, name: str = "sequential") -> None:
        self.name = name
        self.layers: list[Layer] = []
        self._input: Shape | None = None
        self._shapes: list[Shape] = []  # each layer's output shape
        self._engine: nn.Sequential | None = None
        self._loss: str | None = None
        self._optimizer: Any = None
        self._metrics: list[str] = []
        self.stop_training = False  # a Keras callback sets it to end fit() after the epoch
        self.history: History | None = None
        for layer in layers or []:
            self.add(layer)

    # --- building ----------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append a layer; its shape is checked against the previous output now."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got {type(layer).__name__}")
        if self._engine is not None:
            raise RuntimeError("Sequential.add: the model is already built (compiled or run)")
        if isinstance(layer, Input):
            if self.layers or self._input is not None:
                raise ValueError("Sequential.add: Input must come first")
            self._input = layer.input_shape
            return
        if self._input is None:
            if layer.input_shape is None:
                raise ValueError(
                    f"{type(layer).__name__} layer '{layer.name}': "
                    "the first layer needs input_shape=..."
                )
            self._input = layer.input_shape
        shape = self._shapes[-1] if self._shapes else self._input
        self._shapes.append(layer.output_shape(shape))  # raises, naming the layer, on a misfit
        self.layers.append(layer)

    def _in_shape(self, i: int) -> Shape:
        return self._shapes[i - 1] if i else self._input  # type: ignore[return-value]

    @property
    def input_shape(self) -> tuple[Any, ...]:
        return (None, *self._input) if self._input else ()

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return (None, *self._shapes[-1]) if self._shapes else ()

    def _final_softmax(self) -> bool:
        return bool(self.layers) and self.layers[-1].activation == "softmax"

    def _final_sigmoid_logit(self) -> bool:
        """A last layer of one unit with a sigmoid: a two-class net's probability of class
        1, whose sigmoid the binary cross-entropy (or predict) applies."""
        return (
            bool(self.layers)
            and self.layers[-1].activation == "sigmoid"
            and self._shapes[-1] == (1,)
        )

    def _final_activation_in_loss(self) -> bool:
        return self._final_softmax() or self._final_sigmoid_logit()

    def _build(self) -> nn.Sequential:
        """The engine network, the last softmax (or a one-unit sigmoid) left out: the loss
        or predict applies it."""
        if self._engine is None:
            if not self.layers:
                raise ValueError("the model has no layers")
            modules: list[nn.Module] = []
            from .layers import ACTIVATIONS

            self._prefixes = []
            for i, layer in enumerate(self.layers):
                self._prefixes.append(f"{len(modules)}.")
                modules += layer.modules(self._in_shape(i))
                last = i == len(self.layers) - 1
                if layer.activation and not (last and self._final_activation_in_loss()):
                    modules.append(ACTIVATIONS[layer.activation]())
            self._engine = nn.Sequential(*modules)
        return self._engine

    def _module_prefix(self, i: int) -> str:
        """The state_dict prefix of layer i's own engine module (its weights)."""
        self._build()
        return self._prefixes[i]

    @property
    def engine(self) -> nn.Sequential:
        """The cnnfast.nn network this model runs (channels-first)."""
        return self._build()

    def count_params(self) -> int:
        return sum(sum(layer.params(self._in_shape(i))) for i, layer in enumerate(self.layers))

    def summary(self, print_fn: Any = print) -> None:
        """Keras's table: each layer's name and type, output shape and parameter count."""
        rule, double = "_" * 65, "=" * 65
        lines = [
            f'Model: "{self.name}"',
            rule,
            f"{'Layer (type)':<28} {'Output Shape':<25} Param #",
            double,
        ]
        trainable = frozen = 0
        for i, layer in enumerate(self.layers):
            t, f = layer.params(self._in_shape(i))
            trainable, frozen = trainable + t, frozen + f
            kind = f"{layer.name} ({type(layer).__name__})"
            shape = str((None, *self._shapes[i]))
            row = f"{kind:<28} {shape:<25} {t + f}"
            lines += [row, rule if i < len(self.layers) - 1 else double]
        lines += [
            f"Total params: {trainable + frozen:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {frozen:,}",
            rule,
        ]
        for line in lines:
            print_fn(line)

    # --- training -----------------------------------------------------------------------
    def compile(
        self, loss: Any, optimizer: Any = "rmsprop", metrics: Sequence[str] | None = None
    ) -> None:
        self._loss = losses.get(loss)
        self._loss_name = getattr(loss, "__name__", loss)
        keras_optimizer = optimizers.get(optimizer)
        self._optimizer_config = {
            "class_name": type(keras_optimizer).__name__,
            "config": keras_optimizer.config,
        }
        self._optimizer = keras_optimizer.build(self._build().parameters())
        self._metrics = [m for m in (metrics or []) if m in ("accuracy", "acc")]
        unknown = set(metrics or []) - {"accuracy", "acc"}
        if unknown:
            raise ValueError(
                f"compile: unsupported metrics {sorted(unknown)} (cnnfast.keras has 'accuracy')"
            )
        if self._loss == "binary" and not self._final_sigmoid_logit():
            raise ValueError(
                "compile: binary_crossentropy is computed from the last layer's logit, fused "
                "with its sigmoid; end the model with Dense(1, activation='sigmoid') (got "
                f"{self.layers[-1].activation or 'no activation'} with output shape "
                f"{self.output_shape})"
            )
        if self._loss != "binary" and not self._final_softmax():
            raise ValueError(
                "compile: cnnfast.keras computes the cross-entropy from the last layer's logits; "
                "give the last layer activation='softmax' (as the lectures' models do)"
            )

    def _labels(self, y: Any) -> np.ndarray:
        """Class indices: as given for the sparse loss, from one-hot rows for the
        categorical one."""
        y = np.asarray(y)
        if self._loss == "sparse":
            return y.reshape(len(y)).astype(np.int64)
        if self._loss == "binary":
            if y.shape not in ((len(y),), (len(y), 1)):
                raise ValueError(
                    f"binary_crossentropy: targets must be (N,) or (N, 1), got {y.shape}"
                )
            flat = y.reshape(len(y))
            if not np.isin(flat, (0, 1)).all():
                raise ValueError(
                    "binary_crossentropy: cnnfast.keras takes 0/1 targets (not soft labels); "
                    f"got values {np.unique(flat)[:5].tolist()}"
                )
            return flat.astype(np.int64)
        if y.ndim != 2 or y.shape[1] != self.output_shape[-1]:
            raise ValueError(
                "categorical_crossentropy: targets must be one-hot "
                f"(N, {self.output_shape[-1]}), got {y.shape}"
            )
        labels = y.argmax(axis=1)
        if not np.array_equal(y, np.eye(y.shape[1], dtype=y.dtype)[labels]):
            raise ValueError(
                "categorical_crossentropy: cnnfast.keras takes one-hot targets (not soft labels)"
            )
        return labels.astype(np.int64)

    def _require_compiled(self, what: str) -> None:
        if self._loss is None:
            raise RuntimeError(f"{what}: compile the model first")

    def fit(
        self,
        x: Any,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int = 1,
        callbacks: Sequence[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        seed: int | None = None,
    ) -> History:
        """Train on arrays, or on ImageDataGenerator.flow(x, y, batch_size) (its
        augmentation runs inside the loop). An epoch is one pass over x, or
        steps_per_epoch batches (each pass over x in a fresh order). Returns a
        History with 'loss', 'accuracy', 'val_loss', 'val_accuracy' (and 'acc', 'val_acc').
        validation_data may be arrays or a flow without random transforms (evaluated
        whole: validation_steps is accepted and not needed)."""
        self._require_compiled("fit")
        augment = None
        if isinstance(x, NumpyArrayIterator):
            if y is not None or x.y is None:
                raise ValueError("fit: with a flow, the targets come from flow(x, y), not fit's y")
            flow = x
            x, y, batch_size, shuffle = flow.x, flow.y, flow.batch_size, flow.shuffle
            augment = _flow_augmentation(flow)
        elif y is None:
            raise ValueError("fit: y is missing (or pass ImageDataGenerator.flow(x, y))")
        batch = batch_size or 32
        xs, ys = _to_engine(x), self._labels(y)
        val = None
        if validation_data is not None:
            vx, vy = _arrays(validation_data, "fit: validation_data")
            val = (_to_engine(vx), self._labels(vy))
        elif validation_split:  # Keras holds out the last fraction, unshuffled
            cut = int(len(xs) * (1 - validation_split))
            xs, ys, val = xs[:cut], ys[:cut], (xs[cut:], ys[cut:])
        steps = steps_per_epoch or -(-len(xs) // batch)
        params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        # Keras's order: its progress line is printed before the callbacks' messages.
        engine_callbacks: list[Callback] = [_OldNames()]
        if verbose:
            engine_callbacks.append(KerasProgress(epochs, steps, verbose, self._shown_logs))
        for cb in callbacks or []:
            if isinstance(cb, keras_callbacks.Callback):
                cb = keras_callbacks.EngineAdapter(cb, self, params, self._shown_logs)
            elif isinstance(cb, keras_callbacks.ModelCheckpoint):
                cb.keras_model = self  # it writes this model's files, as Keras's does
            engine_callbacks.append(cb)
        self.stop_training = False
        history = History()
        engine_fit(
            self._build(),
            self._optimizer,
            xs,
            ys,
            batch_size=batch,
            epochs=epochs,
            validation_data=val,
            callbacks=engine_callbacks,
            shuffle=shuffle,
            seed=seed,
            augment=augment,
            verbose=0,
            initial_epoch=initial_epoch,
            history=history,
            steps_per_epoch=steps_per_epoch,
        )
        self.history = history
        return history

    def fit_generator(
        self,
        generator: NumpyArrayIterator,
        steps_per_epoch: int | None = None,
        epochs: int = 1,
        verbose: int = 1,
        callbacks: Sequence[Any] | None = None,
        validation_data: Any = None,
        validation_steps: int | None = None,
        class_weight: Any = None,
        max_queue_size: int = 10,
        workers: int = 1,
        use_multiprocessing: bool = False,
        shuffle: bool = True,
        initial_epoch: int = 0,
        **keras1: Any,
    ) -> History:
        """Keras 2's name for fit on a generator (ImageDataGenerator.flow or
        flow_from_directory). The queue and worker arguments are accepted and not
        needed: augmentation runs in the loop. Keras 1's samples_per_epoch, nb_epoch and
        nb_val_samples (as lecture 004 prints them) are mapped to steps_per_epoch
        (samples / the generator's batch size, rounded up), epochs and validation_steps,
        with a DeprecationWarning naming the new names."""
        unknown = sorted(set(keras1) - {"samples_per_epoch", "nb_epoch", "nb_val_samples"})
        if unknown:
            raise TypeError(f"fit_generator: unexpected arguments {unknown}")
        if keras1:
            warnings.warn(
                "fit_generator: Keras 1 arguments "
                f"{sorted(keras1)}: use steps_per_epoch, epochs and validation_steps",
                DeprecationWarning,
                stacklevel=2,
            )
            if "samples_per_epoch" in keras1:
                steps_per_epoch = -(-int(keras1["samples_per_epoch"]) // generator.batch_size)
            epochs = int(keras1.get("nb_epoch", epochs))
            if "nb_val_samples" in keras1 and validation_steps is None:
                validation_steps = int(keras1["nb_val_samples"])
        if class_weight is not None:
            raise ValueError("fit_generator: class_weight is not supported by cnnfast.keras")
        return self.fit(
            generator,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_data=validation_data,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
        )

    def _shown_logs(self, logs: dict[str, float]) -> dict[str, float]:
        """The loop's logs as Keras shows them: the accuracy under the name compile()
        was given ('acc' or 'accuracy'; none without metrics), and 'lr'."""
        metric = self._metrics[0] if self._metrics else None
        out: dict[str, float] = {"loss": logs["loss"]}
        if metric:
            out[metric] = logs["accuracy"]
        if "val_loss" in logs:
            out["val_loss"] = logs["val_loss"]
            if metric:
                out[f"val_{metric}"] = logs["val_accuracy"]
        for key, value in logs.items():  # 'lr', and anything a callback added
            if key not in out and key not in _LOOP_KEYS:
                out[key] = value
        return out

    def _logits(self, x: Any, batch_size: int) -> np.ndarray:
        logits = predict_logits(self._build(), _to_engine(x), batch_size)
        return logits if len(logits) else np.zeros((0, self.output_shape[-1]), np.float32)

    def predict(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """The last layer's outputs: class probabilities. x is an array, or a flow
        without random transforms (predicted in its stored order, not a shuffled one)."""
        if isinstance(x, NumpyArrayIterator):
            x, batch_size = _images(x, "predict"), x.batch_size
        logits = self._logits(x, batch_size)
        if self._final_sigmoid_logit():
            return ops.sigmoid(logits)
        return ops.softmax(logits, axis=1) if self._final_softmax() else logits

    def evaluate(self, x: Any, y: Any = None, batch_size: int = 32, verbose: int = 0) -> Any:
        """[loss, accuracy] with metrics=['accuracy'], else the loss; x and y arrays, or
        x a flow without random transforms."""
        self._require_compiled("evaluate")
        if isinstance(x, NumpyArrayIterator):
            if y is not None:
                raise ValueError("evaluate: with a flow, the targets come from flow(x, y)")
            x, y = _arrays(x, "evaluate")
        elif y is None:
            raise ValueError("evaluate: y is missing (or pass ImageDataGenerator.flow(x, y))")
        loss, accuracy = logits_metrics(self._logits(x, batch_size), self._labels(y))
        return [loss, accuracy] if self._metrics else loss

    def evaluate_generator(self, generator: NumpyArrayIterator, steps: int | None = None) -> Any:
        """Keras 2's name for evaluate on a flow (all of it; steps is not needed)."""
        return self.evaluate(generator)

    # --- whole models ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The model's layers and compile settings, as JSON-able values."""
        layers = [layer.get_config() for layer in self.layers]
        if self._input is not None and (not self.layers or self.layers[0].input_shape is None):
            layers.insert(
                0, {"class_name": "Input", "args": [], "kwargs": {"shape": list(self._input)}}
            )
        compiled = None
        if self._loss is not None:
            compiled = {
                "loss": self._loss_name,
                "optimizer": self._optimizer_config,
                "metrics": self._metrics,
            }
        return {"name": self.name, "layers": layers, "compile": compiled}

    def save(self, filepath: str | Path) -> None:
        """Configuration and weights in one file: Keras's own for a '.keras' name (Keras
        3's archive) or an '.h5'/'.hdf5' name (Keras 2's HDF5 model), both of which real
        Keras loads (the `keras` extra: h5py); cnnfast's npz for any other name.
        models.load_model reads all three. Under mpiexec rank 0 alone writes."""
        if not comm.is_root():
            return
        if saving.save_model_file(self, filepath) is not None:
            return
        arrays = dict(self._build().state_dict())
        arrays[_CONFIG_KEY] = np.array(json.dumps(self.get_config()))
        save_npz(filepath, arrays)

    # --- weights ----------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters in the engine's layout (a convolution kernel is
        (filters, channels, rows, cols); Keras's is (rows, cols, channels, filters))."""
        return [np.array(p.data) for p in self._build().parameters()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """The inverse of get_weights (same order, shapes and layout)."""
        params = list(self._build().parameters())
        if len(weights) != len(params):
            raise ValueError(f"set_weights: the model has {len(params)} arrays, got {len(weights)}")
        for i, (p, w) in enumerate(zip(params, weights)):
            w = np.asarray(w)
            if w.shape != p.data.shape:
                raise ValueError(f"set_weights: array {i} has shape {w.shape}, not {p.data.shape}")
        for p, w in zip(params, weights):
            p.data[...] = np.asarray(w, dtype=p.data.dtype)

    def save_weights(self, filepath: str | Path) -> None:
        """Keras's layout for Keras's names: Keras 3's for '.weights.h5', Keras 2's for
        '.h5'/'.hdf5' (as keras.callbacks.ModelCheckpoint writes it; the `keras` extra:
        h5py); cnnfast's npz for any other name. Under mpiexec rank 0 alone writes."""
        if comm.is_root() and saving.save_weights_file(self, filepath) is None:
            save_weights(self._build(), filepath)

    def load_weights(
        self, filepath: str | Path, by_name: bool = False, skip_mismatch: bool = False
    ) -> None:
        """Weights from a Keras file (Keras 2 .h5, Keras 3 .weights.h5 or .keras, told
        apart by the bytes) or cnnfast's npz. Keras 2 files load in layer order, or by
        layer name with by_name=True; skip_mismatch leaves a layer whose arrays do not
        fit as it is (with a warning) instead of raising. The whole file is read and
        checked against the model before any weight changes."""
        self._build()
        if not saving.load_weights_file(self, filepath, by_name, skip_mismatch):
            load_weights(self._build(), filepath)


_CONFIG_KEY = "__keras_model_config__"


def load_model(filepath: str | Path) -> Sequential:
    """A saved model: a Keras 3 .keras archive or Keras 2 .h5 model (real Keras's or
    cnnfast's; the layers cnnfast.keras has; anything else is an error naming the
    layer), or cnnfast's npz from Sequential.save. Its layers are rebuilt, its weights
    loaded, and it is compiled again as it was (the optimizer starts afresh)."""
    from . import layers as layer_classes

    keras_model = saving.load_model_file(filepath)
    if keras_model is not None:
        return keras_model
    arrays = load_npz(filepath)
    if _CONFIG_KEY not in arrays:
        raise FileFormatError(filepath, "holds weights only, no model (use model.load_weights)")
    with reading(filepath, "saved Keras model (its config)"):
        config = json.loads(str(arrays.pop(_CONFIG_KEY)))
        model = Sequential(name=config["name"])
        for spec in config["layers"]:
            layer = _named_class(layer_classes, spec["class_name"], "Layer", "layer")
            model.add(layer(*spec["args"], **spec["kwargs"]))
        if config["compile"]:
            c = config["compile"]
            opt = _named_class(optimizers, c["optimizer"]["class_name"], "Optimizer", "optimizer")
            model.compile(
                loss=c["loss"], optimizer=opt(**c["optimizer"]["config"]), metrics=c["metrics"]
            )
        model._build().load_state_dict(arrays)  # (all or nothing: a mismatch names the array)
    return model


def _named_class(module: Any, name: Any, base: str, kind: str) -> Any:
    """The class `name` in `module`, a subclass of its `base`; any other name (a
    function, a module, something that does not exist) is a ValueError naming it,
    not "'module' object is not callable"."""
    cls = (
        getattr(module, name, None) if isinstance(name, str) and not name.startswith("_") else None
    )
    if not (isinstance(cls, type) and issubclass(cls, getattr(module, base))):
        raise ValueError(f"the config names {name!r}, which is not a cnnfast.keras {kind}")
    return cls


__all__ = ["Sequential", "load_model"]
