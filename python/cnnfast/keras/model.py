"""keras.Model: what every cnnfast.keras model does over cnnfast's engine, and the
functional API's model (`Model(inputs, outputs)`; keras.models.Sequential is the
other kind, in models.py).

compile() picks the loss and builds cnnfast's optimizer; fit/evaluate/predict convert
Keras's channels-last arrays to the engine's layout once per call and run
cnnfast.training's loop. A softmax as the last activation is not run in training:
the cross-entropy takes the logits (fused, stable); predict() applies it.

A kind of model gives: `layers` (each after its inputs, the output's last),
`_in_shape(i)` and `_shapes[i]` (layer i's input and output shapes, per sample),
`input_shape`, `output_shape`, `_build()` (the engine network) and
`_module_prefix(i)` (where layer i's weights are in its state_dict).
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
from ..training.callbacks import Callback
from ..training.files import load_weights, save_npz, save_weights
from ..training.loop import fit as engine_fit
from ..training.loop import logits_metrics, predict_logits
from . import callbacks as keras_callbacks
from . import functional, losses, optimizers, saving
from .layers import Layer, Shape
from .preprocessing.image import NumpyArrayIterator
from .progress import KerasProgress

CONFIG_KEY = "__keras_model_config__"  # (the npz entry holding a saved model's config)


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


class Model:
    """A functional model: `Model(inputs, outputs)`, the layers called on the tensors
    between one keras.Input and one output tensor (keras.Model). Layers are not shared:
    each is called once."""

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str = "functional") -> None:
        self._setup(name)
        if inputs is None or outputs is None:
            raise ValueError("Model: pass inputs= (a keras.Input) and outputs= (a tensor)")
        tensors, input_layer = functional.walk(inputs, outputs)
        self.layers = [t.layer for t in tensors]
        self._input = input_layer.input_shape
        self._shapes = [t.per_sample for t in tensors]
        index = {id(t): i for i, t in enumerate(tensors)}
        self._parents = [tuple(index[id(p)] for p in t.parents) for t in tensors]

    def _setup(self, name: str) -> None:
        self.name = name
        self.layers: list[Layer] = []
        self._input: Shape | None = None
        self._shapes: list[Shape] = []  # each layer's output shape
        self._engine: nn.Module | None = None
        self._loss: str | None = None
        self._optimizer: Any = None
        self._metrics: list[str] = []
        self.stop_training = False  # a Keras callback sets it to end fit() after the epoch
        self.history: keras_callbacks.History | None = None

    @property
    def optimizer(self) -> Any:
        """The optimizer compile() built (its `lr` may be read and set), or None."""
        return self._optimizer

    # --- the graph ----------------------------------------------------------------------
    def _in_shape(self, i: int) -> Shape:
        """Layer i's (first) input shape; the input layer's own for it."""
        parents = self._parents[i]
        return self._shapes[parents[0]] if parents else self._input  # type: ignore[return-value]

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

    def _layer_modules(self, i: int) -> list[nn.Module]:
        """Layer i's engine modules with its activation (the last softmax, or a one-unit
        sigmoid, left out: the loss or predict applies it)."""
        from .layers import ACTIVATIONS

        layer = self.layers[i]
        modules = layer.modules(self._in_shape(i))
        last = i == len(self.layers) - 1
        if layer.activation and not (last and self._final_activation_in_loss()):
            modules.append(ACTIVATIONS[layer.activation]())
        return modules

    def _build(self) -> nn.Module:
        if self._engine is None:
            steps = [
                (layer, self._parents[i], self._layer_modules(i), self._in_shape(i))
                for i, layer in enumerate(self.layers)
            ]
            self._engine = functional.GraphNetwork(steps)
        return self._engine

    def _module_prefix(self, i: int) -> str:
        """The state_dict prefix of layer i's own engine module (its weights)."""
        self._build()
        return f"{i}.0."

    @property
    def engine(self) -> nn.Module:
        """The cnnfast.nn network this model runs (channels-first)."""
        return self._build()

    def count_params(self) -> int:
        return sum(sum(layer.params(self._in_shape(i))) for i, layer in enumerate(self.layers))

    def summary(self, print_fn: Any = print) -> None:
        """Keras's table for a functional model: each layer's name and type, output
        shape, parameter count and the layers it is connected to."""
        width, stops = 98, (33, 55, 67)
        rule, double = "_" * width, "=" * width

        def row(*fields: str) -> str:
            line = ""
            for field, stop in zip(fields, (*stops, width)):
                line = (line + " " + field).ljust(stop) if stop != width else line + " " + field
            return line.rstrip()

        lines = [f'Model: "{self.name}"', rule]
        lines += [row("Layer (type)", "Output Shape", "Param #", "Connected to"), double]
        for i, layer in enumerate(self.layers):
            shape = (None, *self._shapes[i])
            shown = f"[{shape}]" if not self._parents[i] else str(shape)
            kind = "InputLayer" if not self._parents[i] else type(layer).__name__
            links = [f"'{self.layers[p].name}[0][0]'" for p in self._parents[i]]
            params = sum(layer.params(self._in_shape(i)))
            lines.append(
                row(f"{layer.name} ({kind})", shown, str(params), "[" + ", ".join(links) + "]")
            )
            lines.append("" if i < len(self.layers) - 1 else double)
        lines += self._param_totals(rule)
        for line in lines:
            print_fn(line)

    def _param_totals(self, rule: str) -> list[str]:
        trainable = frozen = 0
        for i, layer in enumerate(self.layers):
            t, f = layer.params(self._in_shape(i))
            trainable, frozen = trainable + t, frozen + f
        return [
            f"Total params: {trainable + frozen:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {frozen:,}",
            rule,
        ]

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
    ) -> keras_callbacks.History:
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
                self._keras_file(cb.template)  # (a name this model cannot be saved to: now)
            engine_callbacks.append(cb)
        self.stop_training = False
        history = keras_callbacks.History()  # (filled by the loop, after the callbacks)
        history.set_model(self)
        history.set_params(params)
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
    ) -> keras_callbacks.History:
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
        """The engine's outputs in Keras's layout: a map (N, C, H, W) back to (N, H, W, C)."""
        logits = predict_logits(self._build(), _to_engine(x), batch_size)
        if not len(logits):
            return np.zeros((0, *self.output_shape[1:]), np.float32)
        return np.ascontiguousarray(logits.transpose(0, 2, 3, 1)) if logits.ndim == 4 else logits

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
    def _compile_config(self) -> dict[str, Any] | None:
        if self._loss is None:
            return None
        return {
            "loss": self._loss_name,
            "optimizer": self._optimizer_config,
            "metrics": self._metrics,
        }

    def get_config(self) -> dict[str, Any]:
        """The model's layers (each with the names of the layers it takes), its input
        and output, and its compile settings, as JSON-able values."""
        layers = []
        for i, layer in enumerate(self.layers):
            entry = layer.get_config()
            entry["inbound"] = [self.layers[p].name for p in self._parents[i]]
            layers.append(entry)
        return {
            "name": self.name,
            "functional": True,
            "layers": layers,
            "compile": self._compile_config(),
        }

    def save(self, filepath: str | Path) -> None:
        """Configuration and weights in one file: Keras's own for a '.keras' name (Keras
        3's archive) or an '.h5'/'.hdf5' name (Keras 2's HDF5 model), both of which real
        Keras loads (the `keras` extra: h5py); cnnfast's npz for any other name.
        models.load_model reads all three. Under mpiexec rank 0 alone writes."""
        if not comm.is_root():
            return
        if self._keras_file(filepath) and saving.save_model_file(self, filepath) is not None:
            return
        arrays = dict(self._build().state_dict())
        arrays[CONFIG_KEY] = np.array(json.dumps(self.get_config()))
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
        if not comm.is_root():
            return
        if not self._keras_file(filepath) or saving.save_weights_file(self, filepath) is None:
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
        if type(self) is Model and saving.content_kind(filepath) != "npz":
            raise _no_keras_files(filepath)
        if not saving.load_weights_file(self, filepath, by_name, skip_mismatch):
            load_weights(self._build(), filepath)

    def _keras_file(self, filepath: str | Path) -> bool:
        """Whether `filepath` names one of Keras's formats (else it is cnnfast's npz). A
        functional model is written as cnnfast's npz only, for now: a Keras name for it
        is an error."""
        keras = saving.name_kind(filepath) != "npz"
        if keras and type(self) is Model:
            raise _no_keras_files(filepath)
        return keras


def _no_keras_files(filepath: str | Path) -> ValueError:
    return ValueError(
        f"{filepath}: cnnfast.keras writes and reads Keras's files (.h5, .hdf5, "
        ".weights.h5, .keras) for Sequential models; save a functional Model under "
        "another name (cnnfast's npz)"
    )
