"""Bad input raises ValueError/TypeError naming the argument and shapes; nothing crashes."""

from __future__ import annotations

import re

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _C

X = np.zeros((2, 3, 8, 8), np.float32)
W = np.zeros((4, 3, 3, 3), np.float32)
DY = np.zeros((2, 4, 6, 6), np.float32)
P = np.zeros((2, 3, 4, 4), np.float32)

ops = cf.ops
BAD = [
    # (call, exception, a regex the message must match)
    (lambda: ops.conv2d(X[0], W), ValueError, r"x must be 4-D.*\(3, 8, 8\)"),
    (lambda: ops.conv2d(X, W[0]), ValueError, r"w must be 4-D"),
    (
        lambda: ops.conv2d(X, np.zeros((4, 2, 3, 3), np.float32)),
        ValueError,
        r"channel mismatch.*\(2, 3, 8, 8\).*\(4, 2, 3, 3\)",
    ),
    (lambda: ops.conv2d(X, W, groups=2), ValueError, r"groups=2 must divide.*3"),
    (lambda: ops.conv2d(X, np.zeros((3, 1, 3, 3), np.float32), groups=3), None, ""),  # valid
    (lambda: ops.conv2d(X, np.zeros((4, 1, 3, 3), np.float32), groups=3), ValueError, r"groups=3"),
    (lambda: ops.conv2d(X, W, groups=0), ValueError, r"groups must be >= 1"),
    (  # (found by fuzzing: the reference looped over 2**63 - 1 empty groups)
        lambda: ops.conv2d(X[:, :0], W[:0, :0], groups=2**63 - 1),
        ValueError,
        r"groups=9223372036854775807 is more than the output channels \(0",
    ),
    (lambda: ops.conv2d(X[:, :0], W[:4, :0], groups=2), None, ""),  # valid, as in PyTorch
    (lambda: ops.conv2d(X, W, stride=0), ValueError, r"stride must be >= 1"),
    (lambda: ops.conv2d(X, W, stride=(1, -2)), ValueError, r"stride must be >= 1"),
    (lambda: ops.conv2d(X, W, dilation=0), ValueError, r"dilation must be >= 1"),
    (lambda: ops.conv2d(X, W, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: ops.conv2d(X, W, padding=(0, 0, -1, 0)), ValueError, r"padding must be >= 0"),
    (lambda: ops.conv2d(X, W, padding=(1, 2, 3)), ValueError, r"padding must be an int, a pair"),
    (lambda: ops.conv2d(X, W, padding="full"), ValueError, r"'valid', 'same'"),
    (lambda: ops.conv2d(X, W, padding=1.5), TypeError, r"padding must be an int"),
    (lambda: ops.conv2d(X, W, stride=1.0), TypeError, r"stride must be an int"),
    (
        lambda: ops.conv2d(X, np.zeros((4, 3, 9, 3), np.float32)),
        ValueError,
        r"kernel 9x3.*larger than the padded input 8x8",
    ),
    (lambda: ops.conv2d(X, W, dilation=4), ValueError, r"kernel 9x9.*larger"),
    (lambda: ops.conv2d(X, W, b=np.zeros(5, np.float32)), ValueError, r"b must have shape \(4,\)"),
    (
        lambda: ops.conv2d(X.astype(np.complex64), W),
        TypeError,
        r"x must be float32 or float64.*complex64",
    ),
    (lambda: ops.conv2d(X.astype(object), W), TypeError, r"x must be float32 or float64.*object"),
    (lambda: ops.conv2d(X.astype(np.int64), W), TypeError, r"int64"),
    (lambda: ops.conv2d(X.astype(np.float16), W), TypeError, r"float16"),
    (lambda: ops.conv2d(X, W.astype(np.float64)), TypeError, r"x is float32 but w is float64"),
    (
        lambda: ops.conv2d_backward(X, W, DY[:, :, :5]),
        ValueError,
        r"dy must have shape \(2, 4, 6, 6\).*got \(2, 4, 5, 6\)",
    ),
    (lambda: ops.conv2d_backward(X, W, DY.astype(np.float64)), TypeError, r"dy is float64"),
    (lambda: ops.max_pool2d(X[0], 2), ValueError, r"x must be 4-D"),
    (lambda: ops.max_pool2d(X, 0), ValueError, r"kernel_size must be >= 1"),
    (lambda: ops.max_pool2d(X, 2, stride=0), ValueError, r"stride must be >= 1"),
    (lambda: ops.max_pool2d(X, 2, padding=2), ValueError, r"at most half the kernel"),
    (  # (found by fuzzing: the window scan read the first cell of an empty plane)
        lambda: ops.max_pool2d(X[:, :, :0], 4, stride=1, padding=2, ceil_mode=True),
        ValueError,
        r"x \(2, 3, 0, 8\) has an empty plane",
    ),
    (lambda: ops.avg_pool2d(X[:, :, :, :0], 2, padding=1), ValueError, r"empty plane"),
    (lambda: ops.max_pool2d(X[:0], 2), None, ""),  # an empty batch is fine, as in PyTorch
    (lambda: ops.max_pool2d(X, 2, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: ops.max_pool2d(X, 9), ValueError, r"kernel \(9, 9\) is larger than the padded input"),
    (lambda: ops.avg_pool2d(X.astype(np.int32), 2), TypeError, r"int32"),
    (
        lambda: ops.max_pool2d_backward(X, P[:, :, :3], 2),
        ValueError,
        r"dy must have shape \(2, 3, 4, 4\)",
    ),
    (lambda: ops.avg_pool2d_backward(X, P[:, :2], 2), ValueError, r"dy must have shape"),
    (lambda: ops.global_avg_pool2d(np.zeros((1, 2, 0, 3))), ValueError, r"no pixels"),
    (
        lambda: ops.global_avg_pool2d_backward(X, np.zeros((2, 3, 1, 2), np.float32)),
        ValueError,
        r"dy",
    ),
    (
        lambda: ops.matmul(np.zeros((2, 3)), np.zeros((4, 5))),
        ValueError,
        r"inner dimensions differ",
    ),
    (lambda: ops.matmul(np.zeros((2, 3)), np.zeros(3)), ValueError, r"b must be 2-D"),
    (
        lambda: ops.matmul(np.zeros((2, 3)), np.zeros((3, 2), np.float32)),
        TypeError,
        r"a is float64",
    ),
    (lambda: ops.bias_add(X, np.zeros(4, np.float32)), ValueError, r"b must have shape \(3,\)"),
    (
        lambda: ops.bias_add(np.zeros(3, np.float32), np.zeros(3, np.float32)),
        ValueError,
        r"at least 2-D",
    ),
    (lambda: ops.relu_backward(X, DY), ValueError, r"dy must have shape \(2, 3, 8, 8\)"),
    (lambda: ops.relu(np.zeros(3, dtype=bool)), TypeError, r"bool"),
    (lambda: ops.softmax(np.zeros((2, 3)), axis=2), ValueError, r"axis 2 is out of range"),
    (lambda: ops.softmax(np.float64(1.0)), ValueError, r"at least 1-D"),
    (
        lambda: ops.cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
        ValueError,
        r"class 3, outside \[0, 3\)",
    ),
    (lambda: ops.cross_entropy(np.zeros((2, 3)), np.array([0, -1])), ValueError, r"class -1"),
    (
        lambda: ops.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])),
        ValueError,
        r"target must have shape \(2,\)",
    ),
    (
        lambda: ops.cross_entropy(np.zeros((2, 3)), np.array([True, False])),
        TypeError,
        r"target must be integer",
    ),
    (
        lambda: ops.cross_entropy(np.zeros((2, 3)), np.zeros((2, 4))),
        ValueError,
        r"target must have shape \(2, 3\)",
    ),
    (lambda: ops.cross_entropy(np.zeros(3), np.array([0])), ValueError, r"logits must be 2-D"),
    (
        lambda: ops.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg"),
        ValueError,
        r"reduction",
    ),
    (lambda: ops.dropout(X, p=1.5), ValueError, r"p must be a probability"),
    (lambda: ops.dropout(X, p=0.5, seed=-1), ValueError, r"seed must be in"),
    (lambda: ops.dropout(X, p=0.5, seed=1.5), TypeError, r"seed must be an int"),
    (lambda: ops.dropout_mask((2, -1), 0.5, 0), ValueError, r"non-negative"),
    (lambda: ops.dropout_mask((2, 3), 0.5, 0, dtype=np.int32), TypeError, r"dtype"),
    (lambda: ops.batch_norm_train(np.zeros(3)), ValueError, r"at least 2-D"),
    (
        lambda: ops.batch_norm_train(X, np.zeros(4, np.float32)),
        ValueError,
        r"weight must have shape \(3,\)",
    ),
    (lambda: ops.batch_norm_train(X, eps=-1.0), ValueError, r"eps must be >= 0"),
    (
        lambda: ops.batch_norm(X, None, None, training=False),
        ValueError,
        r"running_mean and running_var",
    ),
    (
        lambda: ops.batch_norm(X, np.zeros(2), np.ones(3)),
        ValueError,
        r"running_mean must be an ndarray",
    ),
    (
        lambda: ops.batch_norm_backward(X, X[:1], np.zeros(3, np.float32), np.ones(3, np.float32)),
        ValueError,
        r"dy must have shape",
    ),
    (lambda: ops.local_response_norm(X, 0), ValueError, r"size must be >= 1"),
    (lambda: ops.local_response_norm(X[0], 5), ValueError, r"x must be 4-D"),
    (lambda: ops.local_response_norm(X, 5, k=0.0), ValueError, r"k must be > 0"),
    (lambda: ops.local_response_norm_backward(X, DY, 5), ValueError, r"dy must have shape"),
    (lambda: cf.set_num_threads(0), ValueError, r"n must be >= 1"),
    (lambda: cf.set_num_threads(1.5), TypeError, r"n must be an int"),
]


