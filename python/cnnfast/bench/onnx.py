"""Inference of the lecture nets: cnnfast's own (eval mode) against ONNX Runtime running
the graph cnnfast.onnx exports from the same model, same weights, same thread count.

    cnnfast bench onnx [--threads 2] [--batches 128,1] [--nets lenet5,...] [--rounds 5]

Method: each zoo net is exported (cnnfast.onnx.to_onnx) and loaded into an ONNX
Runtime session (CPU, all graph optimisations, intra-op threads = --threads, one
inter-op thread, its default spinning on: its best configuration here); the two
outputs are compared before anything is timed. ONNX Runtime's pool spins for a
while after each run and would slow whoever runs next, so the peers take turns in
blocks (one warm-up call, then `--calls` timed calls) with a pause after each block;
`--rounds` blocks each, the table shows the median call as images/s.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import models
from cnnfast.tensor import Tensor, no_grad

from .timing import INFER_ONLY, TRAIN_NETS, machine_line, time_peers

PAUSE = 1.0  # seconds after each block: ONNX Runtime's spinning threads wind down


def _session(proto: Any, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def bench_net(name: str, batch: int, threads: int, rounds: int, calls: int) -> dict[str, Any]:
    spec = models.spec(name)
    model = models.get(name).eval()
    proto = cf.onnx.to_onnx(model, spec.input_shape)
    session = _session(proto, threads)
    x = np.random.default_rng(0).standard_normal((batch, *spec.input_shape)).astype(np.float32)

    def ours() -> Any:
        with no_grad():
            return model(Tensor(x)).data

    def theirs() -> Any:
        return session.run(None, {"input": x})[0]

    want, got = ours(), theirs()
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
    if err > 1e-4:
        raise AssertionError(f"{name}: ONNX Runtime differs from cnnfast by {err:.3g} (relative)")
    t = time_peers({"cnnfast": ours, "onnxruntime": theirs}, rounds, calls, pause=PAUSE)
    return {
        "batch": batch,
        "cnnfast": batch / t["cnnfast"],
        "onnxruntime": batch / t["onnxruntime"],
        "max_rel_diff": err,
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="cnnfast bench onnx", description=__doc__)
    p.add_argument("--threads", type=int, default=cf.get_num_threads())
    p.add_argument("--batches", default="128,1")
    p.add_argument("--nets", default=",".join([*TRAIN_NETS, *INFER_ONLY]))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=5)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    print(machine_line())
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}, opset {cf.onnx.OPSET}")
    print(
        f"{'net':22s} {'batch':>5s} {'cnnfast img/s':>14s} {'ORT img/s':>10s} {'cnnfast/ORT':>11s}"
    )
    rows = []
    for batch in [int(b) for b in args.batches.split(",")]:
        for name in args.nets.split(","):
            b = min(batch, INFER_ONLY.get(name, batch))  # (AlexNet, AlphaGo: at most theirs)
            r = bench_net(name, b, args.threads, args.rounds, args.calls)
            rows.append({"net": name, **r})
            ratio = r["cnnfast"] / r["onnxruntime"]
            print(
                f"{name:22s} {b:5d} {r['cnnfast']:14,.0f} {r['onnxruntime']:10,.0f} {ratio:10.2f}x",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": machine_line(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
