"""`cnnfast bench`: every suite runs end to end on tiny settings, verifies before it
times, and writes JSON. (Speed itself is measured in benchmarks/, not asserted here.)"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.bench import contention, gemm, nets, nonfinite, ops, ops_normalization, peak, tiny
from cnnfast.cli import main


def test_peak_is_positive_and_names_the_path(capsys):
    assert main(["bench", "--peak"]) == 0
    assert "FMA peak" in capsys.readouterr().out
    p = peak.measure(seconds=0.01, repeats=1)
    assert p["gflops"] > 0 and p["threads"] >= 1 and p["isa"] in ("avx2", "generic")


def test_the_machine_line_names_the_cpu_vector_width():
    from cnnfast.bench.timing import cpu_vector_isa, machine_line

    isa = cpu_vector_isa()
    assert isa in ("avx512f", "avx2", "sse4_2", "")
    line = machine_line()
    assert f"({cf.info()['isa']})" in line
    if isa:  # what the peers' kernels may use, beside what cnnfast's use
        assert f" with {isa}, " in line


def test_gemm_suite_reports_every_peer(tmp_path, capsys):
    out = tmp_path / "gemm.json"
    assert main(["bench", "gemm", "--sizes", "64,96", "--reps", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [r["n"] for r in result["rows"]] == [64, 96]
    assert {"cnnfast", "numpy"} <= set(result["rows"][0]["median_s"])
    assert "vs numpy" in capsys.readouterr().out


def test_ops_suite_on_one_layer(tmp_path):
    out = tmp_path / "ops.json"
    rows = ops.main(["--only", "keras-mnist-2conv", "--quick", "--json", str(out)])
    names = {r.op for r in rows}
    assert {"conv2d forward", "conv2d backward_weight", "max_pool2d fwd+bwd"} <= names
    assert json.loads(out.read_text())["rows"][0]["median_s"]["cnnfast"] > 0


def test_ops_suite_has_the_normalising_ops_of_the_zoo():
    """Cross-entropy at every net's output, batch norm at resnet-blocks' BatchNorm
    layers (nested in its residual blocks), LRN at AlexNet's, with their shapes."""
    shapes = ops_normalization.zoo_norm_shapes()
    kinds = {(s.net, s.kind, s.x, s.size) for s in shapes}
    assert ("lenet5", "cross_entropy", (128, 10), 0) in kinds
    assert ("resnet-blocks", "batch_norm", (128, 16, 32, 32), 0) in kinds
    assert ("alexnet", "lrn", (8, 96, 27, 27), 5) in kinds
    rng = np.random.default_rng(0)
    for s in (
        ops_normalization.NormShape("t", "cross_entropy", (16, 10)),
        ops_normalization.NormShape("t", "batch_norm", (4, 3, 5, 5)),
        ops_normalization.NormShape("t", "lrn", (2, 7, 5, 5), 5),
    ):
        rows = ops_normalization.bench_norm(s, 1, rng, quick=False)
        assert rows and all(r.times["cnnfast"] > 0 and "numpy-ref" in r.times for r in rows)


def test_nets_suite_on_a_small_batch(capsys):
    rows = nets.main(["--nets", "lenet5", "--steps", "1", "--rounds", "1", "--batch", "8"])
    assert rows[0]["net"] == "lenet5" and rows[0]["images_per_s"]["cnnfast"] > 0
    # (a step's outputs come from the block cache: its peak is at least the first
    # convolution's output, 8 x 6 x 28 x 28 float32, and far below a GiB)
    assert 8 * 6 * 28 * 28 * 4 <= rows[0]["peak_bytes"] < 2**30
    assert "peak MiB" in capsys.readouterr().out


