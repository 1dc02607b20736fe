"""The `cnnfast` command: info, check, models, train, evaluate, ensemble, export, bench."""

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
    """Every op and backward against the reference on random shapes: on every SIMD path
    of the CPU, or on the CUDA backend (a GPU, or the emulator)."""
    import cnnfast
    from cnnfast import _C, checks

    rows: dict[tuple[str, str], list[checks.Result]] = {}
    if args.device != "cpu":
        from cnnfast.cuda import backends

        try:
            path = backends.backend().name
        except RuntimeError as err:  # no GPU and no emulator: the message says what to do
            print(f"cnnfast check: error: {err}", file=sys.stderr)
            return 2
        rng = np.random.default_rng(args.seed)
        for r in checks.random_suite(rng, args.cases, device=args.device):
            rows.setdefault((r.op, path), []).append(r)
    isas = ([args.isa] if args.isa else list(_C.supported_isas())) if args.device == "cpu" else []
    before = _C.get_isa()
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


def _cmd_models(args: argparse.Namespace) -> int:
    from cnnfast import models

    print(f"{'name':<22} {'input':<14} {'params':>12}  {'data':<9} note")
    for name in models.list():
        s = models.spec(name)
        params = models.get(name).num_parameters()
        print(
            f"{name:<22} {'x'.join(map(str, s.input_shape)):<14} {params:>12,}  "
            f"{s.dataset or '-':<9} {s.note}"
            + (f" (recipe: {s.recipe.describe()})" if s.recipe.describe() else "")
        )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    import cnnfast
    from cnnfast.distributed import comm
    from cnnfast.training.run import config_for, train

    if args.distributed or comm.launched():
        # one rank of several (mpiexec): threads per rank, default its share of the node
        comm.init(threads=args.threads or None)
    elif args.threads:
        cnnfast.set_num_threads(args.threads)
    cfg = config_for(
        args.model,
        dataset=args.dataset or "",
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        seed=args.seed,
        val_split=args.val_split,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        data_dir=args.data_dir,
        download=args.download,
        augment=args.augment,
        device=args.device,
        weight_decay=args.weight_decay,
        image_size=args.image_size,
    )
    out = Path(args.out or f"runs/{args.model}")
    metrics = train(cfg, out, resume=args.resume, verbose=args.verbose)
    print(
        f"test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}, "
        f"{metrics['epochs']} epochs in {metrics['train_seconds']:.1f} s"
    )
    print(
        f"results in {out}/ (metrics.json, history, weights"
        + (
            ", plots: " + ", ".join(Path(p).name for p in metrics["plots"])
            if metrics["plots"]
            else "; install cnnfast[train] for the plots"
        )
        + ")"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnfast.training.run import load_dataset, load_run, report

    run = Path(args.run)
    model, cfg = load_run(run, args.weights)
    _, (xt, yt), names = load_dataset(cfg)
    out = Path(args.out) if args.out else run / f"evaluate-{args.weights}"
    out.mkdir(parents=True, exist_ok=True)
    metrics = report(model, xt, yt, names, out)
    print(
        f"{cfg.model} ({args.weights} weights) on {cfg.dataset or 'its data set'}: "
        f"test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f}"
    )
    return 0


def _cmd_ensemble(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnfast.training.run import ensemble

    results = ensemble([Path(r) for r in args.runs], args.weights)
    for run, acc in results["runs"].items():
        print(f"{run}: test accuracy {acc:.4f}")
    print(f"ensemble of {len(results['runs'])}: test accuracy {results['ensemble']:.4f}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnfast.training.run import export_onnx

    path, shape = export_onnx(Path(args.run), args.weights, args.out, args.batch)
    batch = args.batch or "N"
    print(f"wrote {path}: ONNX, input 'input' {(batch, *shape)}, output 'output' (logits)")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    """Hands the suite's own options to its module (cnnfast/bench/SUITE.py)."""
    import importlib

    from cnnfast.bench import SUITES

    suite = "peak" if args.peak else args.suite
    if suite is None:
        raise SystemExit("cnnfast bench: name a suite (" + ", ".join(SUITES) + ") or pass --peak")
    importlib.import_module(f"cnnfast.bench.{suite}").main(args.suite_args)
    return 0


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
    p.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="cuda: the CUDA backend's kernels (a GPU, or CNNFAST_CUDA_EMULATE=1's emulator)",
    )
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("models", help="list the model zoo")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("train", help="train a lecture net and write its results to a directory")
    p.add_argument("model", help="a name from `cnnfast models`")
    p.add_argument(
        "--dataset",
        choices=["mnist", "fashion-mnist", "cifar10"],
        default=None,
        help="default: the data set the lecture used (or, with a --data-dir of train/ and "
        "test/ image folders, those images)",
    )
    recipe = "default: the net's recipe (`cnnfast models`), else"
    p.add_argument("--epochs", type=int, default=None, help=f"{recipe} 12")
    p.add_argument("--batch-size", type=int, default=None, help=f"{recipe} 128")
    p.add_argument(
        "--optimizer",
        choices=["adam", "sgd", "adadelta", "rmsprop"],
        default=None,
        help=f"{recipe} adam",
    )
    p.add_argument("--lr", type=float, default=None, help="default: the recipe's or optimizer's")
    p.add_argument("--weight-decay", type=float, default=None, help=f"{recipe} 0 (L2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="run directory (default runs/MODEL)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument(
        "--val-split",
        type=float,
        default=0.0,
        help="hold out this fraction of the training set for validation "
        "(default 0: validate on the test set, as the lectures do)",
    )
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random shifts (and flips for CIFAR); default: the net's recipe",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="a directory holding the data set's files, or train/ and test/ folders with "
        "one folder of images per class",
    )
    p.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        default=None,
        help="resize a --data-dir image folder's images to H x W",
    )
    p.add_argument("--download", action="store_true", help="download the data set if missing")
    p.add_argument(
        "--limit-train", type=int, default=0, help="use only the first N training images"
    )
    p.add_argument("--limit-test", type=int, default=0, help="use only the first N test images")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="kernel threads (per rank under mpiexec; default: the cores, shared among a "
        "node's ranks)",
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where to train (cuda: a GPU, or the emulator with CNNFAST_CUDA_EMULATE=1)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="join an MPI world (needs cnnfast[mpi]); found without this flag when an MPI "
        "launcher started several ranks: `mpiexec -n 4 cnnfast train ...`",
    )
    p.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a trained run on its test set")
    p.add_argument("run", help="a run directory written by `cnnfast train`")
    p.add_argument("--weights", choices=["final", "best"], default="final")
    p.add_argument("--out", default=None)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("ensemble", help="average the predictions of several runs")
    p.add_argument("runs", nargs="+")
    p.add_argument("--weights", choices=["final", "best"], default="final")
    p.set_defaults(func=_cmd_ensemble)

    p = sub.add_parser("export", help="write a trained run's model in another format (ONNX)")
    p.add_argument("run", help="a run directory written by `cnnfast train`")
    p.add_argument(
        "--onnx",
        action="store_true",
        required=True,
        help="as ONNX (opset 17, float32; needs cnnfast[onnx]), for ONNX Runtime and the "
        "runtimes that deploy it",
    )
    p.add_argument("--weights", choices=["final", "best"], default="final")
    p.add_argument("--out", default=None, help="the file (default: RUN/<weights>.onnx)")
    p.add_argument("--batch", type=int, default=None, help="a fixed batch size (default: symbolic)")
    p.set_defaults(func=_cmd_export)

    from cnnfast.bench import SUITES

    p = sub.add_parser(
        "bench",
        help="benchmark suites against NumPy and PyTorch (" + ", ".join(SUITES) + ")",
        description="Runs one suite; options after the suite name go to it "
        "(`cnnfast bench ops --help`). See cnnfast/bench/__init__.py.",
    )
    p.add_argument("suite", nargs="?", choices=SUITES)
    p.add_argument("suite_args", nargs=argparse.REMAINDER)
    p.add_argument("--peak", action="store_true", help="measure the FMA peak (= suite 'peak')")
    p.set_defaults(func=_cmd_bench)

    args = parser.parse_args(argv)
    if args.command not in ("train", "evaluate", "ensemble", "export"):
        return int(args.func(args))
    from cnnfast.distributed import DistributedError, comm
    from cnnfast.errors import DataError, FileFormatError
    from cnnfast.onnx import ExportError

    try:
        return int(args.func(args))
    except (FileFormatError, DataError, OSError, DistributedError, ExportError) as err:
        # A damaged, missing or unwritable file, or data that does not fit the net: the
        # message names it; a traceback would only bury that line.
        if comm.size() > 1:  # the other ranks must not wait for this one: end them all
            comm.abort(f"cnnfast {args.command}: error: {err}")
        print(f"cnnfast {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
