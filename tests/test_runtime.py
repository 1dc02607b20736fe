"""The runtime around the kernels: info, threads, SIMD paths, the GIL, the _C stub."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _C
from helpers import stub_functions


def test_info_reports_the_build():
    info = cf.info()
    assert info["version"] == cf.__version__ != ""
    assert info["isa"] in info["supported_isas"]
    assert info["supported_isas"][0] == "generic"
    assert info["threads"] == cf.get_num_threads() >= 1
    assert isinstance(info["cuda_built"], bool) and isinstance(info["cuda_available"], bool)
    assert info["cuda_available"] <= info["cuda_built"]  # test_cuda_build.py checks the rest
    assert set(info["gemm_ukernels"]) == {"float32", "float64"}


def test_set_num_threads_round_trips():
    before = cf.get_num_threads()
    try:
        cf.set_num_threads(1)
        assert cf.get_num_threads() == 1
        cf.set_num_threads(3)
        assert cf.get_num_threads() == (3 if _C.threads_enabled() else 1)
    finally:
        cf.set_num_threads(before)


def test_thread_count_is_seen_from_other_python_threads():
    before = cf.get_num_threads()
    seen = []
    try:
        cf.set_num_threads(1)
        t = threading.Thread(target=lambda: seen.append(cf.get_num_threads()))
        t.start()
        t.join()
    finally:
        cf.set_num_threads(before)
    assert seen == [1]


def test_environment_sets_threads_and_isa():
    code = "import cnnfast; print(cnnfast.get_num_threads(), cnnfast.info()['isa'])"
    env = {"CNNFAST_NUM_THREADS": "1", "CNNFAST_ISA": "generic", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[-2:] == ["1", "generic"]


def test_every_isa_can_be_forced_and_reports_its_microkernel():
    before = _C.get_isa()
    try:
        for isa in _C.supported_isas():
            _C.set_isa(isa)
            assert cf.info()["isa"] == isa
            assert all(isa in name for name in _C.gemm_ukernel_names())
    finally:
        _C.set_isa(before)
    with pytest.raises(ValueError, match="unknown ISA"):
        _C.set_isa("sse9")


@pytest.mark.kernels
def test_kernels_release_the_gil_and_are_thread_safe(rng):
    """Several Python threads run kernels at once (each needs the GIL released to
    overlap) and each gets the right answer."""
    x = rng.standard_normal((4, 8, 24, 24)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    expected = cf.ops.conv2d(x, w, padding=1)
    errors: list[str] = []

    def work() -> None:
        for _ in range(5):
            if not np.array_equal(cf.ops.conv2d(x, w, padding=1), expected):
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def _param_names(params: str) -> tuple[str, ...]:
    """Names in a pybind11 parameter list such as 'a: NDArray[float32], b: bool = False'."""
    names, depth, start = [], 0, 0
    for i, ch in enumerate(params + ","):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append(params[start:i].split(":")[0].strip())
            start = i + 1
    return tuple(n for n in names if n)


def _module_signatures(module: Any) -> dict[str, set[tuple[str, ...]]]:
    """Parameter names of every signature pybind11 documents for each function."""
    sigs: dict[str, set[tuple[str, ...]]] = {}
    for name in dir(module):
        fn = getattr(module, name)
        if name.startswith("_") or not callable(fn) or isinstance(fn, type):
            continue
        for m in re.finditer(rf"^(?:\d+\. )?{name}\((.*)\) ->", fn.__doc__ or "", re.MULTILINE):
            sigs.setdefault(name, set()).add(_param_names(m.group(1)))
    return sigs


def test_stub_matches_the_module():
    stub, module = stub_functions(), _module_signatures(_C)
    assert set(stub) == set(module), set(stub) ^ set(module)
    for name, params in stub.items():
        assert module[name] == {tuple(params)}, (name, params, module[name])


def _stub_class(name: str) -> dict[str, list[str]]:
    """Methods (without self) of a class in _C.pyi, its bases' included."""
    tree = ast.parse(Path(cf.__file__).with_name("_C.pyi").read_text())
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    out: dict[str, list[str]] = {}
    node = classes[name]
    for base in node.bases:
        out.update(_stub_class(base.id))  # type: ignore[attr-defined]
    for f in node.body:
        if isinstance(f, ast.FunctionDef):
            out[f.name] = [a.arg for a in f.args.args][1:]
    return out


def test_stub_types_the_cuda_submodules():
    """_C.pyi's CudaBackend / CudaEmulated: every function of the backend submodules,
    with its parameter names (the bindings name each one)."""
    builds = [("CudaEmulated", _C.cuda_emulated)]
    if _C.cuda_built:
        builds.append(("CudaBackend", _C.cuda_device))
    for cls, module in builds:
        stub, sigs = _stub_class(cls), _module_signatures(module)
        assert set(stub) == set(sigs), (cls, set(stub) ^ set(sigs))
        for name, params in stub.items():
            assert sigs[name] == {tuple(params)}, (cls, name, params, sigs[name])
        assert not any(p.startswith("arg") for ps in stub.values() for p in ps)


def test_import_needs_only_numpy():
    """tqdm and matplotlib (the `train` extra) load only when a run needs them."""
    code = (
        "import sys, cnnfast; bad = [m for m in ('matplotlib', 'tqdm', 'torch') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout


def test_share_openmp_runtime_takes_only_a_loaded_runtime():
    """An OpenMP runtime is looked up in the process, never loaded (cnnfast.torch
    passes PyTorch's; tests/test_torch_accelerate.py runs kernels on it)."""
    assert cf.share_openmp_runtime(None) is None and cf.shared_openmp_runtime() is None
    assert cf.info()["openmp_runtime"] is None
    with pytest.raises(TypeError, match="path"):
        cf.share_openmp_runtime(3)
    if cf._C.threads_enabled():
        with pytest.raises(ValueError, match=r"/nowhere/libgomp\.so\.1 is not loaded"):
            cf.share_openmp_runtime("/nowhere/libgomp.so.1")
        libc = next(p for p in _mapped_libraries() if "libc.so" in p)
        with pytest.raises(ValueError, match="has no GOMP_parallel"):
            cf.share_openmp_runtime(libc)
    assert cf.shared_openmp_runtime() is None  # (a refusal changes nothing)


def _mapped_libraries() -> set[str]:
    with open("/proc/self/maps") as f:
        return {line.split(None, 5)[-1].strip() for line in f if ".so" in line}