def test_tiny_suite_times_every_op(tmp_path, capsys):
    out = tmp_path / "tiny.json"
    assert main(["bench", "tiny", "--calls", "20", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {"conv2d 3x3", "max_pool2d 2x2", "relu"}
    assert all(r["cnnfast"] > 0 for r in rows.values())
    assert "vs torch" in capsys.readouterr().out
    slept = tiny.median_call_us(lambda: time.sleep(2e-4), 5)  # (after 1000 warm-up calls)
    assert 150 < slept < 50_000


def test_a_wrong_result_stops_the_benchmark(monkeypatch):
    from cnnfast import ops as cf_ops

    monkeypatch.setattr(cf_ops, "matmul", lambda a, b, *args, **kw: a @ b + 1)
    with pytest.raises(SystemExit, match="disagrees"):
        gemm.main(["--sizes", "32", "--reps", "1"])


def test_bench_without_a_suite_says_what_to_do():
    with pytest.raises(SystemExit, match="name a suite"):
        main(["bench"])


def test_cuda_suite_without_a_gpu_says_so_and_times_nothing(capsys):
    if cf.cuda.is_built() and cf.cuda.device_count() > 0:
        pytest.skip("a GPU is here: the suite would time it")
    assert main(["bench", "cuda", "--reps", "2"]) == 0
    assert "no CUDA device here" in capsys.readouterr().out


def test_contention_suite_with_one_neighbour(tmp_path, capsys):
    out = tmp_path / "contention.json"
    args = ["--net", "lenet5", "--batch", "8", "--steps", "1", "--rounds", "1"]
    args += ["--neighbours", "0,1", "--threads", "1,2", "--peers", "cnnfast,cnnfast@0"]
    rows = contention.main([*args, "--json", str(out)])
    assert {(r["peer"], r["threads"], r["neighbours"]) for r in rows} == {
        (p, t, k) for p in ("cnnfast", "cnnfast@0") for t in (1, 2) for k in (0, 1)
    }
    assert all(r["step_s"] > 0 for r in rows)
    one = next(r for r in rows if (r["peer"], r["threads"], r["neighbours"]) == ("cnnfast", 2, 1))
    assert one["fair"] == contention.fair_slowdown(2, 1, contention.cores())
    assert json.loads(out.read_text()) == rows
    shown = capsys.readouterr().out
    assert "vs fair" in shown and "against cnnfast@0" in shown
    assert contention.fair_slowdown(2, 1, 2) == 2.0 and contention.fair_slowdown(1, 1, 2) == 1.0


def test_contention_spin_sweep(capsys):
    args = ["--net", "lenet5", "--batch", "8", "--steps", "2", "--neighbours", "0"]
    rows = contention.main([*args, "--threads", "2", "--spin-sweep=-1,0"])
    assert rows[0]["threads"] == 2 and set(rows[0]["step_s"]) == {-1, 0}
    assert "adaptive" in capsys.readouterr().out


def test_contention_names_an_unknown_peer():
    with pytest.raises(SystemExit, match="unknown peer 'tensorflow'"):
        contention.main(["--peers", "tensorflow", "--rounds", "1"])


def test_nonfinite_suite_times_both_ways_and_leaves_the_scans_on(capsys):
    rows = nonfinite.main(["--nets", "lenet5", "--batch", "4", "--steps", "2"])
    assert rows[0]["scans_on_s"] > 0 and rows[0]["scans_off_s"] > 0
    assert cf._C.nonfinite_scans()
    assert "lenet5" in capsys.readouterr().out


def test_torch_twins_take_the_padding_their_ops_resolve():
    """'same' with a stride (asymmetric padding) and a 3x3 stride-2 'same' max pool:
    the twin must compute what cnnfast computes (the padding comes from the ops'
    own argument parsing, not a stride-1 guess)."""
    torch = pytest.importorskip("torch")

    cf.random.manual_seed(0)
    model = cf.nn.Sequential(
        cf.nn.Conv2d(2, 3, 3, stride=2, padding="same"),
        cf.nn.MaxPool2d(3, 2, padding="same"),
        cf.nn.Conv2d(3, 2, (2, 3), padding="same", dilation=2),
    )
    twin = nets.to_torch(model, (2, 9, 10))
    x = np.random.default_rng(0).standard_normal((2, 2, 9, 10)).astype(np.float32)
    with cf.no_grad(), torch.no_grad():
        ours, theirs = model(cf.tensor(x)).data, twin(torch.from_numpy(x)).numpy()
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_torch_twin_of_residual_blocks_and_batch_norm():
    """resnet-blocks' twin computes what cnnfast computes, with the batch's statistics
    (training) and with the running ones after a step has moved them (eval); making
    the twin leaves the model's running statistics where they were."""
    torch = pytest.importorskip("torch")

    model = cf.models.get("resnet-blocks", seed=0)
    x = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
    with cf.no_grad():
        model(cf.tensor(x))  # a training-mode pass: the running statistics move
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    twin = nets.to_torch(model, (3, 32, 32))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert model.training
    for train in (True, False):
        model.train(train)
        twin.train(train)
        with cf.no_grad(), torch.no_grad():
            ours, theirs = model(cf.tensor(x)).data, twin(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_accelerate_suite_times_every_peer(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "accelerate.json"
    argv = ["bench", "accelerate", "--nets", "lenet5", "--steps", "1", "--rounds", "1",
            "--batch", "8", "--inference", "--no-compile", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert [(r["net"], r["mode"]) for r in data["rows"]] == [
        ("lenet5", "train"), ("lenet5", "inference")
    ]  # fmt: skip
    for r in data["rows"]:
        assert set(r["images_per_s"]) == {"torch", "accelerate", "cnnfast"}
    assert data["overhead_us"]["cnnfast.torch.conv2d fwd+bwd"] > 0
    assert "accel/torch" in capsys.readouterr().out


def test_distributed_suite_on_one_and_two_ranks(tmp_path, capsys):
    pytest.importorskip("mpi4py", reason="needs the mpi extra: pip install 'cnnfast[mpi]'")
    from cnnfast.bench import distributed

    out = tmp_path / "dist.json"
    argv = ["--nets", "lenet5", "--ranks", "1,2", "--rounds", "1", "--steps", "1"]
    results = distributed.main([*argv, "--json", str(out)])
    one, two = results[1], results[2]
    assert one["ranks"] == 1 and two["ranks"] == 2 and two["threads"] >= 1
    assert [r["bytes"] for r in two["allreduce"]] == distributed.SIZES
    assert all(r["seconds"] > 0 for r in two["allreduce"])
    net = two["nets"][0]
    assert net["part"] == 64 and net["grad_bytes"] == 4 * net["params"]
    assert 0 <= net["hidden_fraction"] <= 1 and net["comm"] > 0 and net["wait"] >= 0
    (row,) = distributed.model_rows(one, two)
    for cell in row["cells"].values():
        assert 0 < cell["weak"] <= 1 and cell["strong"] > 0 and cell["comm"] > 0
    assert "Model: one rank per machine" in capsys.readouterr().out
    assert json.loads(out.read_text())["results"]["2"]["ranks"] == 2


def test_onnx_suite_verifies_then_times(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from cnnfast.bench import onnx as onnx_suite

    monkeypatch.setattr(onnx_suite, "PAUSE", 0.0)
    out = tmp_path / "onnx.json"
    argv = ["bench", "onnx", "--nets", "lenet5,resnet-blocks", "--batches", "4,1",
            "--rounds", "1", "--calls", "1", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["net"], r["batch"]) for r in rows] == [
        ("lenet5", 4), ("resnet-blocks", 4), ("lenet5", 1), ("resnet-blocks", 1)
    ]  # fmt: skip
    assert all(r["cnnfast"] > 0 and r["onnxruntime"] > 0 and r["max_rel_diff"] < 1e-4 for r in rows)
    assert "cnnfast/ORT" in capsys.readouterr().out


def test_roofline_suite_sets_each_pass_against_its_ceiling(tmp_path, capsys):
    out = tmp_path / "roofline.json"
    argv = ["bench", "roofline", "--nets", "lenet5,resnet-blocks", "--reps", "1",
            "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert data["meta"]["fma_gflops"] > 0 and data["meta"]["copy_512mb_gb_per_s"] > 0
    ops = {r["op"] for r in data["rows"]}
    assert {"conv2d forward", "conv2d backward_weight", "avg_pool2d backward", "relu forward",
            "dropout backward", "batch_norm train forward"} <= ops  # fmt: skip
    for r in data["rows"]:
        assert r["seconds"] > 0 and r["fraction"] > 0
        assert ("gflops" in r) == r["op"].startswith("conv2d")
    assert "of ceiling" in capsys.readouterr().out
