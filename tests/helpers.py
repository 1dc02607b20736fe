"""Assertions shared by the test files."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import cnnfast as cf
from cnnfast import _C
from cnnfast.checks import Result, numerical_gradient


@contextmanager
def num_threads(n: int) -> Iterator[None]:
    """cnnfast's thread count set to n inside the block."""
    before = cf.get_num_threads()
    cf.set_num_threads(n)
    try:
        yield
    finally:
        cf.set_num_threads(before)


@contextmanager
def conv_algorithm(name: str) -> Iterator[None]:
    """conv2d forced to one algorithm ('auto' for the measured rules) inside the block."""
    before = _C.get_conv_algorithm()
    _C.set_conv_algorithm(name)
    try:
        yield
    finally:
        _C.set_conv_algorithm(before)


def assert_all_ok(results: list[Result]) -> None:
    """Every comparison passed; otherwise list each failure with where and by how much.
    (An empty list is a failure too: a check that compared nothing proves nothing.)"""
    assert results, "no outputs were compared"
    bad = [str(r) for r in results if not r.ok]
    assert not bad, "\n".join(bad)


def assert_gradient(
    name: str,
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dy: np.ndarray,
    analytic: np.ndarray,
    rtol: float = 1e-6,
) -> None:
    """analytic == d/dx sum(f(x) * dy) by central differences, in float64.

    Central differences with h = 1e-6 have truncation error ~h^2 * f''' and
    cancellation error ~eps/h ~ 1e-10 per unit of scale, so 1e-6 relative to the
    gradient's scale separates a correct backward from a wrong one by orders of magnitude.
    """
    assert analytic.dtype == np.float64
    numeric = numerical_gradient(f, x, dy)
    assert analytic.shape == numeric.shape, (name, analytic.shape, numeric.shape)
    scale = max(1.0, float(np.abs(numeric).max()))
    err = np.abs(analytic - numeric)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= rtol * scale, (
        f"{name}: gradient mismatch at {worst} of {err.shape}: analytic {analytic[worst]!r}, "
        f"numeric {numeric[worst]!r} (tolerance {rtol * scale:.3g})"
    )


def stub_functions() -> dict[str, list[str]]:
    """Parameter names of the top-level functions in cnnfast/_C.pyi."""
    tree = ast.parse(Path(cf.__file__).with_name("_C.pyi").read_text())
    return {
        n.name: [a.arg for a in n.args.args] for n in tree.body if isinstance(n, ast.FunctionDef)
    }
