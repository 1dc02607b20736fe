"""Which values an integer argument takes, whatever ran before (issue 13, class 6).

Accepted: int and NumPy's integer scalars (numpy.int64 ...), alone or in a tuple.
Refused with a TypeError: bool (True is not a stride) and floats, even integral
ones (2.0), as PyTorch refuses them. The geometry cache used to key on raw values,
and 2.0 == 2 with the same hash, so a float was accepted once the equal int had
been used; validation must not depend on history."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _args, ops

X = np.ones((1, 2, 6, 6), np.float32)
W = np.ones((2, 2, 3, 3), np.float32)

REFUSED = {
    "conv stride=2.0": lambda: ops.conv2d(X, W, stride=2.0),
    "conv stride=True": lambda: ops.conv2d(X, W, stride=True),
    "conv stride=(2, 2.0)": lambda: ops.conv2d(X, W, stride=(2, 2.0)),
    "conv padding=1.0": lambda: ops.conv2d(X, W, padding=1.0),
    "conv padding=(1, 1.0)": lambda: ops.conv2d(X, W, padding=(1, 1.0)),
    "conv dilation=1.0": lambda: ops.conv2d(X, W, dilation=1.0),
    "conv groups=1.0": lambda: ops.conv2d(X, W, groups=1.0),
    "conv groups=True": lambda: ops.conv2d(X, W, groups=True),
    "backward stride=2.0": lambda: ops.conv2d_backward(
        X, W, np.ones((1, 2, 2, 2), np.float32), stride=2.0
    ),
    "max_pool kernel=2.0": lambda: ops.max_pool2d(X, 2.0),
    "max_pool kernel=True": lambda: ops.max_pool2d(X, True),
    "avg_pool stride=2.0": lambda: ops.avg_pool2d(X, 2, 2.0),
    "max_pool ceil_mode=1": lambda: ops.max_pool2d(X, 2, ceil_mode=1),
}
ACCEPTED = {  # (with numpy integers, with the equal ints)
    "conv stride": (
        lambda: ops.conv2d(X, W, stride=np.int64(2)),
        lambda: ops.conv2d(X, W, stride=2),
    ),
    "conv padding": (
        lambda: ops.conv2d(X, W, padding=(np.int32(1), np.int64(0))),
        lambda: ops.conv2d(X, W, padding=(1, 0)),
    ),
    "conv groups": (
        lambda: ops.conv2d(X, W[:, :1], groups=np.int16(2)),
        lambda: ops.conv2d(X, W[:, :1], groups=2),
    ),
    "pool kernel": (
        lambda: ops.max_pool2d(X, np.uint8(2), (np.int64(2), 2)),
        lambda: ops.max_pool2d(X, 2, 2),
    ),
}


def equal_int_call(name: str):
    """The same call with the float or bool replaced by the equal int."""
    return {
        "conv stride=2.0": lambda: ops.conv2d(X, W, stride=2),
        "conv stride=True": lambda: ops.conv2d(X, W, stride=1),
        "conv stride=(2, 2.0)": lambda: ops.conv2d(X, W, stride=(2, 2)),
        "conv padding=1.0": lambda: ops.conv2d(X, W, padding=1),
        "conv padding=(1, 1.0)": lambda: ops.conv2d(X, W, padding=(1, 1)),
        "conv dilation=1.0": lambda: ops.conv2d(X, W, dilation=1),
        "conv groups=1.0": lambda: ops.conv2d(X, W, groups=1),
        "conv groups=True": lambda: ops.conv2d(X, W, groups=1),
        "backward stride=2.0": lambda: ops.conv2d_backward(
            X, W, np.ones((1, 2, 2, 2), np.float32), stride=2
        ),
        "max_pool kernel=2.0": lambda: ops.max_pool2d(X, 2),
        "max_pool kernel=True": lambda: ops.max_pool2d(X, 1),
        "avg_pool stride=2.0": lambda: ops.avg_pool2d(X, 2, 2),
        "max_pool ceil_mode=1": lambda: ops.max_pool2d(X, 2, ceil_mode=True),
    }[name]


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_before_and_after_the_equal_int_ran(name):
    _args._GEOMETRY_CACHE.clear()  # a fresh process's state
    with pytest.raises(TypeError):
        REFUSED[name]()
    equal_int_call(name)()  # the int version runs (and fills the cache) ...
    with pytest.raises(TypeError):  # ... and the float is still refused
        REFUSED[name]()


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_numpy_integers_are_accepted_and_mean_the_int(name):
    numpy_call, int_call = ACCEPTED[name]
    _args._GEOMETRY_CACHE.clear()
    a = numpy_call()
    b = int_call()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(numpy_call(), b)  # after the int, too


def test_layers_check_their_arguments_when_built():
    with pytest.raises(ValueError, match="groups must be >= 1, got 0"):
        cf.nn.Conv2d(2, 2, 3, groups=0)
    with pytest.raises(TypeError, match="stride"):
        cf.nn.Conv2d(2, 2, 3, stride=1.5)
    with pytest.raises(ValueError, match="padding must be 'valid', 'same'"):
        cf.nn.Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match="in_channels must be >= 1"):
        cf.nn.Conv2d(0, 2, 3)
    with pytest.raises(TypeError, match="kernel_size"):
        cf.nn.MaxPool2d(2.0)
    with pytest.raises(TypeError, match="ceil_mode"):
        cf.nn.AvgPool2d(2, ceil_mode="yes")
    with pytest.raises(ValueError, match="out_features"):
        cf.nn.Linear(3, -1)
    layer = cf.nn.Conv2d(4, 4, 3, groups=np.int64(2), stride=np.int32(1))
    assert layer.weight.shape == (4, 2, 3, 3)
