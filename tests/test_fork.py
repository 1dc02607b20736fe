"""fork() after cnnfast has run (issue 13, class 3).

Threads do not survive fork: with GNU OpenMP a child's first parallel region used
to wait for them forever. cnnfast's pool forgets its workers in the child and starts
new ones when they are next needed, so a child keeps its thread count; the block
cache's lock is never inherited held; the CUDA emulator starts a team of its own.
Every scenario runs in a child interpreter with a time limit, and every forked
grandchild is waited for with one too, so a regression fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from cnnfast import _C

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

# Shared by the scenarios: fork, run `child` in the child, and return what it
# printed; a child that does not finish in time is killed and reported.
PRELUDE = """
import os, sys, time, warnings
import numpy as np
import cnnfast as cf

def in_child(child, timeout=60.0):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = child()
            os.write(w, repr(out).encode())
            os._exit(0)
        except BaseException as e:
            os.write(w, ("ERROR " + repr(e)).encode())
            os._exit(1)
    os.close(w)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "HUNG"
        time.sleep(0.01)
    with os.fdopen(r, "rb") as f:
        return f.read().decode()

x = np.random.default_rng(0).standard_normal((32, 16, 20, 20)).astype(np.float32)
w = np.random.default_rng(1).standard_normal((32, 16, 3, 3)).astype(np.float32)
expected = cf.reference.conv2d(x, w, padding=1)

def conv_ok():
    y = cf.ops.conv2d(x, w, padding=1)
    dx, dw, _ = cf.ops.conv2d_backward(x, w, np.ones_like(y), padding=1)
    p = cf.ops.max_pool2d(y, 2)
    m = cf.ops.matmul(x.reshape(32, -1), x.reshape(32, -1), trans_b=True)
    shapes_ok = p.shape == (32, 32, 10, 10) and m.shape == (32, 32)
    return bool(np.allclose(y, expected, atol=1e-3)) and shapes_ok
