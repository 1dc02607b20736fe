"""cnnfast.distributed: data-parallel training over MPI, run for real under mpiexec.

Each test launches tests/distributed/worker.py (or `cnnfast train`) with `mpiexec -n 2`
or `-n 3` (3 ranks split a batch unevenly and leave one rank an empty part of the
last batch) and reads what rank 0 wrote. They need the `mpi` extra (mpi4py and an
MPI with its mpiexec); without it they skip, saying so. The plain-run tests at the
end need nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import distributed as dist

WORKER = Path(__file__).parent / "distributed" / "worker.py"


def _mpiexec() -> str | None:
    """The mpiexec beside this Python (the mpich wheel's), else one on PATH."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None, reason="needs the mpi extra: pip install 'cnnfast[mpi]' (mpi4py + mpich)"
)


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # (this process may have been started by a launcher itself: the children are not;
    # other OMPI_ variables, such as OMPI_ALLOW_RUN_AS_ROOT, are the tester's settings)
    rank_variables = ("PMI_", "PMIX_", "OMPI_COMM_WORLD_", "MV2_COMM_WORLD_")
    for key in [k for k in env if k.startswith(rank_variables)]:
        del env[key]
    env.pop("CNNFAST_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)
    env.update(extra or {})
    return env


def launch(
    n: int, *args: str, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`mpiexec -n N python worker.py ARGS` (or, with n == 0, the worker alone)."""
    prefix = [MPIEXEC, "-n", str(n)] if n else []
    return subprocess.run(
        [*prefix, sys.executable, str(WORKER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_environment(env),
    )


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def train_run(tmp: Path, n: int, optimizer: str, dtype: str, **env: str) -> dict[str, np.ndarray]:
    out = tmp / f"{optimizer}-{dtype}-{n}.npz"
    ok(launch(n, "train", str(out), "--optimizer", optimizer, "--dtype", dtype, env=env))
    with np.load(out) as f:
        return dict(f)


def _params(run: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [run[f"p{i}"] for i in range(sum(k.startswith("p") for k in run))]


# --- the replicas agree, with each other and with one process ----------------------------


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_ranks_train_what_one_process_trains(tmp_path, n, optimizer):
    """2 epochs of 50 samples in global batches of 16 (16, 16, 16 and a last of 2:
    on 3 ranks parts of 6/5/5 and 1/1/0), SGD with momentum and Adam.

    float64: the ranks and one process compute the same sums in other orders, so
    they agree to rounding, far below any error a wrong weight or a missed bucket
    would make (those are >= 1e-3 here).

    float32, the bound: let P be the exact trajectory (the float64 run stands for it:
    its own rounding is ~1e-9 of float32's). One process's float32 run S and the
    distributed one D evaluate the same expressions, only with the per-sample sums
    split and regrouped, so the forward error bound that S obeys (gamma_m times the
    sums of absolute terms, carried through the steps) holds for D as well:
    |D - P| <= bound and |S - P| <= bound. We measure |S - P| where the bound is
    attained as closely as any run attains it and allow D twice that, plus 4 ulps
    of the tensor's largest entry for entries whose own error happened to be ~0."""
    single64 = train_run(tmp_path, 0, optimizer, "float64")
    ranks64 = train_run(tmp_path, n, optimizer, "float64")
    single32 = train_run(tmp_path, 0, optimizer, "float32")
    ranks32 = train_run(tmp_path, n, optimizer, "float32")
    assert int(ranks64["ranks"]) == n and bool(ranks64["same"]) and bool(ranks32["same"])
    for s, d in zip(_params(single64), _params(ranks64)):
        np.testing.assert_allclose(d, s, rtol=1e-12, atol=1e-13)
    for p, s, d in zip(_params(single64), _params(single32), _params(ranks32)):
        own = np.abs(s - p).max()
        floor = 4 * np.spacing(np.float32(np.abs(s).max()))
        worst = np.abs(d - p).max()
        assert worst <= 2 * own + floor, (worst, own, floor)
        assert np.abs(d - s).max() <= 3 * own + floor


@needs_mpi
def test_tcp_transport(tmp_path):
    """The same run with shared memory switched off (MPIR_CVAR_NOLOCAL) and
    libfabric's tcp provider forced: the bytes go through the network stack, as
    between machines (MPICH's debug summary names the provider it opened)."""
    tcp = {
        "FI_PROVIDER": "tcp",
        "MPIR_CVAR_CH4_NETMOD": "ofi",
        "MPIR_CVAR_NOLOCAL": "1",
        "MPIR_CVAR_DEBUG_SUMMARY": "1",
    }
    out = tmp_path / "tcp.npz"
    result = ok(launch(2, "train", str(out), "--dtype", "float64", env=tcp))
    shown = result.stdout + result.stderr
    if "libfabric provider:" not in shown:
        pytest.skip("not MPICH over libfabric (ch4:ofi): these variables do not force TCP")
    assert "libfabric provider: tcp" in shown, shown[-3000:]
    single = train_run(tmp_path, 0, "sgd", "float64")
    with np.load(out) as f:
        for s, d in zip(_params(single), _params(dict(f))):
            np.testing.assert_allclose(d, s, rtol=1e-12, atol=1e-13)


@needs_mpi
def test_first_bucket_is_sent_before_backward_ends(tmp_path):
    """The events the DistributedOptimizer recorded during one backward: the first
    bucket (the last layers) starts its allreduce before the first layers' gradients
    exist, and the buckets start in order."""
    out = tmp_path / "events.json"
    ok(launch(2, "overlap", str(out)))
    got = json.loads(out.read_text())
    events = [(kind, index) for kind, index, _ in got["events"]]
    assert got["buckets"] >= 3
    starts = [i for kind, i in events if kind == "start"]
    assert starts == list(range(got["buckets"]))
    first_start = events.index(("start", 0))
    last_grad = max(i for i, (kind, _) in enumerate(events) if kind == "grad")
    returned = events.index(("backward returned", -1))
    assert first_start < last_grad < returned
    assert events[-1][0] == "done"


@needs_mpi
def test_threads_are_shared_among_a_nodes_ranks(tmp_path):
    out = tmp_path / "threads.json"
    ok(launch(2, "threads", str(out)))
    cores = len(os.sched_getaffinity(0))
    assert json.loads(out.read_text()) == [max(1, cores // 2)] * 2
    ok(launch(2, "threads", str(out), env={"CNNFAST_NUM_THREADS": "3"}))
    assert json.loads(out.read_text()) == [3, 3]


# --- faults -------------------------------------------------------------------------------


@needs_mpi
def test_an_exception_on_one_rank_ends_the_job(tmp_path):
    t0 = time.perf_counter()
    result = launch(2, "fails", str(tmp_path / "unused"), timeout=60)
    assert result.returncode != 0
    assert time.perf_counter() - t0 < 30
    assert "rank 1: stopping every rank after an uncaught exception" in result.stderr
    assert "rank 1 gives up" in result.stderr


@needs_mpi
def test_ranks_that_disagree_are_told_what_differs(tmp_path):
    result = launch(3, "disagree", str(tmp_path / "unused"), timeout=60)
    assert result.returncode != 0
    for r in range(3):
        assert f"rank {r}: the ranks were not started on the same run" in result.stderr
    assert "training samples (rank 0: 64; rank 1: 63)" in result.stderr


def _rank_pid(marker: str, rank: int) -> int | None:
    """The pid of the process whose command line holds `marker` and whose launcher
    (MPICH's or Open MPI's) made it `rank`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ranks = {f"PMI_RANK={rank}".encode(), f"OMPI_COMM_WORLD_RANK={rank}".encode()}
        if marker.encode() in cmdline and ranks & set(environ):
            return int(entry.name)
    return None


def _cli(n: int, *args: str) -> list[str]:
    cli = [sys.executable, "-m", "cnnfast", "train", *args]
    return [MPIEXEC, "-n", str(n), *cli] if n else cli


@needs_mpi
@pytest.mark.slow
def test_killed_rank_stops_the_job_and_resume_finishes_on_other_ranks(mnist, tmp_path):
    """SIGKILL one of two ranks in its second epoch: mpiexec ends the job within
    seconds, the checkpoint of epoch 1 is whole, and `--resume` on 3 ranks trains the
    remaining epochs."""
    out = tmp_path / "run"
    args = ["lenet5", "--epochs", "4", "--limit-train", "24000", "--limit-test", "500"]
    args += ["--out", str(out), "--verbose", "2"]
    job = subprocess.Popen(
        _cli(2, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_environment()
    )
    ckpt = out / "checkpoint.npz"
    deadline = time.monotonic() + 180
    while not ckpt.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ckpt.exists(), job.communicate(timeout=60)[1].decode()[-3000:]
    pid = _rank_pid(str(out), 1)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    try:
        job.wait(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
    assert time.monotonic() - killed < 30
    assert job.returncode != 0
    job.communicate()

    from cnnfast import models, optim
    from cnnfast.training.run import read_checkpoint

    model = models.get("lenet5", seed=0)
    state = read_checkpoint(ckpt, model, optim.get("adam", model.parameters()))
    assert 1 <= len(state.history) < 4

    resumed = subprocess.run(
        _cli(3, *args, "--resume"), capture_output=True, text=True, timeout=600,
        env=_environment(),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"after epoch {len(state.history)}" in resumed.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 4 and metrics["ranks"] == 3
    history = json.loads((out / "history.json").read_text())
    assert len(history["history"]["val_accuracy"]) == 4
    assert metrics["test_accuracy"] > 0.9


@needs_mpi
def test_cli_under_mpiexec_matches_one_process(mnist, tmp_path):
    """`mpiexec -n 2 cnnfast train` prints once, writes the run once (rank 0) and
    reports what one process reports (lenet5 has no dropout: the same steps)."""
    common = ["lenet5", "--epochs", "2", "--limit-train", "3000", "--limit-test", "400"]
    runs = {}
    for n in (0, 2):
        out = tmp_path / f"run{n}"
        done = subprocess.run(
            _cli(n, *common, "--out", str(out), "--verbose", "2"),
            capture_output=True, text=True, timeout=300, env=_environment(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.count("Epoch 1/2") == 1
        assert done.stdout.count("test accuracy") == 1
        runs[n] = json.loads((out / "metrics.json").read_text())
        assert not list(out.glob(".*.tmp"))
    assert runs[2]["ranks"] == 2
    assert runs[2]["test_accuracy"] == pytest.approx(runs[0]["test_accuracy"], abs=2.5e-3)
    assert runs[2]["test_loss"] == pytest.approx(runs[0]["test_loss"], rel=1e-3)


@needs_mpi
def test_keras_script_runs_unchanged_under_mpiexec(tmp_path):
    """A Keras-front script with fit, a ModelCheckpoint, evaluate and print: under
    mpiexec its output appears once, the checkpoint is written once, and the
    history is one process's."""
    script = tmp_path / "keras_script.py"
    script.write_text(
        "import sys, json\n"
        "import numpy as np\n"
        "from cnnfast.keras import callbacks, layers, utils\n"
        "from cnnfast.keras.models import Sequential\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.random((96, 8, 8, 1)).astype('float32')\n"
        "y = utils.to_categorical(rng.integers(0, 3, 96), 3)\n"
        "import cnnfast as cf\n"
        "cf.manual_seed(1)\n"
        "model = Sequential([layers.Conv2D(4, 3, activation='relu', "
        "input_shape=(8, 8, 1)), layers.Flatten(), layers.Dense(3, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='categorical_crossentropy', "
        "metrics=['accuracy'])\n"
        f"ckpt = callbacks.ModelCheckpoint({str(tmp_path / 'best.hdf5')!r}, "
        "save_best_only=True, monitor='val_loss')\n"
        "h = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, "
        "callbacks=[ckpt], verbose=2)\n"
        "print('loss', json.dumps(h.history['loss']))\n"
        "print('evaluate', json.dumps(model.evaluate(x, y, verbose=0)))\n"
    )
    outputs = []
    for n in (0, 2):
        cmd = [sys.executable, str(script)]
        done = subprocess.run(
            [MPIEXEC, "-n", str(n), *cmd] if n else cmd,
            capture_output=True, text=True, timeout=240, env=_environment(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.count("loss [") == 1, done.stdout
        assert done.stdout.count("Epoch 1/2") == 1
        assert (tmp_path / "best.hdf5").exists()
        outputs.append(
            {line.split()[0]: json.loads(line.split(maxsplit=1)[1])
             for line in done.stdout.splitlines() if line.startswith(("loss ", "evaluate "))}
        )  # fmt: skip
        (tmp_path / "best.hdf5").unlink()
    np.testing.assert_allclose(outputs[1]["loss"], outputs[0]["loss"], rtol=1e-5)
    np.testing.assert_allclose(outputs[1]["evaluate"], outputs[0]["evaluate"], rtol=1e-5)


# --- a plain run: one rank, no MPI --------------------------------------------------------


def test_plain_run_is_one_rank_and_never_imports_mpi4py():
    code = (
        "import sys, numpy as np, cnnfast as cf\n"
        "from cnnfast import distributed as dist, nn, optim\n"
        "from cnnfast.training import fit\n"
        "net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))\n"
        "x = np.random.default_rng(0).random((8, 1, 2, 2), dtype=np.float32)\n"
        "fit(net, optim.SGD(net.parameters()), x, np.zeros(8, np.int64), 4, verbose=0)\n"
        "assert (dist.rank(), dist.size(), dist.is_root()) == (0, 1, True)\n"
        "assert dist.shard_bounds(10) == (0, 10)\n"
        "assert (dist.allreduce(np.ones(3)) == 1).all()\n"
        "print('mpi4py' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_environment()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "False"


def test_launched_without_mpi4py_says_what_to_install():
    code = (
        "import sys\n"
        "sys.modules['mpi4py'] = None\n"  # as if it were not installed
        "from cnnfast import distributed as dist\n"
        "assert dist.launched()\n"
        "try:\n"
        "    dist.ensure_initialized()\n"
        "except dist.DistributedError as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_environment({"PMI_SIZE": "2", "PMI_RANK": "0"}),
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'cnnfast[mpi]'" in done.stdout


@pytest.mark.parametrize("n", [0, 1, 5, 16, 17])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_shards_cover_a_batch_once(n, size):
    parts = [dist.shard_bounds(n, r, size) for r in range(size)]
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    lengths = [hi - lo for lo, hi in parts]
    assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_backward_finishes_each_leaf_when_its_last_consumer_has_run():
    """The post-accumulate hook of the first layer's weight runs after the last
    layer's; each leaf's hook sees its final gradient, once per backward."""
    w1 = cf.tensor(np.ones((3, 3), np.float32), requires_grad=True)
    w2 = cf.tensor(np.full((3, 3), 2.0, np.float32), requires_grad=True)
    x = cf.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    seen: list[tuple[str, np.ndarray]] = []
    w1.register_post_accumulate_grad_hook(lambda t: seen.append(("w1", t.grad.copy())))
    handle = w2.register_post_accumulate_grad_hook(lambda t: seen.append(("w2", t.grad.copy())))
    h = x @ w1
    loss = ((h @ w2) * (h @ w2)).sum() + (h * w1.sum()).sum()  # w1 used twice, late
    loss.backward()
    assert [name for name, _ in seen] == ["w2", "w1"]
    np.testing.assert_array_equal(seen[0][1], w2.grad)
    np.testing.assert_array_equal(seen[1][1], w1.grad)
    handle.remove()
    seen.clear()
    loss.backward()  # accumulates; only w1's hook is left
    assert [name for name, _ in seen] == ["w1"]


def test_distributed_optimizer_alone_is_its_inner_optimizer():
    from cnnfast import nn, optim

    net = nn.Sequential(nn.Linear(3, 2))
    inner = optim.SGD(net.parameters(), lr=0.5)
    opt = dist.DistributedOptimizer(inner, net, bucket_bytes=8)
    assert opt.lr == 0.5 and opt.params is inner.params
    opt.lr = 0.25
    assert inner.lr == 0.25
    assert [len(b.params) for b in opt.buckets] == [1, 1]  # bias, then weight
    with pytest.raises(TypeError, match="already distributed"):
        dist.DistributedOptimizer(opt)
    with pytest.raises(ValueError, match="bucket_bytes"):
        dist.DistributedOptimizer(inner, bucket_bytes=0)
    other = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"parameters \[0, 1\] are not the model's"):
        dist.DistributedOptimizer(optim.SGD(other.parameters()), net)
