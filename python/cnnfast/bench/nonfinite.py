"""What conv2d's scans for non-finite values cost (csrc/conv2d/conv2d.cpp): one training
step of each net with the scans on and off, alternating step by step in one
process, so both see the same machine state; medians, and their ratio.

    cnnfast bench nonfinite [--nets keras-mnist-2conv,tf-deep-cnn] [--steps 40]

The scans keep every algorithm's NaN / Inf pattern exact: the operand that meets
the padding is scanned before a pass, a Winograd-family result after it. They are
on unless a benchmark turns them off (_C.set_nonfinite_scans); off is measured here
only, on finite data, where both give the same results.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def measure(net: str, batch: int, steps: int) -> dict[str, float]:
    import cnnfast as cf
    from cnnfast import _C

    from .timing import cnnfast_step, time_peers

    spec = cf.models.spec(net)
    model = cf.models.get(net, seed=0)
    opt = cf.optim.Adam(model.parameters())
    rng = np.random.default_rng(0)
    x = rng.random((batch, *spec.input_shape), dtype=np.float32)
    y = rng.integers(0, spec.classes, batch)

    def step_with(on: bool) -> Callable[[], None]:
        def step() -> None:
            _C.set_nonfinite_scans(on)
            cnnfast_step(model, opt, x, y)

        return step

    try:  # single steps in turns, each after an untimed one (time_peers)
        t = time_peers({"on": step_with(True), "off": step_with(False)}, steps, block=1)
    finally:
        _C.set_nonfinite_scans(True)
    return {"scans_on_s": t["on"], "scans_off_s": t["off"], "cost": t["on"] / t["off"] - 1}


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    from .timing import machine_line

    p = argparse.ArgumentParser(prog="cnnfast bench nonfinite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--nets", default="keras-mnist-2conv,tf-deep-cnn")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=40, help="timed steps each way")
    args = p.parse_args(argv)
    import cnnfast as cf

    print(f"{machine_line()}; {cf.get_num_threads()} threads; batch {args.batch}")
    print(f"{'net':<20} {'scans on ms':>11} {'off ms':>8} {'cost':>7}")
    rows = []
    for net in args.nets.split(","):
        r = measure(net, args.batch, args.steps)
        rows.append({"net": net, **r})
        print(
            f"{net:<20} {r['scans_on_s'] * 1e3:11.1f} {r['scans_off_s'] * 1e3:8.1f} "
            f"{100 * r['cost']:+6.1f}%"
        )
    return rows


if __name__ == "__main__":
    main()
