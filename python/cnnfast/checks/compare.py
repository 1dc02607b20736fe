"""One kernel output against its reference, within a bound: `Result` and `compare`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Result:
    """One kernel output compared with its reference."""

    op: str
    case: str
    max_abs: float
    max_rel: float
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        status = "ok" if self.ok else "FAIL"
        return (
            f"{self.op} [{self.case}] {status}: max abs {self.max_abs:.3g}, "
            f"max rel {self.max_rel:.3g} {self.detail}".rstrip()
        )


def compare(op: str, case: str, actual: Any, expected: Any, bound: Any) -> Result:
    """|actual - expected| <= bound everywhere; NaN and Inf must sit in the same places."""
    a = np.asarray(actual)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return Result(op, case, np.inf, np.inf, False, f"shape {a.shape} != expected {e.shape}")
    a64 = a.astype(np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), e.shape)
    if a.size == 0:
        return Result(op, case, 0.0, 0.0, True)
    nonfinite = ~np.isfinite(e)
    mismatch = nonfinite & ~((a64 == e) | (np.isnan(a64) & np.isnan(e)))
    if mismatch.any():
        i = np.unravel_index(np.argmax(mismatch), e.shape)
        return Result(
            op,
            case,
            np.inf,
            np.inf,
            False,
            f"at {i} of {e.shape}: got {a64[i]!r}, expected {e[i]!r}",
        )
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(nonfinite, 0.0, np.abs(a64 - e))
        err = np.where(np.isnan(err), np.inf, err)  # a NaN where a number was expected
        rel = err / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    excess = err - bound
    ok = not (excess > 0).any()
    detail = ""
    if not ok:
        i = np.unravel_index(np.argmax(excess), e.shape)
        detail = (
            f"at {i} of {e.shape}: got {a64[i]!r}, expected {e[i]!r}, "
            f"error {err[i]:.3g} > bound {bound[i]:.3g}"
        )
    return Result(op, case, float(err.max()), float(np.where(nonfinite, 0, rel).max()), ok, detail)
