"""DLPack exchange of device arrays without copies. On the emulator, device memory is
host memory, exported as DLPack's kDLCPU: NumPy (and PyTorch's CPU tensors) stand in
for CUDA consumers. On a GPU, PyTorch's CUDA tensors are the peer (skipped without)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.cuda import DeviceArray, from_dlpack


@pytest.fixture
def host_is_device(cuda_device) -> None:
    if not cf.cuda.is_emulated():
        pytest.skip("on a GPU the peer is a CUDA tensor (see test_torch_cuda_round_trip)")


def test_export_to_numpy_shares_memory(host_is_device, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    d = DeviceArray.from_numpy(x)
    view = np.from_dlpack(d)
    np.testing.assert_array_equal(view, x)
    d[...] = np.zeros_like(x)  # written through the device array ...
    assert not view.any()  # ... seen through the view: one buffer
    assert d.__dlpack_device__() == (1, 0)


def test_import_from_numpy_shares_memory_and_keeps_it_alive(host_is_device, rng):
    x = rng.standard_normal((2, 5))
    d = from_dlpack(x)
    assert type(d) is DeviceArray and d.shape == (2, 5) and d.dtype == np.float64
    x[0, 0] = 42.0
    assert d.numpy()[0, 0] == 42.0
    del x  # the DeviceArray keeps the exporter's memory alive
    assert d.numpy()[0, 0] == 42.0
    t = cf.Tensor(from_dlpack(np.arange(6, dtype=np.int64)))
    assert t.device == "cuda" and t.data.numpy().tolist() == list(range(6))


def test_device_ops_run_on_imported_memory(host_is_device, rng):
    x = rng.standard_normal((4, 7)).astype(np.float32)
    y = cf.ops.relu(from_dlpack(x))
    np.testing.assert_array_equal(y.numpy(), np.maximum(x, 0))


def test_import_refuses_strided_and_foreign_devices(host_is_device, rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="C-contiguous"):
        from_dlpack(x[:, ::2])
    with pytest.raises(TypeError, match="does not support DLPack"):
        from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="unsupported dtype"):
        from_dlpack(x.astype(np.float16))


def test_torch_round_trip(cuda_device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 2)).astype(np.float32)
    d = DeviceArray.from_numpy(x)
    if cf.cuda.is_emulated():
        t = torch.from_dlpack(d)  # a CPU tensor on the same memory
    else:
        if not torch.cuda.is_available():
            pytest.skip("PyTorch has no CUDA here")
        t = torch.from_dlpack(d)
        assert t.is_cuda
    t.mul_(2)
    np.testing.assert_array_equal(d.numpy(), 2 * x)
    back = from_dlpack(t)
    np.testing.assert_array_equal(back.numpy(), 2 * x)
