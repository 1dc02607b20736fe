"""cnnfast's benchmark suite, run as `cnnfast bench SUITE` (or benchmarks/bench_*.py):

    peak   the float32 FMA ceiling of this machine, measured in-process
    gemm   sgemm at 512/1024/2048 against NumPy's BLAS and PyTorch
    ops    conv2d (forward, backward-input, backward-weight) and pooling on every
           zoo layer shape, against PyTorch and the NumPy reference
    nets   one training step (and inference) of the lecture nets against PyTorch
    tiny   one call on a 1x1x8x8 tensor (conv, pool, relu) against PyTorch's eager call
    cuda   the CUDA kernels on a GPU against PyTorch's cuBLAS/cuDNN (needs a GPU)
    contention  a training step beside 0, 1 and 2 busy processes, 1 and 2 threads,
           cnnfast (its waiting and the runtime's spinning default) and PyTorch
    nonfinite  what conv2d's scans for non-finite values cost a training step
    images a CIFAR-10 (JPEG) epoch with its input pipeline (decoding, augmentation)
           against PyTorch with torchvision's ImageFolder and transforms
    accelerate  the lecture nets in torch.nn: PyTorch eager, after
           cnnfast.torch.accelerate, torch.compile, and cnnfast's engine; per-call costs
    distributed  training steps on 1, 2, ... MPI ranks, allreduce latency and bandwidth,
           the communication backward hides, a model of N machines (needs cnnfast[mpi])
    roofline  each pass of each zoo layer as GFLOP/s against the FMA peak, or as GB/s
           against a plain copy's bandwidth (both measured in-process)
    onnx   inference of the lecture nets, cnnfast against ONNX Runtime on the graph
           cnnfast.onnx exports (needs onnx and onnxruntime)

Every suite verifies cnnfast's results before timing them, runs the peers in the same
process on the same thread count, interleaved, and reports medians (timing.py).
"""

from __future__ import annotations

SUITES = (
    "peak",
    "gemm",
    "ops",
    "nets",
    "tiny",
    "cuda",
    "contention",
    "nonfinite",
    "images",
    "accelerate",
    "distributed",
    "onnx",
    "roofline",
)
