"""Size arithmetic that must not overflow (issue 13, class 1).

A request whose sizes cannot be represented in 64 bits is an OverflowError naming
the op and what is too large, raised before any work; one that is representable
but cannot be allocated is a MemoryError; huge strides, kernels and paddings that
still give a small output give the exact answer. The cases that used to hang with
the GIL held or crash the interpreter run in a child process with a time limit,
so a regression fails the test instead of stopping the suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _C, ops
from cnnfast import reference as ref
from cnnfast.reference.dropout import mask_at

pytestmark = pytest.mark.kernels

ONES_4x4 = np.ones((1, 1, 4, 4), np.float32)
ONES_3x3 = np.ones((1, 1, 3, 3), np.float32)


def run_isolated(code: str, timeout: float = 60.0) -> str:
    """Runs `code` in a fresh interpreter (the emulated CUDA backend selected) and
    returns its stdout; a hang or a crash fails the test with what the child said."""
    env = dict(os.environ, CNNFAST_CUDA_EMULATE="1")
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"hung for more than {timeout} s: {e.stdout!r}")
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


# Each used to loop forever, segfault or return an array backed by too few bytes.
UNREPRESENTABLE = {
    "dropout_mask": "cf.ops.dropout_mask((3, 2**60))",
    "matmul of empty operands": (
        "cf.ops.matmul(np.zeros((3, 0), np.float32), np.zeros((0, 2**60), np.float32))"
    ),
    "conv2d padding": "cf.ops.conv2d(x, w, padding=900_000_000)",
    "conv2d padding, empty batch": "cf.ops.conv2d(x[:0], w, padding=2**40)",
    "conv2d_backward padding": (
        "cf.ops.conv2d_backward(x, w, np.zeros((1, 1, 2, 2), np.float32), padding=2**62)"
    ),
    "max_pool2d_backward_argmax x_shape": (
        "cf.ops.max_pool2d_backward_argmax(np.zeros((1, 1, 1, 1), np.uint8),"
        " np.zeros((1, 1, 1, 1), np.float32), (2**40, 2**40, 2, 2), 2)"
    ),
    "cuda.zeros near 2**64 bytes": "cf.cuda.zeros((2**62 - 2**17,))",
    "cuda.zeros of 2**64 elements": "cf.cuda.zeros((2**32, 2**32))",
    "raw _C dropout mask": "_C.dropout_mask_float32([3, 2**60], 0.5, 0)",
    "raw _C matmul": (
        "_C.matmul(np.zeros((3, 0), np.float32), np.zeros((0, 2**60), np.float32), False, False)"
    ),
    "raw _C conv2d padding": (
        "_C.conv2d_forward(x, w, None, (1, 1), (2**62, 2**62, 2**62, 2**62), (1, 1), 1)"
    ),
    "raw _C conv2d dilation": (
        "_C.conv2d_forward(x, w, None, (1, 1), (0, 0, 0, 0), (2**62, 2**62), 1)"
    ),
    "raw _C pool padding": (
        "_C.max_pool2d_forward(x, (2**62, 2**62), (1, 1), (2**61,) * 4, False, False)"
    ),
    "raw _C global_avg_pool2d_backward x_shape": (  # (found by fuzzing: H * W overflowed)
        "_C.global_avg_pool2d_backward(np.zeros((1, 1, 1, 1), np.float32), [1, 1, 2**62, 4])"
    ),
    "raw CUDA conv2d past 2**59 elements": (
        "_C.cuda_emulated.conv2d_forward('float32', (2**40,) * 4, (1, 2**40, 1, 1), (1, 1),"
        " (0,) * 4, (1, 1), 1, 0, 0, 0, 0)"
    ),
    "raw CUDA pool past 2**59 elements": (
        "_C.cuda_emulated.max_pool('float32', (2**40,) * 4, (1, 1), (1, 1), (0,) * 4, False,"
        " 0, False, 0, 0)"
    ),
    "raw CUDA matmul past 2**59 elements": (
        "_C.cuda_emulated.matmul('float32', 2**40, 2**40, 1, 0, False, 0, False, 0)"
    ),
}


def test_unrepresentable_sizes_are_overflow_errors_without_hanging() -> None:
    """All the cases in one child (one interpreter start); each prints its outcome."""
    lines = [
        "import numpy as np, cnnfast as cf",
        "from cnnfast import _C",
        "x = np.ones((1, 1, 4, 4), np.float32); w = np.ones((1, 1, 3, 3), np.float32)",
    ]
    for name, expr in UNREPRESENTABLE.items():
        lines += [
            "try:",
            f"    {expr}",
            f"    print({name!r}, 'no error')",
            "except Exception as e:",
            f"    print({name!r}, type(e).__name__, str(e).replace(chr(10), ' '))",
        ]
    out = run_isolated("\n".join(lines))
    for name in UNREPRESENTABLE:
        line = next((row for row in out.splitlines() if row.startswith(name + " ")), None)
        assert line is not None, f"{name}: no outcome printed\n{out}"
        assert " OverflowError " in line, line


# (expression, what its OverflowError must say): checked in a child too, since some
# of these used to hang with the GIL held.
MESSAGES = [
    ("cf.ops.dropout_mask((3, 2**60))", r"dropout_mask: shape .*\(3, 1152921504606846976\)"),
    (
        "cf.ops.matmul(np.zeros((3, 0), np.float32), np.zeros((0, 2**60), np.float32))",
        r"matmul: the output of a \(3, 0\) and b",
    ),
    ("cf.ops.conv2d(x, w, padding=900_000_000)", r"conv2d: one image's output .*padding \(9000"),
    ("cf.ops.conv2d(x, w, stride=2**64)", r"conv2d: stride = 18446744073709551616 does not fit"),
    ("cf.ops.max_pool2d(x, 2, stride=2**64)", r"max_pool2d: stride = 18446744073709551616"),
    (
        "cf.ops.conv2d_algorithm((1, 1, 4, 4), (1, 1, 3, 3), padding=2**62)",
        r"conv2d_algorithm: the padded input",
    ),
]


def test_python_messages_name_the_op_and_what_is_too_large() -> None:
    lines = [
        "import numpy as np, cnnfast as cf",
        "x = np.ones((1, 1, 4, 4), np.float32); w = np.ones((1, 1, 3, 3), np.float32)",
    ]
    for i, (expr, _) in enumerate(MESSAGES):
        lines += [
            "try:",
            f"    {expr}",
            f"    print('{i} no error')",
            "except OverflowError as e:",
            f"    print('{i}', str(e).replace(chr(10), ' '))",
        ]
    out = run_isolated("\n".join(lines)).splitlines()
    for i, (expr, pattern) in enumerate(MESSAGES):
        line = next((row for row in out if row.startswith(f"{i} ")), f"{i} (nothing printed)")
        assert re.search(pattern, line), f"{expr}: {line}"


def test_unallocatable_sizes_are_memory_errors() -> None:
    """2**60 bytes is representable and no machine has it: MemoryError, not an abort."""
    with pytest.raises(MemoryError, match="cannot allocate 1152921504606846976 bytes"):
        ops.dropout_mask((2**58,))
    with pytest.raises(MemoryError, match="cannot allocate"):
        ops.matmul(np.zeros((2**20, 0), np.float32), np.zeros((0, 2**38), np.float32))
    stats = cf.memory_stats()
    assert stats["in_use_bytes"] < 2**40  # the failed request left no accounting behind


def test_an_empty_shape_with_huge_dimensions() -> None:
    """(Found by fuzzing: the C++ product in the dropout_mask binding overflowed on the
    huge dimensions before it reached the zero, UBSan's signed overflow.) NumPy's rule
    for an empty array: its non-zero dimensions, in bytes, must still fit in 63 bits."""
    for shape in [(0, 2**60), (2**30, 0, 2**30), (0,)]:
        assert ops.dropout_mask(shape).shape == shape
        assert _C.dropout_mask_float32(list(shape), 0.5, 0).shape == shape
    for shape in [(4, 2**62, 0), (2**32, 2**63 - 1, 0, 3), (0, 2**62, 4)]:
        with pytest.raises(OverflowError, match=r"dropout_mask: shape would be .*: empty, but"):
            ops.dropout_mask(shape)
        with pytest.raises(OverflowError, match="larger than the largest possible array"):
            _C.dropout_mask_float32(list(shape), 0.5, 0)
    with pytest.raises(OverflowError, match="dropout_mask: a dimension of shape"):
        ops.dropout_mask((2**64, 0))


def test_unallocatable_device_array_is_a_memory_error(cuda_device: str) -> None:
    before = cf.cuda.memory_stats()
    with pytest.raises(MemoryError, match=r"cannot allocate \d+ bytes for a device array"):
        cf.cuda.zeros((2**58,))
    assert cf.cuda.memory_stats()["in_use_bytes"] == before["in_use_bytes"]


@pytest.mark.parametrize("stride", [2**31, 2**62, 2**63 - 1])
def test_conv2d_huge_stride_is_exact(stride: int) -> None:
    # One window fits: the output is 1x1 and the sum of the 3x3 ones, 9. (A
    # ceil-division of the output range used to overflow and give zeros.)
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    y = ops.conv2d(x, ONES_3x3, stride=stride)
    np.testing.assert_array_equal(y, ref.conv2d(x, ONES_3x3, stride=(4, 4)))
    dx, dw, _ = ops.conv2d_backward(x, ONES_3x3, np.ones_like(y), stride=stride)
    rdx, rdw, _ = ref.conv2d_backward(x, ONES_3x3, np.ones_like(y), stride=4)
    np.testing.assert_array_equal(dx, rdx)
    np.testing.assert_array_equal(dw, rdw)


@pytest.mark.parametrize("algorithm", ["auto", "expand", "expand4", "im2col", "direct", "taps"])
def test_conv2d_huge_stride_on_every_algorithm(algorithm: str) -> None:
    """The expanded-Winograd path with stride 2**31 used to segfault (stride**2 phase
    channels); run in a child so a crash fails only this test."""
    out = run_isolated(
        f"""
        import numpy as np, cnnfast as cf
        from cnnfast import _C
        _C.set_conv_algorithm({algorithm!r})
        x = np.arange(2 * 16 * 9 * 9, dtype=np.float32).reshape(2, 16, 9, 9) / 100
        w = np.ones((64, 16, 3, 3), np.float32)
        y = cf.ops.conv2d(x, w, stride=2**31)
        r = cf.reference.conv2d(x, w, stride=9)
        print(y.shape == r.shape and bool(np.allclose(y, r, rtol=1e-5)))
        """
    )
    assert out.split()[-1] == "True", out


def test_pooling_huge_kernel_and_padding_are_exact() -> None:
    x = np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)
    # One window of 2**40 x 2**40 covering the input and 2**39 of padding on each
    # side: the divisor counts 2**80 cells (it overflowed to give inf).
    y = ops.avg_pool2d(x, 2**40, padding=2**39, ceil_mode=True)
    assert y.shape == (1, 1, 1, 1)
    assert y[0, 0, 0, 0] == x.sum() / 2.0**80
    y = ops.avg_pool2d(x, 2**40, padding=2**39, ceil_mode=True, count_include_pad=False)
    assert y[0, 0, 0, 0] == x.mean()
    y = ops.max_pool2d(x, 2**40, padding=2**39, stride=2**62, ceil_mode=True)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 16
    dx = ops.avg_pool2d_backward(
        x, np.ones((1, 1, 1, 1)), 2**40, padding=2**39, ceil_mode=True, count_include_pad=False
    )
    np.testing.assert_array_equal(dx, np.full_like(x, 1 / 16))


def test_huge_stride_pooling_matches_reference() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32)
    for kw in (dict(stride=2**62), dict(stride=2**62, padding=1, ceil_mode=True)):
        np.testing.assert_array_equal(
            ops.max_pool2d(x, 3, **kw), ref.max_pool2d(x, 3, **{**kw, "stride": 9})
        )
        np.testing.assert_allclose(
            ops.avg_pool2d(x, 3, **kw), ref.avg_pool2d(x, 3, **{**kw, "stride": 9}), atol=1e-6
        )


def test_raw_conv_refuses_what_its_kernels_could_not_unroll() -> None:
    """_C called directly (no Python checks): an empty batch and no filters, but one
    image's column matrix would have 2**72 elements. The shape check refuses it
    before any kernel sizes a workspace from it."""
    with pytest.raises(OverflowError, match="unrolled input"):
        _C.conv2d_forward(
            np.empty((0, 1, 2**16, 2**16), np.float32),
            np.empty((0, 1, 2**15, 2**15), np.float32),
            None,
            (1, 1),
            (2**20, 2**20, 2**20, 2**20),
            (1, 1),
            1,
        )


# ---------------------------------------------------------------------------------------
# More than 2**31 elements: the index arithmetic past 32 bits, compared with the
# reference on slices. ~11 GB of memory; run when CNNFAST_HUGE_TESTS=1 (tools/run_tests.sh
# sets it where the machine has the memory free).
@pytest.mark.huge
def test_max_pool2d_on_more_than_2_31_elements() -> None:
    H, W = 2**16, 2**15 + 64  # 2**31 + 2**22 elements, 8.6 GB of float32
    x = np.empty((1, 1, H, W), np.float32)
    rows = (np.arange(H, dtype=np.float32) % 7) * 0.5
    cols = ((np.arange(W, dtype=np.int64) * 37) % 101).astype(np.float32) * 0.01
    np.add(rows[:, None], cols[None, :], out=x[0, 0])
    assert x.size > 2**31
    y = ops.max_pool2d(x, 2)
    assert y.shape == (1, 1, H // 2, W // 2)
    np.testing.assert_array_equal(y[..., :32, :32], ref.max_pool2d(x[..., :64, :64], 2))
    np.testing.assert_array_equal(y[..., -32:, -32:], ref.max_pool2d(x[..., -64:, -64:], 2))
    total = ops.global_avg_pool2d(x)[0, 0, 0, 0]
    exact = (rows.astype(np.float64).sum() * W + cols.astype(np.float64).sum() * H) / x.size
    assert abs(total - exact) <= 1e-6 * exact
    del x, y


@pytest.mark.huge
def test_dropout_mask_on_more_than_2_31_elements() -> None:
    n = 2**31 + 4096
    mask = ops.dropout_mask((n,), 0.25, seed=11)
    for lo in (0, 2**31 - 2048, n - 4096):
        idx = np.arange(lo, lo + 4096, dtype=np.uint64)
        np.testing.assert_array_equal(
            mask[lo : lo + 4096], mask_at(idx, 0.25, 11).astype(np.float32)
        )
    del mask
