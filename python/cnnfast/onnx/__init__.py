"""cnnfast.onnx: models as ONNX files, for ONNX Runtime and the other runtimes that
deploy them (the `onnx` extra: pip install 'cnnfast[onnx]'; imported at the first
export, not here).

    cnnfast.onnx.export(model, "net.onnx", input_shape=(1, 28, 28))

exports an nn model (nn.Sequential, the zoo's nets and blocks) or a cnnfast.keras
model in eval mode: opset 17, float32, a symbolic batch. exporter.py says what is
written and checked; graph.py, layers.py and blocks.py how each module becomes ONNX
nodes.
"""

from .exporter import IR_VERSION, OPSET, ExportError, export, to_onnx

__all__ = ["IR_VERSION", "OPSET", "ExportError", "export", "to_onnx"]
