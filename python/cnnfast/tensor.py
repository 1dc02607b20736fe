"""Autograd: a Tensor holds a NumPy array and, when it was computed from tensors that
need gradients, the recipe to push a gradient back to them.

Each op builds its output with `Tensor._from_op(data, parents, backward)`, where
`backward(grad)` returns one gradient per parent (None where a parent needs none).
`Tensor.backward()` walks the graph in reverse topological order, summing the
gradients that reach each tensor, and stores them in `.grad` on the leaves that
asked for them (as micrograd does, with arrays instead of scalars). A leaf's gradient
is stored as soon as the last op that consumed it has run, not after the whole graph,
and its post-accumulate hooks run then: cnnfast.distributed starts reducing the
last layers' gradients while backward is still working on the first layers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Union

import numpy as np

from . import ops
from ._graph import post_order

BackwardFn = Callable[[np.ndarray], Sequence[Union[np.ndarray, None]]]
ArrayLike = Any

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "grad_enabled", True)


def records_graph(parents: Sequence[Tensor]) -> bool:
    """Whether an op on `parents` joins the autograd graph (gradients are on and one of
    them requires a gradient): an op may skip saving what only its backward needs."""
    return is_grad_enabled() and any(p.requires_grad for p in parents)


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block no graph is recorded (inference, optimizer steps)."""
    before = is_grad_enabled()
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = before


