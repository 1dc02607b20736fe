"""The autograd Tensor: every op's gradient against finite differences (float64), graph
mechanics, and a whole small conv net's parameter gradients."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import nn
from cnnfast.nn import functional as F
from cnnfast.tensor import concat, matmul
from helpers import assert_gradient


def grad_of(fn, *arrays):
    """Analytic gradients of sum(fn(*tensors) * dy) with respect to each input."""
    ts = [cf.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    dy = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(dy)
    return [t.grad for t in ts], dy


UNARY_AND_BINARY = [
    ("add broadcast", lambda a, b: a + b, [(3, 4), (4,)]),
    ("sub broadcast", lambda a, b: a - b, [(2, 3, 4), (3, 1)]),
    ("mul broadcast", lambda a, b: a * b, [(3, 4), (1, 4)]),
    ("div", lambda a, b: a / (b * b + 1), [(3, 4), (3, 4)]),
    ("pow", lambda a: (a * a + 1) ** 1.5, [(5,)]),
    ("exp log", lambda a: (a.exp() + 1).log(), [(2, 3)]),
    ("sum axis", lambda a: a.sum(axis=1), [(3, 4, 2)]),
    ("sum keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), [(3, 4, 2)]),
    ("mean", lambda a: a.mean(axis=0), [(5, 3)]),
    ("reshape transpose", lambda a: a.reshape(4, 6).transpose(1, 0), [(2, 3, 4)]),
    ("getitem", lambda a: a[1:, ::2], [(4, 6)]),
    ("matmul", lambda a, b: a @ b, [(3, 5), (5, 4)]),
    ("matmul transposed", lambda a, b: matmul(a, b, trans_a=True, trans_b=True), [(5, 3), (4, 5)]),
    ("concat", lambda a, b: concat([a, b], axis=1), [(2, 3, 2), (2, 1, 2)]),
    ("reuse", lambda a: a * a + a, [(3, 3)]),  # a tensor used twice accumulates
]


@pytest.mark.parametrize("name,fn,shapes", UNARY_AND_BINARY, ids=[c[0] for c in UNARY_AND_BINARY])
def test_op_gradients_match_finite_differences(name, fn, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    grads, dy = grad_of(fn, *arrays)
    for i, (a, g) in enumerate(zip(arrays, grads)):

        def f(v, i=i):
            args = [cf.tensor(v if j == i else arrays[j]) for j in range(len(arrays))]
            return fn(*args).data

        assert_gradient(f"{name} arg {i}", f, a, dy, g)


def test_backward_accumulates_into_leaves_and_no_grad_records_nothing():
    w = cf.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * 3).sum().backward()
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad, [5.0, 5.0])
    with cf.no_grad():
        y = w * 2
    assert not y.requires_grad
    assert not w.detach().requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        cf.tensor([1.0]).backward()
    with pytest.raises(RuntimeError, match="non-scalar"):
        (w * 2).backward()


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = cf.tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding="same"),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 2, stride=1, groups=1),
        nn.Tanh(),
        nn.AvgPool2d(2, 1),
        nn.LocalResponseNorm(3, 0.1, 0.75, 2.0),
        nn.Flatten(),
        nn.Linear(4, 5),
        nn.Sigmoid(),
        nn.Linear(5, 3),
    )


def test_whole_net_parameter_gradients_match_finite_differences(rng):
    """A small conv net (conv, batch norm, ReLU, pooling, LRN, dense, sigmoid, cross-entropy):
    every parameter's gradient equals central differences of the loss, in float64."""
    cf.manual_seed(3)
    model = small_net().astype(np.float64)
    x = rng.standard_normal((4, 2, 6, 6))
    y = np.array([0, 2, 1, 2])

    def loss_value() -> float:
        # BatchNorm in training mode updates running stats; they do not affect the loss.
        return float(F.cross_entropy(model(cf.tensor(x)), y).item())

    model.train()
    model.zero_grad()
    F.cross_entropy(model(cf.tensor(x)), y).backward()
    h = 1e-6
    for name, p in model.named_parameters():
        numeric = np.zeros_like(p.data)
        flat = p.data.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + h
            plus = loss_value()
            flat[i] = orig - h
            minus = loss_value()
            flat[i] = orig
            numeric.reshape(-1)[i] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_dropout_follows_manual_seed_and_is_identity_in_eval():
    x = cf.tensor(np.ones((4, 100)))
    layer = nn.Dropout(0.5)
    cf.manual_seed(7)
    a = layer(x).data
    cf.manual_seed(7)
    np.testing.assert_array_equal(layer(x).data, a)
    assert set(np.unique(a)) <= {0.0, 2.0} and 0.3 < (a == 0).mean() < 0.7
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x.data)
