"""`cnnfast bench`: every suite runs end to end on tiny settings, verifies before it
times, and writes JSON. (Speed itself is measured in benchmarks/, not asserted here.)"""

from __future__ import annotations

import json

import pytest

import cnnfast as cf
from cnnfast.bench import gemm, nets, ops, peak, tiny
from cnnfast.cli import main


def test_peak_is_positive_and_names_the_path(capsys):
    assert main(["bench", "--peak"]) == 0
    assert "FMA peak" in capsys.readouterr().out
    p = peak.measure(seconds=0.01, repeats=1)
    assert p["gflops"] > 0 and p["threads"] >= 1 and p["isa"] in ("avx2", "generic")


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


def test_nets_suite_on_a_small_batch(capsys):
    rows = nets.main(["--nets", "lenet5", "--steps", "1", "--rounds", "1", "--batch", "8"])
    assert rows[0]["net"] == "lenet5" and rows[0]["images_per_s"]["cnnfast"] > 0
    assert rows[0]["peak_bytes"] >= 0
    assert "peak MiB" in capsys.readouterr().out


def test_tiny_suite_times_every_op(tmp_path, capsys):
    out = tmp_path / "tiny.json"
    assert main(["bench", "tiny", "--calls", "20", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {"conv2d 3x3", "max_pool2d 2x2", "relu"}
    assert all(r["cnnfast"] > 0 for r in rows.values())
    assert "vs torch" in capsys.readouterr().out
    assert tiny.median_call_us(lambda: None, 5) >= 0


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
