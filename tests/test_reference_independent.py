"""The NumPy twins stand on their own: `import cnnfast.reference` loads no C extension
and none of the kernels' argument parsing, the reference reads strides, paddings and
output sizes with its own code (reference/_geometry.py), and production code never
calls the reference."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import _args
from cnnfast.reference import _geometry

PACKAGE = Path(cf.__file__).resolve().parent


def test_the_reference_imports_and_computes_without_the_c_extension():
    code = "\n".join(
        [
            "import sys, numpy as np",
            "import cnnfast.reference as r",
            "y = r.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), stride=2, padding='same')",
            "p = r.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 3, 2, ceil_mode=True)",
            "loaded = sorted(m for m in sys.modules if m.startswith('cnnfast'))",
            "assert 'cnnfast._C' not in loaded and 'cnnfast._args' not in loaded, loaded",
            "print(y.shape, float(y[0, 0, 0, 0]), p.ravel().tolist())",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()[-1]
    # 'same' at stride 2 pads (0, 1) on a 5-plane: the first window sees 2 x 2 x 2 ones
    assert out == "(1, 3, 3, 3) 8.0 [10.0, 11.0, 14.0, 15.0]"


CONV_CASES = list(
    itertools.product(
        [(1, 1), (5, 7), (8, 8), (13, 4)],
        [(1, 1), (3, 3), (2, 5)],
        [1, 2, (3, 1)],
        [1, (2, 1)],
        [0, 1, (1, 2), (0, 1, 2, 0), "same", "valid"],
    )
)


def test_conv_geometry_agrees_with_the_kernels_argument_parsing():
    checked = 0
    for (H, W), (R, S), stride, dilation, padding in CONV_CASES:
        x, w = np.zeros((1, 2, H, W)), np.zeros((3, 2, R, S))
        try:
            a = _args.conv_args("t", x, w, stride, padding, dilation, 1)
        except ValueError:
            continue  # (a kernel larger than the padded input: the ops refuse it)
        g = _geometry.conv(x, w, stride, padding, dilation, 1)
        assert (g.padding, g.out_hw, g.stride, g.dilation) == (
            a.padding,
            a.out_hw,
            a.stride,
            a.dilation,
        ), (H, W, R, S, stride, dilation, padding)
        checked += 1
    assert checked > 300


def test_pool_geometry_agrees_with_the_kernels_argument_parsing():
    checked = 0
    for (H, W), k, s, pad, ceil in itertools.product(
        [(1, 1), (2, 3), (5, 5), (7, 10)],
        [1, 2, 3, (2, 3)],
        [None, 1, 2, 3],
        [0, 1, (1, 0), (1, 0, 0, 1), "same", "valid"],
        [False, True],
    ):
        try:
            want = _args.pool_window("t", (1, 1, H, W), k, s, pad, ceil)
        except ValueError:
            continue
        assert _geometry.pool_window((1, 1, H, W), k, s, pad, ceil) == want, (H, W, k, s, pad)
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("layer", ["ops", "backend", "optim", "nn", "training", "tensor.py"])
def test_production_code_never_calls_the_reference(layer):
    files = [PACKAGE / layer] if layer.endswith(".py") else sorted((PACKAGE / layer).rglob("*.py"))
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names] + [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            assert not any("reference" in n for n in names), f"{path} imports the reference"
