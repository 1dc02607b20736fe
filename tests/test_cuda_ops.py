"""cnnfast.ops on device arrays: every CUDA kernel (csrc/cuda/*.cuh) through the ops
layer, against cnnfast.reference, on small shapes with partial tiles and odd sizes,
in float32 and float64. On a machine with a GPU they run there; elsewhere on the host
emulator of CUDA's execution model (the same kernel source)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import ops, reference
from cnnfast.cuda import DeviceArray

pytestmark = pytest.mark.kernels

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def dev(a: np.ndarray) -> DeviceArray:
    return DeviceArray.from_numpy(a)


def host(a: DeviceArray) -> np.ndarray:
    assert type(a) is DeviceArray, "a device op must return a device array"
    return a.numpy()


def close(actual: DeviceArray, expected: np.ndarray, dtype: type) -> None:
    np.testing.assert_allclose(host(actual), expected, **TOL[dtype])


# (x shape, w shape, stride, padding, dilation, groups): partial 64-wide GEMM tiles,
# strides, 'same' and asymmetric padding, dilation, groups, a 1x1 and a full-window kernel.
CONV_CASES = [
    ((2, 3, 7, 6), (5, 3, 3, 3), 1, 1, 1, 1),
    ((1, 4, 9, 9), (6, 2, 3, 3), 2, 0, 1, 2),
    ((3, 2, 8, 8), (4, 2, 5, 5), 1, "same", 1, 1),
    ((2, 3, 10, 9), (3, 3, 3, 2), (2, 1), (1, 0, 2, 1), 2, 1),
    ((1, 5, 4, 4), (7, 5, 1, 1), 1, 0, 1, 1),
    ((2, 1, 5, 5), (65, 1, 5, 5), 1, 0, 1, 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_passes_match_reference(cuda_device, case, dtype, rng):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = reference.conv2d(x, w, b, **kw)
    close(ops.conv2d(dev(x), dev(w), dev(b), **kw), y, dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    got = ops.conv2d_backward(dev(x), dev(w), dev(dy), **kw)
    for g, e in zip(got, reference.conv2d_backward(x, w, dy, **kw)):
        close(g, e, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_matches_numpy(cuda_device, trans_a, trans_b, dtype, rng):
    M, N, K = 67, 5, 19
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b)
    close(ops.matmul(dev(a), dev(b), trans_a, trans_b), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_ops_match_reference(cuda_device, dtype, rng):
    x = rng.standard_normal((3, 4, 5, 7)).astype(dtype)
    x[0, 0, 0, :3] = [0.0, np.nan, -0.0]
    dy = rng.standard_normal(x.shape).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    for name in ("relu", "tanh", "sigmoid"):
        y = getattr(reference, name)(x)
        close(getattr(ops, name)(dev(x)), y, dtype)
        saved = x if name == "relu" else y
        close(
            getattr(ops, f"{name}_backward")(dev(saved), dev(dy)),
            getattr(reference, f"{name}_backward")(saved, dy),
            dtype,
        )
    close(ops.bias_add(dev(x), dev(b)), reference.bias_add(x, b), dtype)
    finite = np.nan_to_num(dy)
    close(ops.bias_add_backward(dev(finite)), reference.bias_add_backward(finite), dtype)


POOL_CASES = [  # (x shape, kernel, stride, padding, ceil_mode)
    ((2, 3, 8, 8), 2, None, 0, False),
    ((1, 2, 7, 9), 3, 2, 1, False),
    ((2, 1, 7, 7), 3, 2, 0, True),
    ((1, 2, 6, 5), (2, 3), (1, 2), (1, 0, 1, 1), False),
    # ceil_mode windows that overhang the padded input (PyTorch's rule)
    ((1, 2, 1, 1), 2, 2, 0, True),
    ((2, 1, 3, 5), 4, 3, 1, True),
    ((1, 1, 2, 3), 3, 2, 1, True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_matches_reference(cuda_device, case, dtype, rng):
    shape, kernel, stride, padding, ceil_mode = case
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[5 % x.size] = np.nan
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    y = reference.max_pool2d(x, **kw)
    close(ops.max_pool2d(dev(x), **kw), y, dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    close(
        ops.max_pool2d_backward(dev(x), dev(dy), **kw),
        reference.max_pool2d_backward(x, dy, **kw),
        dtype,
    )
    for relu in (False, True):
        y, code = reference.max_pool2d_argmax(x, **kw, relu=relu)
        got_y, got_code = ops.max_pool2d_argmax(dev(x), **kw, relu=relu)
        close(got_y, y, dtype)
        np.testing.assert_array_equal(host(got_code), code)
        dx = reference.max_pool2d_backward_argmax(code, dy, x.shape, **kw)
        close(ops.max_pool2d_backward_argmax(got_code, dev(dy), x.shape, **kw), dx, dtype)
    x = np.nan_to_num(x)
    for cip in (True, False):
        close(
            ops.avg_pool2d(dev(x), **kw, count_include_pad=cip),
            reference.avg_pool2d(x, **kw, count_include_pad=cip),
            dtype,
        )
        close(
            ops.avg_pool2d_backward(dev(x), dev(dy), **kw, count_include_pad=cip),
            reference.avg_pool2d_backward(x, dy, **kw, count_include_pad=cip),
            dtype,
        )
    g = rng.standard_normal((*shape[:2], 1, 1)).astype(dtype)
    close(ops.global_avg_pool2d(dev(x)), reference.global_avg_pool2d(x), dtype)
    close(
        ops.global_avg_pool2d_backward(dev(x), dev(g)),
        reference.global_avg_pool2d_backward(x, g),
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_cross_entropy_match_reference(cuda_device, dtype, rng):
    x = (3 * rng.standard_normal((5, 11))).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    for name in ("softmax", "log_softmax"):
        y = getattr(reference, name)(x)
        close(getattr(ops, name)(dev(x)), y, dtype)
        close(
            getattr(ops, f"{name}_backward")(dev(y), dev(dy)),
            getattr(reference, f"{name}_backward")(y, dy),
            dtype,
        )
    labels = rng.integers(0, 11, 5)
    probs = reference.softmax(rng.standard_normal(x.shape)).astype(dtype)
    for target in (labels, probs):
        for reduction in ("mean", "sum", "none"):
            loss = reference.cross_entropy(x, target, reduction)
            close(ops.cross_entropy(dev(x), dev(target), reduction), loss, dtype)
            dloss = rng.standard_normal(5).astype(dtype) if reduction == "none" else dtype(0.7)
            grad = reference.cross_entropy_backward(x, target, reduction, dloss)
            d_dev = dev(np.asarray(dloss, dtype))
            close(ops.cross_entropy_backward(dev(x), dev(target), reduction, d_dev), grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3, 5, 3), (7, 2), (1, 6, 1, 1)])
def test_batch_norm_matches_reference(cuda_device, shape, dtype, rng):
    x = (2 + 3 * rng.standard_normal(shape)).astype(dtype)
    C = shape[1]
    w, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else TOL[dtype]
    for weight, bias in ((w, b), (None, None)):
        dw_, db_ = (None, None) if weight is None else (dev(weight), dev(bias))
        y, mean, invstd = ops.batch_norm_train(dev(x), dw_, db_)
        for got, expected in zip((y, mean, invstd), reference.batch_norm_train(x, weight, bias)):
            np.testing.assert_allclose(host(got), expected, **tol)
        expected = reference.batch_norm_backward(x, dy, host(mean), host(invstd), weight)
        for got, e in zip(ops.batch_norm_backward(dev(x), dev(dy), mean, invstd, dw_), expected):
            np.testing.assert_allclose(host(got), e, **tol)
        var = rng.uniform(0.5, 2, C).astype(dtype)
        np.testing.assert_allclose(
            host(ops.batch_norm_inference(dev(x), mean, dev(var), dw_, db_)),
            reference.batch_norm_inference(x, host(mean), var, weight, bias),
            **tol,
        )
    running = [np.zeros(C, dtype), np.ones(C, dtype)]
    running_dev = [dev(r) for r in running]
    ops.batch_norm(x, *running, w, b, training=True, momentum=0.3)
    ops.batch_norm(dev(x), *running_dev, dev(w), dev(b), training=True, momentum=0.3)
    for got, expected in zip(running_dev, running):
        np.testing.assert_allclose(host(got), expected, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 4, 5])
def test_local_response_norm_matches_reference(cuda_device, size, dtype, rng):
    x = rng.standard_normal((2, 7, 3, 2)).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    kw = dict(size=size, alpha=0.3, beta=0.75, k=2.0)  # alpha large enough to matter
    close(ops.local_response_norm(dev(x), **kw), reference.local_response_norm(x, **kw), dtype)
    close(
        ops.local_response_norm_backward(dev(x), dev(dy), **kw),
        reference.local_response_norm_backward(x, dy, **kw),
        dtype,
    )


def test_dropout_mask_is_the_cpus_bit_for_bit(cuda_device, rng):
    x = rng.standard_normal((3, 1000)).astype(np.float32)
    for p, seed in ((0.5, 7), (0.1, 2**63 + 5), (0.0, 1), (1.0, 3)):
        np.testing.assert_array_equal(host(ops.dropout(dev(x), p, seed)), ops.dropout(x, p, seed))


def test_mixing_devices_is_an_error_naming_each_input(cuda_device, rng):
    x = rng.standard_normal((1, 1, 4, 4)).astype(np.float32)
    w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"x on cuda, w on cpu"):
        ops.conv2d(dev(x), w)
    with pytest.raises(ValueError, match="different devices"):
        cf.tensor(x, device="cuda") + cf.tensor(x)
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.relu(dev(np.arange(3)))
