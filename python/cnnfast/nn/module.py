"""Module: a container of parameters, buffers and sub-modules (PyTorch's design)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

from .. import ops
from ..tensor import Tensor, no_grad


class Parameter(Tensor):
    """A tensor a Module learns: it always requires grad."""

    __slots__ = ()

    def __init__(self, data: Any) -> None:
        super().__init__(data, requires_grad=True)


_call_hooks: list[Callable[[Module, Tensor], None]] = []


class Module:
    """Base class: assign Parameters and Modules as attributes; implement forward()."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self._buffers:
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """A state array that is saved with the weights but not learned (running stats)."""
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any) -> Any:
        out = self.forward(*args)
        for hook in _call_hooks:
            hook(self, out)
        return out

    # --- traversal --------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, m in self.named_modules():
            for name, b in m._buffers.items():
                yield (f"{prefix}.{name}" if prefix else name), b

    def num_parameters(self, trainable_only: bool = True) -> int:
        total = sum(p.size for p in self.parameters())
        return total if trainable_only else total + sum(b.size for _, b in self.named_buffers())

    # --- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for _, m in self.named_modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter and buffer to `dtype` in place (float64 for gradient checks)."""
        for _, m in self.named_modules():
            for p in m._parameters.values():
                p.data = p.data.astype(dtype)
                p.grad = None
            for name, b in m._buffers.items():
                setattr(m, name, np.asarray(b, dtype=dtype))
        return self

    def to(self, device: str) -> Module:
        """Move every parameter and buffer to `device` ('cpu' or 'cuda') in place, as
        PyTorch does (parameters keep their identity, so an optimizer built before or
        after sees the same ones). Gradients are dropped."""
        target = ops.device_name(device)
        for _, m in self.named_modules():
            for p in m._parameters.values():
                p.data = ops.to_device(p.data, target)
                p.grad = None
            for name, b in m._buffers.items():
                setattr(m, name, ops.to_device(b, target))
        return self

    @property
    def device(self) -> str:
        """Where the parameters live ('cpu' for a module without any)."""
        params = self.parameters()
        return params[0].device if params else "cpu"

    # --- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state = {name: np.array(p.data, copy=True) for name, p in self.named_parameters()}
        state.update({name: np.array(b, copy=True) for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers (in place, shapes must match).
        All or nothing: every array is checked before the first is copied, so a state
        that does not fit leaves the module as it was."""
        own = self._own_arrays()
        for name, value in self._checked_state(state, strict).items():
            own[name][...] = value

    def check_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Raises, as load_state_dict would, if `state` does not fit; changes nothing."""
        self._checked_state(state, strict)

    def _own_arrays(self) -> dict[str, np.ndarray]:
        own: dict[str, np.ndarray] = {n: p.data for n, p in self.named_parameters()}
        own.update(dict(self.named_buffers()))
        return own

    def _checked_state(self, state: dict[str, np.ndarray], strict: bool) -> dict[str, np.ndarray]:
        own = self._own_arrays()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
        values = {}
        for name, target in own.items():
            if name not in state:
                continue
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {value.shape}, "
                    f"the model expects {target.shape}"
                )
            if value.dtype.kind not in "fiub":
                raise ValueError(
                    f"load_state_dict: {name} has dtype {value.dtype}, not a number the "
                    f"model's {target.dtype} can hold"
                )
            values[name] = value
        return values

    # --- summary --------------------------------------------------------------------------
    def trace_shapes(
        self, input_shape: Sequence[int], dtype: Any = np.float32
    ) -> list[tuple[Module, tuple[int, ...]]]:
        """(module, output shape) for every module called, nested ones included, in call
        order, in one eval-mode forward pass on zeros of `input_shape` (batch included);
        the mode is restored and no running statistic moves."""
        seen: list[tuple[Module, tuple[int, ...]]] = []

        def record(module: Module, out: Any) -> None:
            seen.append((module, tuple(out.shape) if isinstance(out, Tensor) else ()))

        with _hooked(record), no_grad():
            mode = self.training
            self.eval()
            try:
                self(Tensor(np.zeros(tuple(input_shape), dtype=dtype)))
            finally:
                self.train(mode)
        return seen

    def summary(
        self,
        input_shape: tuple[int, ...],
        print_fn: Callable[[str], None] | None = print,
        dtype: Any = np.float32,
    ) -> str:
        """A Keras-like table of the top-level layers: name (type), output shape, parameters,
        from one forward pass on zeros of shape (1, *input_shape)."""
        rows: list[tuple[str, str, int]] = []
        names = {id(m): n for n, m in self._modules.items()}
        leaves = not names  # a module without children summarises itself
        for module, shape in self.trace_shapes((1, *input_shape), dtype):
            if id(module) in names or (leaves and module is self):
                kind = type(module).__name__
                name = names.get(id(module), kind.lower())
                label = f"{kind.lower()}_{name} ({kind})" if name.isdigit() else f"{name} ({kind})"
                rows.append((label, str((None, *shape[1:])), module.num_parameters(False)))
        trainable = self.num_parameters()
        total = self.num_parameters(False)
        width = max([len(r[0]) for r in rows] + [24]) + 2
        line = "_" * (width + 40)
        out = [
            line,
            f"{'Layer (type)':<{width}}{'Output Shape':<26}{'Param #':>12}",
            "=" * len(line),
        ]
        out += [f"{label:<{width}}{shape:<26}{params:>12,}" for label, shape, params in rows]
        out += [
            "=" * len(line),
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            line,
        ]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text


def has_call_hooks() -> bool:
    """Whether anything listens to module calls (Sequential fuses layers only when not)."""
    return bool(_call_hooks)


@contextmanager
def _hooked(hook: Callable[[Module, Tensor], None]) -> Iterator[None]:
    _call_hooks.append(hook)
    try:
        yield
    finally:
        _call_hooks.remove(hook)
