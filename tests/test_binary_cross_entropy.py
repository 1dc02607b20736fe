"""Binary cross-entropy with a logit (ops/binary_cross_entropy.py): against the
reference's formula over many shapes, in float64 gradient checks, its stability at
large logits, its errors, and the two-class Keras models that compile with it."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, assert_gradient

DTYPES = [np.float32, np.float64]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n", [1, 2, 7, 128, 1000])
def test_binary_cross_entropy_matches_reference(n, reduction, soft, dtype, rng):
    assert_all_ok(checks.check_binary_cross_entropy(rng, dtype, n, soft, reduction))


@pytest.mark.kernels
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_gradient_matches_finite_differences(reduction, rng):
    z = 3 * rng.standard_normal((6, 1))
    for t in (rng.integers(0, 2, 6), rng.random(6)):
        dloss = rng.standard_normal(6) if reduction == "none" else 0.5

        def f(v, t=t):
            return np.asarray(cf.ops.binary_cross_entropy(v, t, reduction))

        dy = dloss if reduction == "none" else np.asarray(dloss)
        assert_gradient(
            "binary_cross_entropy",
            f,
            z,
            dy,
            cf.ops.binary_cross_entropy_backward(z, t, reduction, dloss),
        )


def test_binary_cross_entropy_is_the_sigmoid_loss_and_stays_finite():
    z = np.array([[-200.0], [-30.0], [-1.0], [0.0], [2.5], [40.0], [300.0]], np.float32)
    t = np.array([1, 0, 1, 0, 1, 1, 0])
    losses = cf.ops.binary_cross_entropy(z, t, "none")
    expected = cf.reference.binary_cross_entropy(z.astype(np.float64), t, "none")
    assert np.isfinite(losses).all()
    np.testing.assert_allclose(losses, expected, rtol=1e-6, atol=1e-6)
    assert losses[0] == pytest.approx(200.0) and losses[-1] == pytest.approx(300.0)
    s = 1 / (1 + np.exp(-z[2:5, 0].astype(np.float64)))
    naive = -(t[2:5] * np.log(s) + (1 - t[2:5]) * np.log(1 - s))
    np.testing.assert_allclose(losses[2:5], naive, rtol=1e-6)
    grad = cf.ops.binary_cross_entropy_backward(z, t, "none", np.ones(7, np.float32))
    assert grad.shape == z.shape and np.isfinite(grad).all()
    np.testing.assert_allclose(grad[:, 0], [-1, 0, s[0] - 1, 0.5, s[2] - 1, 0, 1], atol=1e-6)
    flat = cf.ops.binary_cross_entropy_backward(z[:, 0], t)  # (N,) logits: (N,) gradient
    assert flat.shape == (7,)


def test_binary_cross_entropy_refuses_bad_input():
    z = np.zeros((4, 1), np.float32)
    with pytest.raises(ValueError, match=r"one logit per sample.*\(4, 2\)"):
        cf.ops.binary_cross_entropy(np.zeros((4, 2), np.float32), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="target must be"):
        cf.ops.binary_cross_entropy(z, [0, 1, 0])
    with pytest.raises(ValueError, match="target holds 2"):
        cf.ops.binary_cross_entropy(z, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cf.ops.binary_cross_entropy(z, np.array([0.0, 1.5, 0.2, 0.1]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cf.ops.binary_cross_entropy(z, np.array([0.0, np.nan, 0.2, 0.1]))
    with pytest.raises(ValueError, match="reduction"):
        cf.ops.binary_cross_entropy(z, [0, 1, 0, 1], "max")


def test_training_loop_uses_it_for_one_logit_nets(rng):
    """A net with one output is a two-class net: the loop's loss is the binary
    cross-entropy, its accuracy thresholds at sigmoid 0.5, predict gives sigmoids."""
    from cnnfast.training.loop import logits_metrics, predict

    x = rng.standard_normal((64, 1, 2, 2)).astype(np.float32)
    y = (x[:, 0, 0, 0] > 0).astype(np.int64)
    cf.manual_seed(0)
    model = cf.nn.Sequential(cf.nn.Flatten(), cf.nn.Linear(4, 1))
    opt = cf.optim.Adam(model.parameters(), lr=0.05)
    history = cf.training.fit(model, opt, x, y, batch_size=16, epochs=20, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loss, accuracy = cf.training.evaluate(model, x, y)
    assert accuracy > 0.9
    logits = cf.training.predict_logits(model, x)
    assert loss == pytest.approx(float(cf.reference.binary_cross_entropy(logits, y)), rel=1e-5)
    p = predict(model, x)
    assert p.shape == (64, 1) and ((p > 0.5)[:, 0] == (logits[:, 0] > 0)).all()
    assert logits_metrics(logits, y)[1] == accuracy


def test_keras_binary_crossentropy_with_a_sigmoid_unit(rng):
    from cnnfast.keras import optimizers
    from cnnfast.keras.layers import Dense, Flatten
    from cnnfast.keras.models import Sequential

    x = rng.random((96, 4, 4, 1)).astype(np.float32)
    y = (x[:, :2].mean(axis=(1, 2, 3)) > x[:, 2:].mean(axis=(1, 2, 3))).astype(np.float32)
    model = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(1, activation="sigmoid")])
    model.compile(
        loss="binary_crossentropy",
        optimizer=optimizers.Adam(learning_rate=0.05),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=16, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x, y)
    assert accuracy > 0.85
    p = model.predict(x)
    assert p.shape == (96, 1) and 0 <= p.min() and p.max() <= 1
    expected = -np.mean(y * np.log(p[:, 0]) + (1 - y) * np.log(1 - p[:, 0]))
    assert loss == pytest.approx(float(expected), rel=1e-4)
    assert accuracy == pytest.approx(float(((p[:, 0] > 0.5) == y).mean()))
    with pytest.raises(ValueError, match="0/1 targets"):
        model.fit(x, y * 0.5 + 0.25, epochs=1, verbose=0)
    wrong = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match=r"Dense\(1, activation='sigmoid'\)"):
        wrong.compile(loss="binary_crossentropy", optimizer="adam")
    single = Sequential([Flatten(input_shape=(4, 4, 1)), Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="activation='softmax'"):
        single.compile(loss="categorical_crossentropy", optimizer="adam")