@pytest.mark.kernels
@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input_raises_a_clear_error(i):
    call, exc, pattern = BAD[i]
    if exc is None:
        call()
        return
    with pytest.raises(exc) as info:
        call()
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} !~ {pattern!r}"


# The bindings check shapes themselves, so calling _C directly with nonsense
# raises instead of reading or writing out of bounds; each row on its own message.
RAW = [
    (
        lambda: _C.conv2d_forward(X, W[:, :2], None, (1, 1), (0, 0, 0, 0), (1, 1), 1),
        r"conv2d: w expects 2 channels per group but x has 3 channels and groups=1",
    ),
    (
        lambda: _C.conv2d_forward(X, W, np.zeros(3, np.float32), (1, 1), (0, 0, 0, 0), (1, 1), 1),
        r"conv2d: b must have shape \(4,\), got \(3,\)",
    ),
    (
        lambda: _C.conv2d_forward(X, W, None, (0, 1), (0, 0, 0, 0), (1, 1), 1),
        r"conv2d: stride must be >= 1, got \(0, 1\)",
    ),
    (
        lambda: _C.conv2d_forward(X, W, None, (1, 1), (-5, 0, 0, 0), (1, 1), 1),
        r"conv2d: padding must be >= 0, got \(\-5, 0, 0, 0\)",
    ),
    (
        lambda: _C.conv2d_forward(X, W, None, (1, 1), (0, 0, 0, 0), (1, 1), 0),
        r"conv2d: groups must be >= 1, got 0",
    ),
    (
        lambda: _C.max_pool2d_forward(X[:, :, :0].copy(), (4, 4), (1, 1), (2,) * 4, True, False),
        r"pool2d: x has an empty plane \(0, 8\)",
    ),
    (
        lambda: _C.conv2d_forward(
            X[:, :0].copy(), W[:0, :0].copy(), None, (1, 1), (0,) * 4, (1, 1), 5
        ),
        r"conv2d: groups=5 is more than the output channels 0",
    ),
    (
        lambda: _C.conv2d_forward(
            X, np.zeros((4, 3, 20, 3), np.float32), None, (1, 1), (0, 0, 0, 0), (1, 1), 1
        ),
        r"conv2d: dilated kernel \(20, 3\) is larger than the padded input \(8, 8\)",
    ),
    (
        lambda: _C.conv2d_backward_input(
            W, DY[:, :, :4], [2, 3, 8, 8], (1, 1), (0, 0, 0, 0), (1, 1), 1
        ),
        r"conv2d_backward_input: dy must have shape \(2, 4, 6, 6\), got \(2, 4, 4, 6\)",
    ),
    (
        lambda: _C.conv2d_backward_input(W, DY, [2, 3, -8, 8], (1, 1), (0, 0, 0, 0), (1, 1), 1),
        r"conv2d: x has a negative dimension",
    ),
    (
        lambda: _C.conv2d_backward_weight(X, DY, [4, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 1),
        r"conv2d: w must be 4\-D \(K, C/groups, R, S\), got \(4, 3, 3\)",
    ),
    (
        lambda: _C.max_pool2d_forward(X, (2, 2), (2, 2), (2, 2, 2, 2), False, False),
        r"pool2d: padding \(2, 2, 2, 2\) must be at most half the kernel \(2, 2\)",
    ),
    (
        lambda: _C.max_pool2d_forward(X, (0, 2), (2, 2), (0, 0, 0, 0), False, False),
        r"pool2d: kernel_size must be >= 1, got \(0, 2\)",
    ),
    (
        lambda: _C.max_pool2d_backward(X, P[:, :, :2], (2, 2), (2, 2), (0, 0, 0, 0), False),
        r"max_pool2d_backward: dy must have shape \(2, 3, 4, 4\), got \(2, 3, 2, 4\)",
    ),
    (
        lambda: _C.avg_pool2d_backward(X, P[:1], (2, 2), (2, 2), (0, 0, 0, 0), False, True),
        r"avg_pool2d_backward: dy must have shape \(2, 3, 4, 4\), got \(1, 3, 4, 4\)",
    ),
    (
        lambda: _C.global_avg_pool2d_backward(np.zeros((2, 3, 1, 1), np.float32), [2, 3, 0, 4]),
        r"global_avg_pool2d_backward: bad x_shape \(2, 3, 0, 4\)",
    ),
    (
        lambda: _C.matmul(np.zeros((2, 3)), np.zeros((4, 5)), False, False),
        r"matmul: inner dimensions differ: a \(2, 3\), b \(4, 5\)",
    ),
    (
        lambda: _C.cross_entropy_forward(np.zeros((2, 3)), np.array([0, 7])),
        r"cross_entropy: target\[1\] = 7 is outside \[0, 3\)",
    ),
    (
        lambda: _C.cross_entropy_backward(np.zeros((2, 3)), np.array([0, -7]), np.ones(2)),
        r"cross_entropy: target\[1\] = \-7 is outside \[0, 3\)",
    ),
    (
        lambda: _C.cross_entropy_forward(np.zeros((2, 3)), np.array([0])),
        r"cross_entropy: target must have shape \(2,\), got \(1,\)",
    ),
    (
        lambda: _C.bias_add(X, np.zeros(2, np.float32)),
        r"bias_add: b must have shape \(3,\), got \(2,\)",
    ),
    (
        lambda: _C.relu_backward(X, DY),
        r"dy must have shape \(2, 3, 8, 8\), got \(2, 4, 6, 6\)",
    ),
    (
        lambda: _C.softmax_backward(np.zeros((2, 3)), np.zeros((3, 2))),
        r"dy must have shape \(2, 3\), got \(3, 2\)",
    ),
    (
        lambda: _C.dropout_forward(X, 2.0, 0),
        r"dropout: p must be in \[0, 1\], got 2\.000000",
    ),
    (
        lambda: _C.dropout_mask_float32([2, -3], 0.5, 0),
        r"dropout_mask: negative dimension in shape \(2, \-3\)",
    ),
    (
        lambda: _C.batch_norm_train_forward(X, np.zeros(2, np.float32), None, 1e-5),
        r"batch_norm: weight must have shape \(3,\), got \(2,\)",
    ),
    (
        lambda: _C.batch_norm_backward(
            X, X, np.zeros(3, np.float32), np.zeros(2, np.float32), None
        ),
        r"batch_norm_backward: invstd must have shape \(3,\), got \(2,\)",
    ),
    (
        lambda: _C.lrn_forward(X, 0, 1e-4, 0.75, 1.0),
        r"local_response_norm: size must be >= 1, got 0",
    ),
    (
        lambda: _C.lrn_backward(X, DY, 5, 1e-4, 0.75, 1.0),
        r"local_response_norm_backward: dy must have shape \(2, 3, 8, 8\), got \(2, 4, 6, 6\)",
    ),
    (
        lambda: _C.set_num_threads(0),
        r"set_num_threads: n must be >= 1, got 0",
    ),
    (
        lambda: _C.set_isa("avx9000"),
        r"unknown ISA 'avx9000' \(expected 'generic' or 'avx2'\)",
    ),
]


@pytest.mark.kernels
@pytest.mark.parametrize("i", range(len(RAW)))
def test_raw_bindings_reject_inconsistent_shapes(i):
    call, pattern = RAW[i]
    with pytest.raises(ValueError, match=pattern):  # (its own message: a renamed
        call()  # parameter or a wrong overload would be a TypeError, not this)


@pytest.mark.kernels
def test_raw_bindings_keep_the_dtype_of_what_they_are_given():
    """A direct _C call copies a non-contiguous or other-dtype input, with a safe cast
    only: a float64 array must not land in the float32 overload (tried first)."""
    x64 = np.arange(32.0).reshape(4, 8)[:, ::2] - 10  # float64, not contiguous
    y = _C.relu_forward(x64)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, np.maximum(x64, 0))
    assert _C.relu_forward(np.arange(-3, 3)).dtype == np.float64  # int64: safe only to float64
    assert _C.relu_forward(np.ones(3, np.float16)).dtype == np.float32
    y, codes = _C.max_pool2d_forward_argmax(
        np.ones((1, 1, 4, 8))[..., ::2], (2, 2), (2, 2), (0,) * 4, False, False
    )
    assert y.dtype == np.float64 and codes.dtype == np.uint8
    with pytest.raises(TypeError, match="incompatible function arguments"):  # (not truncated)
        _C.cross_entropy_forward(np.zeros((2, 3)), np.array([0.0, 1.5]))


