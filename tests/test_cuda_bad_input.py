"""The CUDA backend's raw bindings (csrc/bindings/cuda_backend.h) on the emulator: a
shape they are given is validated by the CPU's own shape code (make_conv2d_shape,
make_pool2d_shape), and every address is checked against the live device arrays and
the bytes the shape needs, so no call reachable from Python makes a kernel read or
write out of bounds. Each row must fail with its own message, before any launch."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _C

pytestmark = pytest.mark.kernels

F32 = "float32"


@pytest.fixture
def emu(cuda_device):
    """The emulated backend module, and device arrays for the rows to name."""
    from cnnfast.cuda import DeviceArray

    def arr(*shape: int, dtype: type = np.float32) -> DeviceArray:
        return DeviceArray(shape, dtype)

    return _C.cuda_emulated, arr


CONV = ((2, 3, 8, 8), (4, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1)  # y (2, 4, 6, 6)
POOL = ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0), False)  # y (2, 3, 4, 4)


def _rows(m, arr):
    x, w, y = arr(2, 3, 8, 8), arr(4, 3, 3, 3), arr(2, 4, 6, 6)
    small_y = arr(2, 4, 6, 5)
    p, codes = arr(2, 3, 4, 4), arr(2, 3, 4, 4, dtype=np.uint8)
    v, three, big = arr(10), arr(3), arr(1000)
    w64, y64 = (arr(*a.shape, dtype=np.float64) for a in (w, y))
    host = np.zeros(100, np.float32)
    return [
        # geometry, validated in C++ as on the CPU
        (
            lambda: m.conv2d_forward(
                F32, (2, 3, 8, 8), (4, 2, 3, 3), *CONV[2:], x.ptr, w.ptr, 0, y.ptr
            ),
            ValueError,
            r"conv2d: w expects 2 channels per group but x has 3",
        ),
        (
            lambda: m.conv2d_forward(
                F32, (2, 3, 8), (4, 3, 3, 3), *CONV[2:], x.ptr, w.ptr, 0, y.ptr
            ),
            ValueError,
            r"conv2d: x_shape must be \(N, C, H, W\), got \(2, 3, 8\)",
        ),
        (
            lambda: m.conv2d_forward(F32, *CONV[:2], (0, 1), *CONV[3:], x.ptr, w.ptr, 0, y.ptr),
            ValueError,
            r"conv2d: stride must be >= 1",
        ),
        (
            lambda: m.conv2d_backward_input(F32, *CONV[:5], 2, w.ptr, y.ptr, x.ptr),
            ValueError,
            r"conv2d: groups=2 must divide input channels 3",
        ),
        (
            lambda: m.max_pool(
                F32, (2, 3, 8, 8), (2, 2), (2, 2), (2, 2, 2, 2), False, x.ptr, False, p.ptr, 0
            ),
            ValueError,
            r"pool2d: padding \(2, 2, 2, 2\) must be at most half the kernel",
        ),
        (
            lambda: m.avg_pool(F32, (2, 3, 0, 8), *POOL[1:], True, x.ptr, p.ptr),
            ValueError,
            r"pool2d: x has an empty plane",
        ),
        # addresses: each array must hold what the shape says the kernel touches
        (
            lambda: m.conv2d_forward(F32, *CONV, x.ptr, w.ptr, 0, small_y.ptr),
            ValueError,
            r"conv2d: y: 1152 bytes needed, but the device array at this address holds 960",
        ),
        (
            lambda: m.conv2d_backward_weight(F32, *CONV, x.ptr + 4, y.ptr, w.ptr),
            ValueError,
            r"conv2d_backward_weight: x: 1536 bytes needed, but the device array at this "
            r"address holds 1532",
        ),
        (
            lambda: m.conv2d_forward(F32, *CONV, x.ptr, w.ptr, three.ptr, y.ptr),
            ValueError,
            r"conv2d: bias: 16 bytes needed",
        ),
        (
            lambda: m.conv2d_forward(F32, *CONV, host.ctypes.data, w.ptr, 0, y.ptr),
            ValueError,
            r"conv2d: x: .* no device array is at this address",
        ),
        (
            lambda: m.conv2d_forward(F32, *CONV, 0, w.ptr, 0, y.ptr),
            ValueError,
            r"conv2d: x: 384 elements needed, no array given",
        ),
        (
            lambda: m.conv2d_forward("float64", *CONV, x.ptr, w64.ptr, 0, y64.ptr),
            ValueError,
            r"conv2d: x: 3072 bytes needed, but the device array at this address holds 1536",
        ),
        (
            lambda: m.conv2d_forward(F32, *CONV, x.ptr + 2, w.ptr, 0, y.ptr),
            ValueError,
            r"conv2d: x: the address is not aligned",
        ),
        (
            lambda: m.max_pool(F32, *POOL, x.ptr, True, p.ptr, v.ptr),
            ValueError,
            r"max_pool: codes: 96 bytes needed, but the device array at this address holds 40",
        ),
        (
            lambda: m.max_pool_backward(F32, *POOL, codes.ptr, v.ptr, x.ptr),
            ValueError,
            r"max_pool_backward: dy: 384 bytes needed",
        ),
        (
            lambda: m.matmul(F32, 3, 4, 5, v.ptr, False, big.ptr, False, big.ptr),
            ValueError,
            r"matmul: a: 60 bytes needed, but the device array at this address holds 40",
        ),
        (
            lambda: m.activation(F32, _C.CudaActivation.relu_backward, 10, v.ptr, 0, v.ptr),
            ValueError,
            r"activation: b: 10 elements needed, no array given",
        ),
        (
            lambda: m.activation(F32, _C.CudaActivation.relu, -1, v.ptr, 0, v.ptr),
            ValueError,
            r"activation: \w+: negative size -1",
        ),
        (
            lambda: m.bias_add(F32, 11, 2, 5, v.ptr, v.ptr, v.ptr),
            ValueError,
            r"bias_add: n must be a multiple of C \* L",
        ),
        (
            lambda: m.channel_sum(F32, 2, 3, 2, v.ptr, 1.0, v.ptr),
            ValueError,
            r"channel_sum: x: 48 bytes needed",
        ),
        (
            lambda: m.copy_rows(F32, 3, 4, v.ptr, 4, 0, big.ptr, 4, 0),
            ValueError,
            r"copy_rows: src: 48 bytes needed",
        ),
        (
            lambda: m.copy_rows(F32, 2, 4, v.ptr, -1, 0, big.ptr, 4, 0),
            ValueError,
            r"copy_rows: src: negative stride or offset",
        ),
        (
            lambda: m.softmax_backward(F32, 3, 4, False, v.ptr, big.ptr, big.ptr),
            ValueError,
            r"softmax_backward: y: 48 bytes needed",
        ),
        (
            lambda: m.cross_entropy(F32, 2, 5, v.ptr, 0, 0, v.ptr),
            ValueError,
            r"cross_entropy: give labels or probs, exactly one",
        ),
        (
            lambda: m.cross_entropy(F32, 5, 5, v.ptr, big.ptr, 0, big.ptr),
            ValueError,
            r"cross_entropy: logits: 100 bytes needed",
        ),
        (
            lambda: m.cross_entropy_backward(F32, 2, 5, 7, v.ptr, v.ptr, 0, v.ptr, v.ptr),
            ValueError,
            r"cross_entropy_backward: reduction must be 0 \(mean\), 1 \(sum\) or 2",
        ),
        (
            lambda: m.batch_norm_apply(
                F32, 2, 3, 2, v.ptr, v.ptr, v.ptr, True, 1e-5, 0, 0, big.ptr
            ),
            ValueError,
            r"batch_norm_apply: x: 48 bytes needed",
        ),
        (
            lambda: m.global_avg_pool_backward(F32, 10, 3, v.ptr, v.ptr),
            ValueError,
            r"global_avg_pool_backward: n must be a multiple of L",
        ),
        (
            lambda: m.sgd(F32, 11, v.ptr, 0, big.ptr, 0.1, 0.0, 0.0, False, False),
            ValueError,
            r"sgd: p: 44 bytes needed, but the device array at this address holds 40",
        ),
        (
            lambda: m.adam(
                F32, 10, big.ptr, big.ptr, big.ptr, host.ctypes.data, 1e-3, 0.9, 0.999, 1e-8, 0, 1
            ),
            ValueError,
            r"adam: g: .* no device array is at this address",
        ),
        (
            lambda: m.copy(v.ptr, big.ptr, 41),
            ValueError,
            r"copy: dst: 41 bytes needed",
        ),
        (
            lambda: m.copy_from_host(v.ptr + 8, host, 40),
            ValueError,
            r"copy_from_host: dst: 40 bytes needed, but the device array at this address holds 32",
        ),
        (
            lambda: m.copy_to_host(host, v.ptr, 48),
            ValueError,
            r"copy_to_host: src: 48 bytes needed",
        ),
        # sizes past what an array may have: OverflowError before anything else
        (
            lambda: m.conv2d_forward(F32, (2**40,) * 4, (1, 2**40, 1, 1), *CONV[2:], 0, 0, 0, 0),
            OverflowError,
            r"conv2d: x's plane \(1099511627776, 1099511627776\) does not fit",
        ),
        (
            lambda: m.matmul(F32, 2**40, 2**40, 1, 0, False, 0, False, 0),
            OverflowError,
            r"matmul: c",
        ),
    ]


N_ROWS = 35


def test_every_row_is_counted(emu):
    assert len(_rows(*emu)) == N_ROWS


@pytest.mark.parametrize("i", range(N_ROWS))
def test_raw_cuda_bindings_refuse_bad_geometry_and_addresses(emu, i):
    call, exc, pattern = _rows(*emu)[i]
    with pytest.raises(exc, match=pattern):
        call()


def test_views_and_foreign_memory_are_live_arrays(emu):
    """An offset view of a device array, and DLPack-imported memory, are accepted up
    to their ends, and no further."""
    m, arr = emu
    big = arr(20)
    view = big.reshape(20)
    m.fill(F32, 10, 1.0, big.ptr + 40)  # the second half: in bounds
    with pytest.raises(ValueError, match=r"fill: out: 44 bytes needed, .* holds 40"):
        m.fill(F32, 11, 1.0, big.ptr + 40)
    np.testing.assert_array_equal(view.numpy()[10:], np.ones(10, np.float32))
    host = np.zeros(6, np.float32)
    imported = cf.cuda.from_dlpack(host)
    m.fill(F32, 6, 2.0, imported.ptr)
    np.testing.assert_array_equal(host, np.full(6, 2.0, np.float32))
    with pytest.raises(ValueError, match=r"fill: out: 28 bytes needed, .* holds 24"):
        m.fill(F32, 7, 2.0, imported.ptr)
    address = imported.ptr
    del imported
    with pytest.raises(ValueError, match="no device array is at this address"):
        m.fill(F32, 6, 3.0, address)


def test_a_released_array_is_not_a_live_one(emu):
    m, arr = emu
    a = arr(1000)
    address = a.ptr
    del a  # back to the allocator's cache: its memory is not an array any more
    with pytest.raises(ValueError, match="no device array is at this address"):
        m.fill(F32, 1000, 0.0, address)
