"""The CUDA backend: the kernels of csrc/cuda/*.cuh on DeviceArrays, one module per op
family (interface.FAMILIES) as in `cnnfast.ops`; the functions and their parameters are
`backend.interface.Backend`'s. Each allocates its outputs and passes device addresses
and sizes to the backend module (csrc/bindings/cuda_backend.h), the GPU build or the
host emulator (cnnfast.cuda.backends chooses). Imported on the first device array.
"""

from ..interface import assemble

name = "cuda"
__all__ = assemble(globals(), __name__)
