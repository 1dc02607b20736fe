"""Assertions shared by the test files."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnnfast.checks import Result, numerical_gradient


def assert_all_ok(results: list[Result]) -> None:
    """Every comparison passed; otherwise list each failure with where and by how much."""
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