def _as_array(value: ArrayLike, dtype: Any = None) -> np.ndarray:
    if ops.device_of(value) != "cpu":  # device data stays where it is
        return value if dtype is None else value.astype(dtype, copy=False)
    arr = np.asarray(value, dtype=dtype)
    if dtype is None and arr.dtype.kind in "iub":
        return arr  # integer tensors (labels) stay integer
    if dtype is None and arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    return arr


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back down to `shape`."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(lead))) if lead else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Tensor:
    """An array with an optional gradient and the graph that produced it."""

    __slots__ = ("_backward", "_grad_hooks", "_parents", "data", "grad", "name", "requires_grad")
    __array_priority__ = 100  # numpy defers to Tensor's operators

    def __init__(
        self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None, name: str = ""
    ) -> None:
        self.data = _as_array(data.data if isinstance(data, Tensor) else data, dtype)
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self.name = name
        self._parents: tuple[Tensor, ...] = ()
        self._backward: BackwardFn | None = None
        self._grad_hooks: dict[int, Callable[[Tensor], None]] | None = None

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: Sequence[Tensor], backward: BackwardFn) -> Tensor:
        out = cls(data)
        if records_graph(parents):
            out.requires_grad = True
            out._parents = tuple(parents)
            out._backward = backward
        return out

    # --- basic protocol -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    @property
    def device(self) -> str:
        """'cpu' or 'cuda': where the data lives (and where ops on it run)."""
        return ops.device_of(self.data)

    def to(self, device: str) -> Tensor:
        """This tensor on `device` ('cpu' or 'cuda'); itself when already there. The
        copy is part of the graph: gradients flow back to the original's device."""
        target, origin = ops.device_name(device), self.device
        if target == origin:
            return self
        moved = ops.to_device(self.data, target)
        return Tensor._from_op(moved, (self,), lambda g: (ops.to_device(g, origin),))

    def __dlpack__(self, stream: Any = None, **kwargs: Any) -> Any:
        """DLPack export of the data (no copy; see cnnfast.cuda.dlpack)."""
        return self.data.__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.data.__dlpack_device__()

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def numpy(self) -> np.ndarray:
        if self.device != "cpu":
            raise TypeError(
                "numpy() of a tensor on cuda: move it to the host first with .to('cpu')"
            )
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        return Tensor(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        where = ", device='cuda'" if self.device == "cuda" else ""
        values = np.array2string(np.asarray(self.data), threshold=8)
        return f"Tensor({values}, dtype={self.dtype}{where}{grad})"

    # --- backward ------------------------------------------------------------------
    def backward(self, grad: ArrayLike | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's .grad (self must be a scalar
        unless `grad` is given)."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() needs a gradient for a non-scalar of shape {self.shape}"
                )
            # (on the device, filled there: no upload inside a training step)
            grad = ops.full(self.shape, 1.0, self.dtype, self.device)
        if ops.device_of(grad) == "cpu":
            grad = np.asarray(grad, dtype=self.dtype)
        seed = ops.to_device(grad, self.device)
        seed = seed if seed.dtype == self.dtype else seed.astype(self.dtype)
        order = self._topological_order()
        # How many consumers' gradients each tensor still waits for: a leaf is done
        # (its .grad final, its hooks run) when the last of them has arrived.
        owed: dict[int, int] = {}
        for t in order:
            for parent in t._parents:
                if parent.requires_grad:
                    owed[id(parent)] = owed.get(id(parent), 0) + 1
        grads: dict[int, np.ndarray] = {id(self): seed.reshape(self.shape)}
        if self._backward is None:  # backward() of a leaf itself
            self._accumulate(grads.pop(id(self)))
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None or t._backward is None:
                continue  # (leaves were finished when their last gradient arrived)
            for parent, pg in zip(t._parents, t._backward(g)):
                if not parent.requires_grad:
                    continue
                key = id(parent)
                if pg is not None:
                    grads[key] = pg if key not in grads else grads[key] + pg
                owed[key] -= 1
                if owed[key] == 0 and parent._backward is None and key in grads:
                    parent._accumulate(grads.pop(key))

    def _accumulate(self, g: np.ndarray) -> None:
        """Add a finished gradient into this leaf's .grad, then run its hooks."""
        self.grad = g.copy() if self.grad is None else self.grad + g
        if self._grad_hooks:
            for hook in list(self._grad_hooks.values()):
                hook(self)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> HookHandle:
        """Call hook(tensor) each time backward() has finished adding into this leaf's
        .grad (as torch.Tensor's hook of that name). Returns a handle whose remove()
        unregisters it."""
        if self._backward is not None:
            raise RuntimeError("post-accumulate-grad hooks are for leaf tensors")
        if self._grad_hooks is None:
            self._grad_hooks = {}
        handle = HookHandle(self._grad_hooks)
        self._grad_hooks[handle.key] = hook
        return handle

    def _topological_order(self) -> list[Tensor]:
        return post_order(self, lambda t: [p for p in t._parents if p.requires_grad])

    # --- arithmetic (broadcasting) -------------------------------------------------
    def __add__(self, other: ArrayLike) -> Tensor:
        o = as_tensor(other, self.dtype)
        return Tensor._from_op(
            self.data + o.data,
            (self, o),
            lambda g: (_unbroadcast(g, self.shape), _unbroadcast(g, o.shape)),
        )

    __radd__ = __add__

    def __neg__(self) -> Tensor:
        return Tensor._from_op(-self.data, (self,), lambda g: (-g,))

    def __sub__(self, other: ArrayLike) -> Tensor:
        return self + (-as_tensor(other, self.dtype))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return as_tensor(other, self.dtype) + (-self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        o = as_tensor(other, self.dtype)
        return Tensor._from_op(
            self.data * o.data,
            (self, o),
            lambda g: (
                _unbroadcast(g * o.data, self.shape) if self.requires_grad else None,
                _unbroadcast(g * self.data, o.shape) if o.requires_grad else None,
            ),
        )

    __rmul__ = __mul__

    def __truediv__(self, other: ArrayLike) -> Tensor:
        o = as_tensor(other, self.dtype)
        return Tensor._from_op(
            self.data / o.data,
            (self, o),
            lambda g: (
                _unbroadcast(g / o.data, self.shape),
                _unbroadcast(-g * self.data / (o.data * o.data), o.shape),
            ),
        )

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return as_tensor(other, self.dtype) / self

    def __pow__(self, exponent: float) -> Tensor:
        e = float(exponent)
        return Tensor._from_op(self.data**e, (self,), lambda g: (g * e * self.data ** (e - 1),))

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return matmul(self, as_tensor(other, self.dtype))

    def exp(self) -> Tensor:
        y = np.exp(self.data)
        return Tensor._from_op(y, (self,), lambda g: (g * y,))

    def log(self) -> Tensor:
        return Tensor._from_op(np.log(self.data), (self,), lambda g: (g / self.data,))

    # --- reductions and shape ------------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        y = self.data.sum(axis=axis, keepdims=keepdims)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            return (ops.sum_backward(g, self.shape, axis, keepdims, self.dtype),)

        out = y if ops.device_of(y) != "cpu" else np.asarray(y, dtype=self.dtype)
        return Tensor._from_op(out, (self,), backward)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        count = (
            self.size
            if axis is None
            else int(np.prod([self.shape[a] for a in np.atleast_1d(axis)]))
        )
        return self.sum(axis, keepdims) * (1.0 / max(count, 1))

    def reshape(self, *shape: Any) -> Tensor:
        new = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Tensor._from_op(self.data.reshape(new), (self,), lambda g: (g.reshape(self.shape),))

    def flatten(self, start_dim: int = 1) -> Tensor:
        return self.reshape(*self.shape[:start_dim], -1)

    def transpose(self, *axes: int) -> Tensor:
        perm = axes or tuple(reversed(range(self.ndim)))
        inverse = np.argsort(perm)
        return Tensor._from_op(
            np.ascontiguousarray(self.data.transpose(perm)),
            (self,),
            lambda g: (np.ascontiguousarray(g.transpose(inverse)),),
        )

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            full = np.zeros_like(self.data)
            np.add.at(full, index, g)
            return (full,)

        return Tensor._from_op(np.asarray(self.data[index]), (self,), backward)


class HookHandle:
    """What register_post_accumulate_grad_hook returns: remove() unregisters the hook."""

    _next = 0

    def __init__(self, hooks: dict[int, Any]) -> None:
        HookHandle._next += 1
        self.key = HookHandle._next
        self._hooks = hooks

    def remove(self) -> None:
        self._hooks.pop(self.key, None)


def as_tensor(value: ArrayLike, dtype: Any = None) -> Tensor:
    """`value` as a Tensor (no copy when it already is one)."""
    return value if isinstance(value, Tensor) else Tensor(value, dtype=dtype)


def tensor(
    data: ArrayLike, requires_grad: bool = False, dtype: Any = None, device: str = "cpu"
) -> Tensor:
    """A new leaf tensor (float data stays float32/float64; other floats become float32)
    on `device` ('cpu', or 'cuda': see cnnfast.cuda)."""
    if isinstance(data, Tensor):
        data = data.data
    data = ops.to_device(data, "cpu")
    if ops.device_name(device) != "cpu":  # the upload is the copy
        return Tensor(ops.to_device(_as_array(data, dtype), device), requires_grad=requires_grad)
    host = _as_array(np.array(data, dtype=dtype, copy=True), None)
    return Tensor(host, requires_grad=requires_grad)


def matmul(a: Tensor, b: Tensor, trans_a: bool = False, trans_b: bool = False) -> Tensor:
    """op(a) @ op(b) for 2-D tensors, on the GEMM kernel."""
    y = ops.matmul(a.data, b.data, trans_a, trans_b)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        da = db = None
        if a.requires_grad:  # d op(a) = g op(b)^T
            da = (
                ops.matmul(b.data, g, trans_b, True)
                if trans_a
                else ops.matmul(g, b.data, False, not trans_b)
            )
        if b.requires_grad:  # d op(b) = op(a)^T g
            db = (
                ops.matmul(g, a.data, True, trans_a)
                if trans_b
                else ops.matmul(a.data, g, not trans_a, False)
            )
        return da, db

    return Tensor._from_op(y, (a, b), backward)


def concat(tensors: Sequence[Tensor], axis: int = 1) -> Tensor:
    """Join tensors along `axis` (inception modules concatenate channels)."""
    sizes = [t.shape[axis] for t in tensors]
    axis = axis % tensors[0].ndim
    return Tensor._from_op(
        ops.concat([t.data for t in tensors], axis),
        tuple(tensors),
        lambda g: ops.split(g, sizes, axis),
    )
