"""The thread count under concurrent change, and its bounds (issue 13, class 2).

A kernel call reads the thread count once: a set_num_threads from another Python
thread while conv2d_backward runs must not give a driver more threads than it sized
its per-thread partial buffers for (weight gradients came out wrong by up to 1.6x
the output range, once a segfault). The races ran in the direct, Winograd and
im2col weight-gradient drivers, so each is hammered here; since results are
deterministic for a given thread count, each result must equal, bit for bit, the
one computed beforehand for one of the counts the hammer sets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _C, ops
from helpers import num_threads

pytestmark = pytest.mark.kernels
needs_threads = pytest.mark.skipif(
    not _C.threads_enabled(), reason="a single-threaded build runs one thread whatever is set"
)

COUNTS = (1, 2, 3, 4)

# The drivers that sum per-thread partials; layers large enough that a call lasts
# long enough (tens of ms, zero-filling megabytes of partials between its reads)
# for the hammer to change the count in the middle of one.
ALGORITHMS = ["im2col", "direct", "winograd"]

HAMMER_DRIVER = """
import sys, threading, numpy as np, cnnfast as cf
from cnnfast import _C, ops
_C.set_conv_algorithm(sys.argv[1])
rng = np.random.default_rng(3)
x = rng.standard_normal((8, 256, 16, 16)).astype(np.float32)
w = rng.standard_normal((256, 256, 3, 3)).astype(np.float32)
dy = np.ones_like(ops.conv2d(x, w, padding=1))
counts = (1, 2, 3, 4)
expected = {}
for n in counts:
    cf.set_num_threads(n)
    expected[n] = ops.conv2d_backward(x, w, dy, padding=1, need_input_grad=False)[1]
stop = threading.Event()
def hammer():
    i = 0
    while not stop.is_set():
        cf.set_num_threads(counts[i % len(counts)])
        i += 1
t = threading.Thread(target=hammer)
t.start()
# A fixed number of calls, not a time budget: under a sanitizer a call is many times
# slower, and the race needs calls, not seconds.
calls = bad = 0
for _ in range(12):
    dw = ops.conv2d_backward(x, w, dy, padding=1, need_input_grad=False)[1]
    calls += 1
    bad += not any(np.array_equal(dw, e) for e in expected.values())