def test_validation_cache_never_lets_a_bad_call_through():
    """conv/pool geometry is cached by every argument it depends on (_args._cached):
    a valid call first, then near-identical invalid ones, must still raise."""
    x = np.zeros((2, 3, 8, 8), np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    for _ in range(2):
        cf.ops.conv2d(x, w, stride=2, padding=1)
    with pytest.raises(ValueError, match="channel mismatch"):
        cf.ops.conv2d(np.zeros((2, 5, 8, 8), np.float32), w, stride=2, padding=1)
    with pytest.raises(ValueError, match="padding"):
        cf.ops.conv2d(x, w, stride=2, padding=-1)
    with pytest.raises(TypeError, match="dtype"):
        cf.ops.conv2d(x.astype(np.int32), w, stride=2, padding=1)
    assert cf.ops.conv2d(x[:1], w, stride=2, padding=1).shape == (1, 4, 4, 4)  # other batch
    cf.ops.max_pool2d(x, 2)
    with pytest.raises(ValueError, match="kernel"):
        cf.ops.max_pool2d(np.zeros((2, 3, 1, 1), np.float32), 2)
    # Unhashable arguments skip the cache and are still checked.
    assert cf.ops.conv2d(x, w, stride=[2, 2], padding=[1, 1]).shape == (2, 4, 4, 4)
    with pytest.raises(ValueError, match="stride"):
        cf.ops.conv2d(x, w, stride=[0, 2])
