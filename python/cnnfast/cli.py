"""The `cnnfast` command: info, check."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np


def _cmd_info(args: argparse.Namespace) -> int:
    import cnnfast

    info = cnnfast.info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Every op and backward against the reference on random shapes, on every SIMD path."""
    import cnnfast
    from cnnfast import _C, checks

    isas = [args.isa] if args.isa else list(_C.supported_isas())
    before = _C.get_isa()
    rows: dict[tuple[str, str], list[checks.Result]] = {}
    try:
        for isa in isas:
            _C.set_isa(isa)
            rng = np.random.default_rng(args.seed)
            for r in checks.random_suite(rng, args.cases):
                rows.setdefault((r.op, isa), []).append(r)
    finally:
        _C.set_isa(before)

    print(
        f"cnnfast {cnnfast.__version__} check: seed {args.seed}, {args.cases} random cases "
        f"per op and dtype (float32, float64), threads {cnnfast.get_num_threads()}"
    )
    header = f"{'op':<32} {'isa':<8} {'cases':>5} {'max abs err':>12} {'max rel err':>12}  status"
    print(header)
    print("-" * len(header))
    failures = []
    for (op, isa), results in rows.items():
        bad = [r for r in results if not r.ok]
        failures += bad
        max_abs = max(r.max_abs for r in results)
        max_rel = max(r.max_rel for r in results)
        print(
            f"{op:<32} {isa:<8} {len(results):>5} {max_abs:>12.3g} {max_rel:>12.3g}  "
            f"{'FAIL' if bad else 'pass'}"
        )
    for r in failures[:20]:
        print(f"  {r}", file=sys.stderr)
    total = sum(len(v) for v in rows.values())
    print(f"{total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cnnfast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="version, SIMD path, threads, CUDA")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("check", help="check every kernel against the NumPy reference")
    p.add_argument(
        "--cases", type=int, default=20, help="random cases per op and dtype (default 20)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--isa", default=None, help="only this SIMD path (default: every supported one)")
    p.set_defaults(func=_cmd_check)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
