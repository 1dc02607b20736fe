"""The CUDA kernels' own source, run on the host emulator (csrc/cuda/emulator.cpp):
blocks one after another, a block's threads as concurrent OS threads meeting at a
barrier for __syncthreads(), __shared__ storage per block. Checked against NumPy on
small shapes with partial tiles; the emulator's built-in variables and launch limits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnfast import _C

emu = _C.cuda_emulated

# (M, N, K): one element, partial 64x64 tiles on each side, K not a multiple of the
# 16-deep panels, several tiles in both directions.
GEMM_SHAPES = [(1, 1, 1), (5, 7, 3), (64, 64, 16), (65, 63, 17), (70, 130, 33), (129, 65, 40)]


@pytest.mark.kernels
@pytest.mark.parametrize("shape", GEMM_SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in GEMM_SHAPES])
def test_emulated_sgemm_matches_numpy(shape, rng):
    M, N, K = shape
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    c = rng.standard_normal((M, N)).astype(np.float32)
    expected = 1.5 * (a.astype(np.float64) @ b) + 0.5 * c
    emu.sgemm(a, b, 1.5, 0.5, c)
    magnitude = 1.5 * (np.abs(a) @ np.abs(b)) + np.abs(expected)
    bound = 2 * (K + 2) * np.finfo(np.float32).eps * magnitude
    assert np.all(np.abs(c - expected) <= bound)


@pytest.mark.kernels
def test_emulated_sgemm_beta_zero_does_not_read_c(rng):
    a = rng.standard_normal((9, 4)).astype(np.float32)
    b = rng.standard_normal((4, 70)).astype(np.float32)
    c = np.full((9, 70), np.nan, np.float32)
    emu.sgemm(a, b, 1.0, 0.0, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.kernels
@pytest.mark.parametrize("n,blocks", [(1, 1), (255, 1), (256, 2), (1000, 3), (5000, 4)])
def test_emulated_sum_uses_shared_memory_barriers_and_atomics(n, blocks, rng):
    """A tree reduction in __shared__ memory with __syncthreads() between levels, and
    one atomicAdd per block: right only if all three behave as on the device."""
    x = rng.standard_normal(n).astype(np.float32)
    exact = float(x.astype(np.float64).sum())
    assert emu.sum(x, blocks) == pytest.approx(exact, abs=1e-4 * np.sqrt(n))


LAUNCHES = [((2, 3, 1), (4, 2, 3)), ((1, 1, 2), (32, 1, 1)), ((3, 1, 1), (1, 5, 1))]


@pytest.mark.kernels
@pytest.mark.parametrize("grid,block", LAUNCHES)
def test_emulator_built_in_variables(grid, block):
    rows = emu.thread_indices(list(grid), list(block))
    per_block = block[0] * block[1] * block[2]
    n_blocks = grid[0] * grid[1] * grid[2]
    assert rows.shape == (n_blocks * per_block, 10)
    assert (rows[:, 6] == per_block).all() and (rows[:, 7] == n_blocks).all()
    # Every (block, thread) pair exactly once, and indices consistent with their flattening.
    bx, by, bz, tx, ty, tz = (rows[:, i] for i in range(6))
    np.testing.assert_array_equal(rows[:, 8], (bz * grid[1] + by) * grid[0] + bx)
    np.testing.assert_array_equal(rows[:, 9], (tz * block[1] + ty) * block[0] + tx)
    assert len({(int(r[8]), int(r[9])) for r in rows}) == len(rows)
    assert bx.max() == grid[0] - 1 and tz.max() == block[2] - 1


@pytest.mark.kernels
def test_emulator_refuses_blocks_the_device_would():
    with pytest.raises(ValueError, match="threads per block"):
        emu.thread_indices([1, 1, 1], [32, 32, 2])  # 2048 > 1024


@pytest.mark.kernels
@pytest.mark.skipif(
    not hasattr(emu, "faulty_shared_index"), reason="only sanitizer builds carry the faulty kernel"
)
def test_sanitizer_catches_an_out_of_range_shared_index():
    """__shared__ storage is a static array in the emulator, so the sanitizer build
    stops a kernel's out-of-range shared index as it would any other: UBSan's bounds
    check reports it first, AddressSanitizer's redzones would otherwise."""
    code = "from cnnfast import _C; _C.cuda_emulated.faulty_shared_index(); print('not caught')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/tmp")
    assert run.returncode != 0 and "not caught" not in run.stdout
    caught = ("out of bounds for type 'float [32]'", "global-buffer-overflow")
    assert any(c in run.stderr for c in caught), run.stderr[-2000:]


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tsan_exchange(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/cuda/neighbour_exchange.cpp and the emulator, built with ThreadSanitizer."""
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path_factory.mktemp("tsan") / "neighbour_exchange"
    build = subprocess.run(
        [
            cxx,
            "-std=c++17",
            "-O1",
            "-g",
            "-fsanitize=thread",
            "-pthread",
            f"-I{REPO / 'csrc'}",
            str(REPO / "tests" / "cuda" / "neighbour_exchange.cpp"),
            str(REPO / "csrc" / "cuda" / "emulator.cpp"),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        if "sanitize" in build.stderr or "tsan" in build.stderr:
            pytest.skip(f"this compiler cannot build with ThreadSanitizer: {build.stderr[-300:]}")
        raise AssertionError(build.stderr)
    return exe


def _run_tsan(exe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=0 exitcode=66")
    env.pop("LD_PRELOAD", None)  # the ASan run's preload would clash with TSan's runtime
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env)


@pytest.mark.kernels
def test_thread_sanitizer_reports_a_missing_syncthreads(tsan_exchange):
    """Threads exchange values through __shared__ memory: without __syncthreads()
    between the write and the read ThreadSanitizer reports the race (the emulator's
    threads are real threads); with it the same kernel runs clean and right."""
    racy = _run_tsan(tsan_exchange)
    assert "ThreadSanitizer: data race" in racy.stderr, racy.stderr[-2000:]
    assert racy.returncode == 66
    clean = _run_tsan(tsan_exchange, "sync")
    assert "ThreadSanitizer" not in clean.stderr, clean.stderr[-2000:]
    assert clean.returncode == 0 and clean.stdout.strip() == "0 wrong"