stop.set()
t.join()
print("calls", calls, "bad", bad)
"""


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_set_num_threads_during_conv2d_backward(algorithm: str) -> None:
    """Results are deterministic for a thread count, so every weight gradient must
    equal, bit for bit, the one computed beforehand for one of the counts the hammer
    sets. (Before the fix: 13 of 43 direct and 8 of 29 Winograd results were wrong,
    and im2col crashed.) In a child, so a crash fails only this test."""
    out = subprocess.run(
        [sys.executable, "-c", HAMMER_DRIVER, algorithm],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    words = out.stdout.split()
    calls, bad = int(words[-3]), int(words[-1])
    assert calls == 12 and bad == 0, out.stdout


@needs_threads
def test_a_kernel_call_reads_the_thread_count_once() -> None:
    """The mechanism behind the drivers' safety: inside one kernel call (GIL released,
    another thread calling set_num_threads meanwhile) every read gives the same count.
    The hammer only runs while a call is in progress, so the calls here last 300 us,
    long enough for it to wake up and change the count many times."""
    stop = threading.Event()

    def hammer() -> None:
        i = 0
        while not stop.is_set():
            cf.set_num_threads(COUNTS[i % len(COUNTS)])
            i += 1

    before = cf.get_num_threads()
    t = threading.Thread(target=hammer)
    t.start()
    try:
        reads = [_C.thread_count_reads(300) for _ in range(300)]
    finally:
        stop.set()
        t.join()
        cf.set_num_threads(before)
    changed = [r for r in reads if r[0] != r[1]]
    assert not changed, f"{len(changed)} of {len(reads)} calls saw the count change: {changed[:5]}"
    assert len({r[0] for r in reads}) > 1  # the hammer did change it between calls


def test_thread_count_is_bounded() -> None:
    with pytest.raises(ValueError, match=r"set_num_threads: n must be >= 1 and at most 1024"):
        cf.set_num_threads(2**20)
    with pytest.raises(ValueError, match="at most"):
        _C.set_num_threads(2**20)
    with pytest.raises(ValueError, match=">= 1"):
        cf.set_num_threads(0)
    with pytest.raises(TypeError):
        cf.set_num_threads(2.0)  # type: ignore[arg-type]
    # The bound is the documented one and within it a big count works.
    with num_threads(64):
        x = np.ones((64, 8, 10, 10), np.float32)
        y = ops.conv2d(x, np.ones((8, 8, 3, 3), np.float32))
    assert np.all(y == 72)


@needs_threads
def test_thread_creation_failure_is_an_error() -> None:
    """Where the system cannot start the threads asked for (here: an address-space
    limit leaves room for the stacks of only a few dozen), set_num_threads raises
    and keeps the count, instead of the next big op killing the interpreter (GNU
    OpenMP, which cnnfast used before its own pool, called it fatal: 'Thread creation
    failed')."""
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        # Under AddressSanitizer the arithmetic of an address-space limit is its own:
        # each thread it starts reserves more, and its allocator maps regions as it
        # goes, so what the 32 threads it could start left (4 MB) does not hold the
        # next op's 0.7 MB output: a clean MemoryError, not the behaviour under test.
        pytest.skip("RLIMIT_AS headroom is not comparable under AddressSanitizer")
    code = textwrap.dedent(
        """
        import resource, numpy as np, cnnfast as cf
        before = cf.get_num_threads()
        vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + 256 * 2**20, resource.RLIM_INFINITY))
        try:
            cf.set_num_threads(500)
            print("no error")
        except RuntimeError as e:
            print("RuntimeError", e)
        print("count", cf.get_num_threads() == before)
        y = cf.ops.conv2d(np.ones((64, 8, 20, 20), np.float32), np.ones((8, 8, 3, 3), np.float32))
        print("ok", float(y[0, 0, 0, 0]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = out.stdout.split("\n")
    assert out.returncode == 0, out.stderr[-2000:]
    assert any(line.startswith("RuntimeError set_num_threads(500)") for line in lines), out.stdout
    assert "count True" in lines and "ok 72.0" in lines, out.stdout


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tsan_pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/threads/pool_stress.cpp with the pool (parallel.cpp, thread_pool.cpp),
    built with ThreadSanitizer."""
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path_factory.mktemp("tsan") / "pool_stress"
    csrc = REPO / "csrc"
    cmd = [cxx, "-std=c++17", "-O1", "-g", "-fsanitize=thread", "-pthread", f"-I{csrc}"]
    cmd += [str(REPO / "tests" / "threads" / "pool_stress.cpp")]
    cmd += [str(csrc / "parallel.cpp"), str(csrc / "thread_pool.cpp"), "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    if build.returncode != 0:
        if "sanitize" in build.stderr or "tsan" in build.stderr:
            pytest.skip(f"this compiler cannot build with ThreadSanitizer: {build.stderr[-300:]}")
        raise AssertionError(build.stderr)
    return exe


def _run_tsan(exe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=0 exitcode=66")
    env.pop("LD_PRELOAD", None)  # the ASan run's preload would clash with TSan's runtime
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=300)


def test_thread_pool_is_race_free_under_thread_sanitizer(tsan_pool: Path) -> None:
    """Three callers at once, thread counts changing, workers falling asleep between
    bursts: every result right and ThreadSanitizer silent; with the team's barrier
    left out, it reports the race (the check can fail)."""
    clean = _run_tsan(tsan_pool)
    assert "ThreadSanitizer" not in clean.stderr, clean.stderr[-3000:]
    assert clean.returncode == 0 and clean.stdout.strip() == "0 wrong", clean.stdout
    racy = _run_tsan(tsan_pool, "racy")
    assert "ThreadSanitizer: data race" in racy.stderr, racy.stderr[-2000:]
