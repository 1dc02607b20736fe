"""Modules, the model zoo (shapes, parameter counts the lectures print), summaries."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import nn
from cnnfast.nn import functional as F

# Parameter counts printed in the lectures (DESIGN.md), and AlexNet's well-known total.
LECTURE_PARAMS = {
    "tf-tutorial-cnn": 93_322,
    "udacity-cifar10": 528_054,
    "udacity-cifar10-mlp": 3_590_642,
    "alexnet": 60_965_224,
}
SMALL_BATCH = {"alexnet": 1, "alphago-policy": 2, "kim-sentence-cnn": 2, "typical-120x160": 2}


@pytest.mark.parametrize("name", sorted(LECTURE_PARAMS))
def test_parameter_counts_match_the_lectures(name):
    model = cf.models.get(name)
    assert model.num_parameters() == LECTURE_PARAMS[name]
    text = model.summary(cf.models.spec(name).input_shape, print_fn=None)
    assert f"Total params: {LECTURE_PARAMS[name]:,}" in text


def test_summary_shows_the_keras_table_row_by_row():
    text = cf.models.get("keras-mnist-2conv").summary((1, 28, 28), print_fn=None)
    rows = [line.split() for line in text.splitlines() if line.endswith(tuple("0123456789"))]
    rows = [(r[0], " ".join(r[2:-1]), r[-1]) for r in rows if r[1].startswith("(")]
    # every layer has its own row, the fused ReLU + MaxPool2d pairs included
    assert rows == [
        ("conv2d_0", "(None, 32, 26, 26)", "320"),
        ("relu_1", "(None, 32, 26, 26)", "0"),
        ("maxpool2d_2", "(None, 32, 13, 13)", "0"),
        ("dropout_3", "(None, 32, 13, 13)", "0"),
        ("conv2d_4", "(None, 64, 11, 11)", "18,496"),
        ("relu_5", "(None, 64, 11, 11)", "0"),
        ("maxpool2d_6", "(None, 64, 5, 5)", "0"),
        ("dropout_7", "(None, 64, 5, 5)", "0"),
        ("flatten_8", "(None, 1600)", "0"),
        ("linear_9", "(None, 128)", "204,928"),
        ("relu_10", "(None, 128)", "0"),
        ("dropout_11", "(None, 128)", "0"),
        ("linear_12", "(None, 10)", "1,290"),
    ]
    assert "Total params: 225,034" in text


def test_call_hooks_see_every_layer_and_the_same_output(rng):
    """Sequential fuses ReLU + MaxPool2d only while nothing listens to calls; with a
    hook each layer goes through __call__, and the result is the same (the fusion is
    exact)."""
    from cnnfast.nn.module import _hooked

    model = cf.nn.Sequential(cf.nn.Conv2d(1, 2, 3), cf.nn.ReLU(), cf.nn.MaxPool2d(2))
    x = cf.tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32))
    fused = model(x).data
    seen = []
    with _hooked(lambda m, out: seen.append((type(m).__name__, out.shape))):
        plain = model(x).data
    assert seen == [
        ("Conv2d", (2, 2, 6, 6)),
        ("ReLU", (2, 2, 6, 6)),
        ("MaxPool2d", (2, 2, 3, 3)),
        ("Sequential", (2, 2, 3, 3)),
    ]
    np.testing.assert_array_equal(fused, plain)


@pytest.mark.parametrize("name", cf.models.list())
def test_every_zoo_model_runs_forward_and_backward(name):
    spec = cf.models.spec(name)
    model = cf.models.get(name, seed=1)
    n = SMALL_BATCH.get(name, 3)
    x = np.random.default_rng(0).random((n, *spec.input_shape), dtype=np.float32)
    logits = model(cf.tensor(x))
    assert logits.shape == (n, spec.classes)
    loss = F.cross_entropy(logits, np.arange(n) % spec.classes)
    assert np.isfinite(loss.item())
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert np.isfinite(p.grad).all(), pname


def test_models_are_seeded():
    a = cf.models.get("lenet5", seed=5).state_dict()
    b = cf.models.get("lenet5", seed=5).state_dict()
    c = cf.models.get("lenet5", seed=6).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    with pytest.raises(ValueError, match="unknown model"):
        cf.models.get("resnet-152")


def test_state_dict_round_trip_and_errors(tmp_path):
    model = cf.models.get("resnet-blocks", seed=1)  # has batch-norm buffers
    x = cf.tensor(np.random.default_rng(0).random((2, 3, 32, 32), dtype=np.float32))
    model.train()
    model(x)  # moves the running statistics
    model.eval()
    with cf.no_grad():
        expected = model(x).data
    path = tmp_path / "w.npz"
    cf.training.save_weights(model, path)
    fresh = cf.models.get("resnet-blocks", seed=2)
    cf.training.load_weights(fresh, path)
    fresh.eval()
    with cf.no_grad():
        np.testing.assert_array_equal(fresh(x).data, expected)
    state = model.state_dict()
    state["2.conv1.weight"] = np.zeros((1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"2\.conv1\.weight has shape"):
        fresh.load_state_dict(state)
    del state["2.conv1.weight"]
    with pytest.raises(KeyError, match="missing"):
        fresh.load_state_dict(state)


def test_batch_norm_layer_tracks_running_statistics():
    bn = nn.BatchNorm2d(2, momentum=0.5)
    x = np.random.default_rng(0).standard_normal((8, 2, 3, 3)).astype(np.float32) * 3 + 1
    bn(cf.tensor(x))
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    bn.eval()
    y = bn(cf.tensor(x)).data
    expected = (x - bn.running_mean.reshape(1, 2, 1, 1)) / np.sqrt(
        bn.running_var.reshape(1, 2, 1, 1) + 1e-5
    )
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_eval_mode_batch_norm_gradient_matches_finite_differences():
    from helpers import assert_gradient

    bn = nn.BatchNorm2d(3).astype(np.float64)
    rng = np.random.default_rng(0)
    bn.running_mean[...] = rng.standard_normal(3)
    bn.running_var[...] = rng.random(3) + 0.5
    bn.weight.data[...] = rng.standard_normal(3)
    bn.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    dy = rng.standard_normal(x.shape)
    t = cf.tensor(x, requires_grad=True)
    bn(t).backward(dy)
    assert_gradient("bn eval", lambda v: bn(cf.tensor(v)).data, x, dy, t.grad)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)
    model = cf.models.get("keras-mnist-2conv")
    with pytest.raises(ValueError, match="channel mismatch"):
        model(cf.tensor(np.zeros((1, 3, 28, 28), np.float32)))


def test_initialisers_have_the_published_spreads():
    from cnnfast.nn import init

    cf.manual_seed(0)
    w = init.glorot_uniform((64, 32, 3, 3))
    limit = np.sqrt(6 / (32 * 9 + 64 * 9))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    np.testing.assert_allclose(w.std(), limit / np.sqrt(3), rtol=0.02)
    h = init.he_normal((256, 128))
    np.testing.assert_allclose(h.std(), np.sqrt(2 / 128), rtol=0.02)
    assert np.abs(h).max() <= 2 * np.sqrt(2 / 128) / 0.8796256610342398 + 1e-6
    np.testing.assert_array_equal(init.zeros((3,)), 0)
    cf.manual_seed(0)
    np.testing.assert_array_equal(init.glorot_uniform((64, 32, 3, 3)), w)
    layer = cf.nn.Linear(10, 4)
    np.testing.assert_array_equal(layer.bias.data, 0)
