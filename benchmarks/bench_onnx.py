"""Inference of the lecture nets against ONNX Runtime: `cnnfast bench onnx` (bench/onnx.py)."""

from cnnfast.bench.onnx import main

if __name__ == "__main__":
    main()