"""


def run_scenario(body: str, timeout: float = 240.0, env: dict[str, str] | None = None) -> list[str]:
    code = PRELUDE + textwrap.dedent(body)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the scenario hung: {e.stdout!r}")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout.splitlines()


THREADS = 2 if _C.threads_enabled() else 1


def test_fork_child_after_threaded_ops_keeps_its_threads() -> None:
    out = run_scenario(
        """
        cf.set_num_threads(2)
        assert conv_ok()                      # the parent's workers start here
        print("child", in_child(lambda: (conv_ok(), cf.get_num_threads())))
        print("parent", conv_ok(), cf.get_num_threads())
        # a grandchild, a child that asks for more threads, a training step
        print("grandchild", in_child(lambda: in_child(conv_ok)))
        def more():
            cf.set_num_threads(3)
            return conv_ok(), cf.get_num_threads()
        print("more", in_child(more))
        def train():
            model = cf.models.get("lenet5", seed=0)
            opt = cf.optim.Adam(model.parameters())
            xb = np.random.default_rng(2).random((16, 1, 28, 28), dtype=np.float32)
            loss = cf.nn.functional.cross_entropy(model(cf.tensor(xb)), np.arange(16) % 10)
            loss.backward(); opt.step()
            return bool(np.isfinite(loss.item()))
        print("train", in_child(train))
        """
    )
    assert f"child (True, {THREADS})" in out, out
    assert f"parent True {THREADS}" in out, out
    assert "grandchild 'True'" in out, out
    assert f"more (True, {3 if THREADS > 1 else 1})" in out, out
    assert "train True" in out, out


def test_fork_child_threads_do_the_work() -> None:
    """The child's pool really runs pieces on new threads (not only the caller):
    while a child computes, it has more than one thread."""
    if THREADS == 1:
        pytest.skip("a single-threaded build")
    out = run_scenario(
        """
        cf.set_num_threads(2)
        assert conv_ok()
        def child():
            big = np.random.default_rng(3).random((64, 32, 32, 32), dtype=np.float32)
            ww = np.ones((32, 32, 3, 3), np.float32)
            cf.ops.conv2d(big, ww, padding=1)
            return len(os.listdir("/proc/self/task"))
        print("tasks", in_child(child))
        """
    )
    line = next(row for row in out if row.startswith("tasks "))
    assert int(line.split()[1]) >= 2, out


def test_multiprocessing_pool_with_fork_workers() -> None:
    """The data-loading pattern: a 'fork' Pool started after the parent trained."""
    out = run_scenario(
        """
        import multiprocessing as mp
        assert conv_ok()
        def work(i):
            y = cf.ops.conv2d(x[i : i + 4], w, padding=1)
            return float(np.abs(y - expected[i : i + 4]).max()), cf.get_num_threads()
        with mp.get_context("fork").Pool(2) as pool:
            results = pool.map_async(work, range(0, 32, 4)).get(timeout=120)
        print("pool", max(r[0] for r in results) < 1e-3, sorted({r[1] for r in results}))
        """
    )
    assert f"pool True [{THREADS}]" in out, out


def test_fork_while_another_thread_runs_kernels() -> None:
    """A training thread and a forking one (a data loader): children forked while
    the other thread is inside threaded CPU kernels and emulated CUDA launches (GIL
    released, its OpenMP team and the emulator's block threads running, its outputs
    from the block cache) must work, whatever that thread held at the fork."""
    out = run_scenario(
        """
        import threading
        stop = threading.Event()
        xd = cf.tensor(x[:2], device="cuda")
        wd = cf.tensor(w, device="cuda")
        def churn():
            while not stop.is_set():
                cf.ops.conv2d(x, w, padding=1)
                cf.ops.dropout_mask((64, 1024), 0.5, 1)
                cf.nn.functional.conv2d(xd, wd, padding=1)
        t = threading.Thread(target=churn); t.start()
        def child():
            y = cf.nn.functional.conv2d(xd, wd, padding=1).to("cpu").numpy()
            return conv_ok() and bool(np.allclose(y, expected[:2], atol=1e-3))
        results = [in_child(child, timeout=60) for _ in range(8)]
        stop.set(); t.join()
        bad = [r for r in results if r != "True"]
        print("forks", len(results) - len(bad), bad[:3])
        """,
        env={"CNNFAST_CUDA_EMULATE": "1"},
    )
    assert "forks 8 []" in out, out


# A thread's first use of cnnfast while the main thread forks at once, in a few
# fresh interpreters (only a first use has these windows): the child must not wait
# for anything that thread held. Each interpreter forks three children.
FIRST_USE = """
import threading
{setup}
t = threading.Thread(target=lambda: {first_use})
t.start()
results = [in_child(conv_ok, timeout=30) for _ in range(3)]
t.join()
print("forks", results)
"""


def forks_during_first_use(setup: str, first_use: str, interpreters: int = 4) -> list[str]:
    body = FIRST_USE.format(setup=setup, first_use=first_use)
    return [run_scenario(body, timeout=120)[-1] for _ in range(interpreters)]


def test_fork_while_another_thread_imports_a_submodule() -> None:
    """`cf.nn` and friends load on first use; a thread holding a submodule's import
    lock at the fork left the child's own first use waiting for it (CPython does not
    reset module locks in a child: every child hung). The package loads itself
    completely before a fork."""
    outs = forks_during_first_use("", "cf.nn.functional.relu(cf.tensor(x))")
    assert outs == ["forks ['True', 'True', 'True']"] * len(outs), outs


def test_fork_while_another_thread_makes_its_first_kernel_call() -> None:
    """The C extension's process-wide state (the pool, the thread count, the ISA, the
    block cache) is built as it loads: built lazily by a thread's first kernel call,
    a fork meanwhile left the child waiting on the static's initialisation guard
    (about one interpreter in five hung)."""
    setup = "import cnnfast.ops, cnnfast.nn, cnnfast.tensor; cf._load_the_package_before_fork()"
    outs = forks_during_first_use(setup, "cf.ops.conv2d(x, w, padding=1)", interpreters=6)
    assert outs == ["forks ['True', 'True', 'True']"] * len(outs), outs


def test_fork_child_runs_the_cuda_emulator() -> None:
    """The emulator's persistent block threads do not survive fork either: the child
    starts a team of its own."""
    out = run_scenario(
        """
        xd = cf.tensor(x[:4], device="cuda")
        wd = cf.tensor(w, device="cuda")
        y = cf.nn.functional.conv2d(xd, wd, padding=1).to("cpu").numpy()  # the team starts
        def child():
            yc = cf.nn.functional.conv2d(xd, wd, padding=1).to("cpu").numpy()
            return bool(np.allclose(yc, expected[:4], atol=1e-3))
        print("child", in_child(child), bool(np.allclose(y, expected[:4], atol=1e-3)))
        """,
        env={"CNNFAST_CUDA_EMULATE": "1"},
    )
    assert "child True True" in out, out
