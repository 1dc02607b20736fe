"""cnnfast.ops on device arrays: every CUDA kernel (csrc/cuda/*.cuh) through the ops
layer, against cnnfast.reference, on small shapes with partial tiles and odd sizes,
in float32 and float64, within the same derived error bounds as the CPU kernels
(cnnfast.checks with device='cuda'; no fixed tolerance). On a machine with a GPU
they run there; elsewhere on the host emulator of CUDA's execution model (the same
kernel source)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks, ops, reference
from cnnfast.checks import Result, rounding_bound, sum_bound
from cnnfast.cuda import DeviceArray
from helpers import assert_all_ok

pytestmark = pytest.mark.kernels

DTYPES = [np.float32, np.float64]


def dev(a: np.ndarray) -> DeviceArray:
    return DeviceArray.from_numpy(a)


def host(a: DeviceArray) -> np.ndarray:
    assert type(a) is DeviceArray, "a device op must return a device array"
    return a.numpy()


def within(op: str, actual: DeviceArray, expected: np.ndarray, bound: object) -> Result:
    """One device output against the reference (NaN and Inf in the same places)."""
    return checks.compare(op, "special values", host(actual), expected, bound)


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
def test_conv2d_passes_within_derived_bounds(cuda_device, case, dtype, rng):
    x_shape, w_shape, stride, padding, dilation, groups = case
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert_all_ok(checks.check_conv2d(rng, dtype, x_shape, w_shape, **kw, device=cuda_device))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_within_derived_bounds(cuda_device, trans_a, trans_b, dtype, rng):
    assert_all_ok(checks.check_matmul(rng, dtype, 67, 5, 19, trans_a, trans_b, device=cuda_device))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4, 5, 7), (2, 70), (1, 1)])
def test_elementwise_ops_within_derived_bounds(cuda_device, shape, dtype, rng):
    assert_all_ok(checks.check_activations(rng, dtype, shape, device=cuda_device))


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_special_values(cuda_device, dtype, rng):
    """0, NaN and -0 go where the reference puts them (compare wants NaN in the same
    places); the rest within the derived bounds."""
    x = rng.standard_normal((3, 4, 5, 7)).astype(dtype)
    x[0, 0, 0, :3] = [0.0, np.nan, -0.0]
    dy = rng.standard_normal(x.shape).astype(dtype)
    out = [
        within("relu", ops.relu(dev(x)), reference.relu(x), 0.0),
        within(
            "relu_backward", ops.relu_backward(dev(x), dev(dy)), reference.relu_backward(x, dy), 0.0
        ),
    ]
    for name in ("tanh", "sigmoid"):
        y = getattr(reference, name)(x.astype(np.float64))
        out.append(within(name, getattr(ops, name)(dev(x)), y, rounding_bound(4, dtype, y)))
    assert_all_ok(out)


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
def test_pooling_within_derived_bounds(cuda_device, case, dtype, rng):
    shape, kernel, stride, padding, ceil_mode = case
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    out = checks.check_max_pool2d(rng, dtype, shape, **kw, device=cuda_device)
    for cip in (True, False):
        out += checks.check_avg_pool2d(
            rng, dtype, shape, **kw, count_include_pad=cip, device=cuda_device
        )
    assert_all_ok(out + checks.check_global_avg_pool2d(rng, dtype, shape, device=cuda_device))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pooling_of_a_nan(cuda_device, case, dtype, rng):
    """A NaN wins its windows, in values and in byte codes, plain and fused with ReLU."""
    shape, kernel, stride, padding, ceil_mode = case
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[5 % x.size] = np.nan
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    ry = reference.max_pool2d(x, **kw)
    out = [within("max_pool2d", ops.max_pool2d(dev(x), **kw), ry, 0.0)]
    dy = rng.standard_normal(ry.shape).astype(dtype)
    for relu in (False, True):
        y, code = reference.max_pool2d_argmax(x, **kw, relu=relu)
        got_y, got_code = ops.max_pool2d_argmax(dev(x), **kw, relu=relu)
        dx = reference.max_pool2d_backward_argmax(code, dy, x.shape, **kw)
        k = int(np.prod(np.broadcast_to(kernel, 2)))
        bound = sum_bound(
            k, dtype, reference.max_pool2d_backward_argmax(code, np.abs(dy), x.shape, **kw)
        )
        out += [
            within(f"max_pool2d_argmax relu={relu}", got_y, y, 0.0),
            within(f"max_pool2d_argmax relu={relu} codes", got_code, code, 0.0),
            within(
                "max_pool2d_backward_argmax",
                ops.max_pool2d_backward_argmax(got_code, dev(dy), x.shape, **kw),
                dx,
                bound,
            ),
        ]
    assert_all_ok(out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 11), (3, 1), (2, 300)])
def test_softmax_and_cross_entropy_within_derived_bounds(cuda_device, shape, dtype, rng):
    out = checks.check_softmax(rng, dtype, shape, -1, device=cuda_device)
    for soft in (False, True):
        for reduction in ("mean", "sum", "none"):
            out += checks.check_cross_entropy(
                rng, dtype, *shape, soft, reduction, device=cuda_device
            )
    assert_all_ok(out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3, 5, 3), (7, 2), (1, 6, 1, 1), (64, 2, 3, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_within_derived_bounds(cuda_device, shape, affine, dtype, rng):
    assert_all_ok(checks.check_batch_norm(rng, dtype, shape, affine, device=cuda_device))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_running_statistics_update_as_the_cpus(cuda_device, dtype, rng):
    shape, C = (4, 3, 5, 3), 3
    x = (2 + 3 * rng.standard_normal(shape)).astype(dtype)
    w, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    running = [np.zeros(C, dtype), np.ones(C, dtype)]
    running_dev = [dev(r) for r in running]
    ops.batch_norm(x, *running, w, b, training=True, momentum=0.3)
    ops.batch_norm(dev(x), *running_dev, dev(w), dev(b), training=True, momentum=0.3)
    m = x.size // C
    # the same update from statistics each device sums in its own way (checks.device)
    acc = checks.accumulation_unit("cpu", dtype) + checks.accumulation_unit(cuda_device, dtype)
    mag = np.abs(x.astype(np.float64)).mean(axis=(0, 2, 3))
    bounds = [
        rounding_bound(4 + 2 * m, dtype, mag),
        rounding_bound(8, dtype, running[1]) + 4 * m * acc * running[1],
    ]
    assert_all_ok(
        [
            within(f"running {i}", got, e, bd)
            for i, (got, e, bd) in enumerate(zip(running_dev, running, bounds))
        ]
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 4, 5])
def test_local_response_norm_within_derived_bounds(cuda_device, size, dtype, rng):
    # alpha large enough to matter
    assert_all_ok(
        checks.check_lrn(rng, dtype, (2, 7, 3, 2), size, 0.3, 0.75, 2.0, device=cuda_device)
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
