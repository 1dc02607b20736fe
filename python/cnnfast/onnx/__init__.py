"""cnnfast.onnx: models as ONNX files, for ONNX Runtime and the other runtimes that
deploy them (the `onnx` extra: pip install 'cnnfast[onnx]'; imported at the first
export, not here).

    cnnfast.onnx.export(model, "net.onnx", input_shape=(1, 28, 28))

exports an nn model (nn.Sequential, the zoo's nets and blocks) or a cnnfast.keras
model in eval mode: opset 17, float32, a symbolic batch. exporter.py says what is
written and checked; graph.py, layers.py and blocks.py how each module becomes ONNX
nodes.
"""

from __future__ import annotations

from typing import Any

from .graph import ExportError

__all__ = ["IR_VERSION", "OPSET", "ExportError", "export", "to_onnx"]


def __getattr__(name: str) -> Any:
    # The converters (and with them cnnfast.keras, for its functional graph) load at
    # the first use, not when the CLI imports ExportError to report one.
    if name in __all__:
        from . import exporter

        return getattr(exporter, name)
    raise AttributeError(f"module 'cnnfast.onnx' has no attribute {name!r}")
