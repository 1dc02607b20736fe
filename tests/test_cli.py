"""The `cnnfast` command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnnfast.cli import main


def test_info_prints_the_build(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "isa" in out and "threads" in out and "cuda_available" in out
    assert main(["info", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["threading"] in ("thread pool", "single-threaded build")
    assert shown["spin_us"] == "adaptive" or shown["spin_us"].endswith("(CNNFAST_SPIN_US)")


@pytest.mark.kernels
def test_check_passes_and_prints_a_table(capsys):
    assert main(["check", "--cases", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for op in (
        "conv2d_backward_weight",
        "max_pool2d",
        "matmul",
        "cross_entropy",
        "local_response_norm",
    ):
        assert op in out
    assert "FAIL" not in out and " 0 failed" in out


def test_check_exits_nonzero_on_a_failure(capsys, monkeypatch):
    from cnnfast import ops

    monkeypatch.setattr(ops, "relu", lambda x: x)  # a broken kernel
    assert main(["check", "--cases", "1"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_check_on_the_cuda_backend(capsys, cuda_device):
    """--device cuda runs the same checks, with the same bounds, on the CUDA kernels
    (the emulator here), and names the backend in the table."""
    from cnnfast.cuda import backends

    assert main(["check", "--cases", "1", "--device", cuda_device]) == 0
    out = capsys.readouterr().out
    assert backends.backend().name in out and "batch_norm_train" in out and " 0 failed" in out


def test_check_on_cuda_without_a_backend_says_what_to_do(capsys, monkeypatch):
    from cnnfast.cuda import backends, status

    if status.is_built() and status.device_count() > 0:
        pytest.skip("a GPU is present")
    monkeypatch.delenv("CNNFAST_CUDA_EMULATE", raising=False)
    monkeypatch.setattr(backends, "_chosen", None)
    assert main(["check", "--cases", "1", "--device", "cuda"]) == 2
    assert "CNNFAST_CUDA_EMULATE=1" in capsys.readouterr().err


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "cnnfast", "info"], capture_output=True, text=True, check=True
    ).stdout
    assert "version" in out
