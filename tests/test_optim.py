"""Optimizers against independent NumPy transcriptions of their published rules, step by
step, and the learning-rate schedule."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import optim
from cnnfast.nn import Parameter

STEPS = 6


def run(opt_cls, hyper, grads, p0):
    p = Parameter(p0.copy())
    opt = opt_cls([p], **hyper)
    out = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        out.append(p.data.copy())
    return out


def transcribe_sgd(p, grads, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    v, out = None, []
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            v = g if v is None else momentum * v + g
            g = g + momentum * v if nesterov else v
        p = p - lr * g
        out.append(p)
    return out


def transcribe_adam(p, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = v = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        out.append(p)
    return out


def transcribe_adadelta(p, grads, lr=1.0, rho=0.95, eps=1e-6):
    eg = ed = np.zeros_like(p)
    out = []
    for g in grads:
        eg = rho * eg + (1 - rho) * g**2
        dx = -np.sqrt(ed + eps) / np.sqrt(eg + eps) * g
        ed = rho * ed + (1 - rho) * dx**2
        p = p + lr * dx
        out.append(p)
    return out


def transcribe_rmsprop(p, grads, lr=1e-3, rho=0.9, eps=1e-7):
    eg = np.zeros_like(p)
    out = []
    for g in grads:
        eg = rho * eg + (1 - rho) * g**2
        p = p - lr * g / (np.sqrt(eg) + eps)
        out.append(p)
    return out


CASES = [
    (optim.SGD, {"lr": 0.1}, transcribe_sgd),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}, transcribe_sgd),
    (
        optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
        transcribe_sgd,
    ),
    (optim.Adam, {}, transcribe_adam),
    (optim.Adam, {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-4}, transcribe_adam),
    (optim.Adadelta, {}, transcribe_adadelta),
    (optim.Adadelta, {"lr": 0.5, "rho": 0.9, "eps": 1e-5}, transcribe_adadelta),
    (optim.RMSprop, {}, transcribe_rmsprop),
    (optim.RMSprop, {"lr": 0.01, "rho": 0.8, "eps": 1e-6}, transcribe_rmsprop),
]


@pytest.mark.parametrize(
    "opt_cls,hyper,transcription", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_optimizer_matches_its_published_rule(opt_cls, hyper, transcription, rng):
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(STEPS)]
    defaults = {"lr": opt_cls.defaults["lr"]} if opt_cls is optim.SGD else {}
    ours = run(opt_cls, hyper, grads, p0)
    theirs = transcription(p0, grads, **{**defaults, **hyper})
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")


def test_optimizer_state_round_trips(rng):
    p = Parameter(rng.standard_normal(5))
    opt = optim.Adam([p], lr=0.01)
    for _ in range(3):
        p.grad = rng.standard_normal(5)
        opt.step()
    clone_p = Parameter(p.data.copy())
    clone = optim.Adam([clone_p])
    clone.load_state_dict(opt.state_dict())
    g = rng.standard_normal(5)
    p.grad, clone_p.grad = g, g.copy()
    opt.step()
    clone.step()
    np.testing.assert_array_equal(p.data, clone_p.data)
    assert clone.lr == 0.01


def test_reduce_lr_on_plateau():
    p = Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=0.2)
    values = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 1.1, 1.2]
    lrs = []
    for v in values:
        sched.step(v)
        lrs.append(opt.lr)
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]


def test_optimizer_errors():
    with pytest.raises(ValueError, match="no parameters"):
        optim.Adam([])
    with pytest.raises(TypeError, match="unknown hyper-parameters"):
        optim.Adam([Parameter(np.zeros(1))], momentum=0.9)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.get("lion", [Parameter(np.zeros(1))])
    assert isinstance(optim.get("RMSprop", [Parameter(np.zeros(1))], lr=None), optim.RMSprop)
    assert cf.optim.get("sgd", [Parameter(np.zeros(1))], lr=0.3).lr == 0.3


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("shape", [(1,), (7, 3), (64, 1024)])
def test_adam_kernel_equals_the_reference_bit_for_bit(shape, weight_decay, dtype, rng):
    kw = dict(lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=weight_decay)
    p = rng.standard_normal(shape).astype(dtype)
    states = [[p.copy(), np.zeros_like(p), np.zeros_like(p)] for _ in range(2)]
    for step in range(1, 6):
        g = rng.standard_normal(shape).astype(dtype)
        cf.ops.adam_update(*_pgmv(states[0], g), **kw, step=step)
        cf.reference.adam_update(*_pgmv(states[1], g), **kw, step=step)
        for a, b in zip(*states):
            np.testing.assert_array_equal(a, b)


def _pgmv(state: list[np.ndarray], g: np.ndarray) -> tuple[np.ndarray, ...]:
    p, m, v = state
    return p, g, m, v


def test_adam_kernel_refuses_what_it_cannot_update_in_place():
    kw = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=1)
    p = np.zeros((4, 4), np.float32)
    z = np.zeros_like(p)
    read_only = p.copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="p must be writable"):
        cf.ops.adam_update(read_only, z, z.copy(), z.copy(), **kw)
    with pytest.raises(ValueError, match="must match p"):
        cf.ops.adam_update(p, z, z.astype(np.float64), z.copy(), **kw)
    with pytest.raises(ValueError, match="g"):
        cf.ops.adam_update(p, np.zeros(3), z.copy(), z.copy(), **kw)
    with pytest.raises(ValueError, match="step"):
        cf.ops.adam_update(p, z, z.copy(), z.copy(), **{**kw, "step": 0})
    with pytest.raises(ValueError, match="adam_update"):  # raw binding checks too
        cf._C.adam_update(
            p, z, z.copy(), np.zeros((4, 5), np.float32), 1e-3, 0.9, 0.999, 1e-8, 0, 1
        )


def test_adam_on_a_strided_parameter_updates_it_through_a_copy(rng):
    base = rng.standard_normal((4, 6))
    view = Parameter(base[:, ::2])  # not contiguous
    flat = Parameter(np.ascontiguousarray(base[:, ::2]))
    g = rng.standard_normal((4, 3))
    for prm in (view, flat):
        prm.grad = g
        optim.Adam([prm], lr=0.1).step()
    np.testing.assert_array_equal(view.data, flat.data)
