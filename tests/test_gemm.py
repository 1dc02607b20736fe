"""GEMM against NumPy over sizes below, at and above every block size, both transposes."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import checks
from helpers import assert_all_ok, num_threads

# Register tiles (generic 4x8 / 4x4, AVX2 6x16 / 6x8) and cache blocks (MC 72..168,
# KC 256, NC ~4080): sizes straddle each.
SMALL = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33]
SIZES = [
    (1, 1, 1),
    (6, 16, 1),
    (7, 17, 3),
    (12, 32, 64),
    (13, 31, 255),
    (5, 9, 256),
    (5, 9, 257),
    (71, 20, 40),
    (72, 20, 40),
    (73, 20, 40),
    (167, 30, 20),
    (168, 30, 20),
    (169, 30, 20),
    (129, 127, 513),
    (20, 4079, 3),
    (20, 4081, 3),
    (3, 4100, 17),
    (300, 200, 300),
]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_small_sizes(trans, dtype, isa, rng):
    results = []
    for m in SMALL:
        for n in SMALL:
            results += checks.check_matmul(rng, dtype, m, n, int(rng.integers(1, 40)), *trans)
    assert_all_ok(results)


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans", [(False, False), (True, True)])
@pytest.mark.parametrize("mnk", SIZES, ids=[f"{m}x{n}x{k}" for m, n, k in SIZES])
def test_matmul_block_edges(mnk, trans, dtype, isa, rng):
    assert_all_ok(checks.check_matmul(rng, dtype, *mnk, *trans))


@pytest.mark.kernels
def test_matmul_empty_and_degenerate():
    assert cf.ops.matmul(np.zeros((0, 3)), np.zeros((3, 4))).shape == (0, 4)
    assert cf.ops.matmul(np.zeros((2, 3), np.float32), np.zeros((3, 0), np.float32)).shape == (2, 0)
    # K == 0: the product of empty matrices is all zeros, not uninitialised memory.
    np.testing.assert_array_equal(
        cf.ops.matmul(np.zeros((4, 0)), np.zeros((0, 5))), np.zeros((4, 5))
    )


@pytest.mark.kernels
def test_matmul_nan_and_inf_propagate():
    a = np.ones((8, 8))
    a[2, 3] = np.nan
    c = cf.ops.matmul(a, np.ones((8, 20)))
    assert np.isnan(c[2]).all() and np.isfinite(np.delete(c, 2, axis=0)).all()
    a[2, 3] = np.inf
    assert np.isinf(cf.ops.matmul(a, np.ones((8, 20)))[2]).all()


@pytest.mark.kernels
def test_matmul_non_contiguous(rng):
    a = rng.standard_normal((40, 30))
    b = rng.standard_normal((30, 50))
    expected = cf.ops.matmul(a, b)
    np.testing.assert_array_equal(
        cf.ops.matmul(np.asfortranarray(a), np.asfortranarray(b)), expected
    )
    np.testing.assert_allclose(cf.ops.matmul(a.T.copy().T, b[:, ::1]), a @ b, rtol=1e-12)
    big = rng.standard_normal((80, 60))
    np.testing.assert_allclose(cf.ops.matmul(big[::2, ::2], b), big[::2, ::2] @ b, rtol=1e-12)


# Few rows and a large N*K: the unpacked AVX2 path (gemm.cpp, gemm_small_m) for
# float32, the blocked one otherwise; every transpose, K and N off the 8-lane grid.
SMALL_M = [(1, 4099, 17), (3, 2053, 41), (8, 515, 130), (8, 67, 1031), (9, 1000, 70)]


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("mnk", SMALL_M, ids=[f"{m}x{n}x{k}" for m, n, k in SMALL_M])
def test_matmul_few_rows(mnk, trans, dtype, isa, rng):
    assert_all_ok(checks.check_matmul(rng, dtype, *mnk, *trans))


@pytest.mark.kernels
def test_few_rows_do_not_depend_on_the_thread_count(rng):
    a = rng.standard_normal((8, 3000)).astype(np.float32)
    b = rng.standard_normal((777, 3000)).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        with num_threads(n):
            results.append(cf.ops.matmul(a, b, trans_b=True))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
