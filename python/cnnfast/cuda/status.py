"""The CUDA build's status: what was compiled and what the runtime reports.

cnnfast builds its CUDA kernels when nvcc is present (CMake option CNNFAST_CUDA =
AUTO | ON | OFF); the CUDA runtime is linked statically, so this module imports, and
reports no device, on machines without a driver or GPU. The same kernel source also
runs on a host emulator of the CUDA execution model (`cnnfast._C.cuda_emulated`),
which is how the kernels are tested where no GPU exists.
"""

from __future__ import annotations

from .. import _C


def is_built() -> bool:
    """Whether this build contains the device kernels (nvcc was there at build time)."""
    return bool(_C.cuda_built)


def device_count() -> int:
    """GPUs the CUDA runtime can use: 0 without a build, a driver or a device."""
    return int(_C.cuda_device_count())


def device_names() -> list[str]:
    """Each usable GPU's name and compute capability, e.g. 'NVIDIA A100 (sm_80)'."""
    return list(_C.cuda_device_names())


def versions() -> tuple[int, int]:
    """(CUDA runtime, driver) versions as the runtime reports them (e.g. 13000); the
    driver's is 0 where none is installed, both are 0 without a device build."""
    runtime, driver = _C.cuda_versions()
    return int(runtime), int(driver)
