"""Images per second for one full training step (forward, cross-entropy, backward, Adam)
and for inference, cnnfast against PyTorch on the same architecture, same weights, same
thread count, in one process.

    cnnfast bench nets [--threads 2] [--steps 10] [--nets lenet5,keras-mnist-2conv]

Method: each cnnfast zoo net is translated layer by layer into torch.nn with its weights
copied; the two forward passes are compared in eval mode before anything is timed. Then
the peers alternate: `steps` timed steps each, after two warm-up steps, repeated `rounds`
times; the table shows the median step. Without PyTorch, only cnnfast is timed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

import cnnfast as cf
from cnnfast import nn
from cnnfast._args import conv_args, pool_args

from .timing import (
    INFER_ONLY,
    TRAIN_NETS,
    add_step_arguments,
    cnnfast_step,
    machine_line,
    time_peers,
)

try:
    import torch
except ImportError:
    torch = None


def _torch_padding(
    tnn: Any, layers: list[Any], pad: tuple[int, int, int, int], value: float
) -> tuple[int, int]:
    """torch's symmetric (h, w) padding for (top, bottom, left, right); an asymmetric
    one becomes a padding layer of `value` in front (appended to layers) and (0, 0)."""
    t, b, l, r = pad
    if t == b and l == r:
        return (t, l)
    layers.append(tnn.ConstantPad2d((l, r, t, b), value))
    return (0, 0)


def to_torch(model: nn.Module, input_shape: tuple[int, ...]) -> Any:
    """The same Sequential in torch.nn, weights and batch-norm statistics copied. (The
    layers run on a probe input for their shapes in eval mode, so that the probe does
    not move the running statistics of the model being copied.)"""
    x = cf.tensor(np.zeros((1, *input_shape), np.float32))
    was_training = model.training
    model.eval()
    try:
        return torch.nn.Sequential(*_twins_of(list(model), x))
    finally:
        model.train(was_training)


def _twins_of(layers: list[nn.Module], x: Any) -> list[Any]:
    """torch modules for `layers` run in turn on an input shaped like x (whose shape
    resolves 'same' padding, as the layer's own op does)."""
    out: list[Any] = []
    for layer in layers:
        out += _twin(layer, x)
        with cf.no_grad():
            x = layer(x)
    return out


def _params(t: Any, layer: nn.Module) -> Any:
    """t with layer's weight and bias (when it has them) copied in."""
    t.weight.data = torch.from_numpy(layer.weight.data.copy())
    if layer.bias is not None:
        t.bias.data = torch.from_numpy(layer.bias.data.copy())
    return t


def _twin(layer: nn.Module, x: Any) -> list[Any]:
    """The torch module(s) computing what `layer` computes on x: one, or a padding
    layer and one where torch has no asymmetric padding argument."""
    tnn = torch.nn
    layers: list[Any] = []
    if isinstance(layer, nn.Conv2d):
        K, Cg, R, S = layer.weight.shape
        # the layer's padding as its op resolves it ('same' with its stride and
        # dilation), as (top, bottom, left, right)
        a = conv_args(
            "bench", x.data, layer.weight.data, layer.stride, layer.padding,
            layer.dilation, layer.groups,
        )  # fmt: skip
        pad = _torch_padding(tnn, layers, a.padding, 0.0)
        t = tnn.Conv2d(
            Cg * layer.groups,
            K,
            (R, S),
            layer.stride,
            pad,
            layer.dilation,
            layer.groups,
            bias=layer.bias is not None,
        )
        t = _params(t, layer)
    elif isinstance(layer, nn.Linear):
        t = _params(
            tnn.Linear(layer.weight.shape[1], layer.weight.shape[0], bias=layer.bias is not None),
            layer,
        )
    elif isinstance(layer, nn.BatchNorm2d):
        C = layer.running_mean.shape[0]
        cls = tnn.BatchNorm2d if x.ndim == 4 else tnn.BatchNorm1d
        t = cls(C, layer.eps, layer.momentum, affine=layer.weight is not None)
        if layer.weight is not None:
            t = _params(t, layer)
        t.running_mean.data = torch.from_numpy(np.array(layer.running_mean, np.float32))
        t.running_var.data = torch.from_numpy(np.array(layer.running_var, np.float32))
    elif isinstance(layer, nn.ResidualBlock):
        t = _residual_twin(layer, x)
    elif isinstance(layer, nn.MaxPool2d):
        a = pool_args(
            "bench", x.data, layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode
        )
        pad = _torch_padding(tnn, layers, a.padding, -np.inf)  # (padding never wins)
        t = tnn.MaxPool2d(a.kernel, a.stride, pad, ceil_mode=a.ceil_mode)
    elif isinstance(layer, nn.AvgPool2d):
        t = tnn.AvgPool2d(
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.ceil_mode,
            layer.count_include_pad,
        )
    elif isinstance(layer, nn.LocalResponseNorm):
        t = tnn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
    elif isinstance(layer, nn.PositionBias):

        class PositionBias(tnn.Module):
            def __init__(self, b: np.ndarray) -> None:
                super().__init__()
                self.bias = tnn.Parameter(torch.from_numpy(b.copy()))

            def forward(self, v: Any) -> Any:
                return v + self.bias

        t = PositionBias(layer.bias.data)
    elif type(layer) is nn.Dropout:
        t = tnn.Dropout(layer.p)
    else:
        simple = {
            nn.ReLU: tnn.ReLU,
            nn.Tanh: tnn.Tanh,
            nn.Sigmoid: tnn.Sigmoid,
            nn.Flatten: tnn.Flatten,
            nn.GlobalAvgPool2d: lambda: tnn.AdaptiveAvgPool2d(1),
        }.get(type(layer))
        if simple is None:
            raise TypeError(f"no torch twin for {type(layer).__name__}")
        t = simple()
    return [*layers, t]


def _residual_twin(block: nn.ResidualBlock, x: Any) -> Any:
    """nn.ResidualBlock in torch: relu(bn2(conv2(relu(bn1(conv1(v))))) + shortcut(v)),
    the shortcut v itself or its 1x1 projection and batch norm."""
    tnn = torch.nn
    with cf.no_grad():
        h = block.conv1(x)
    first = _twins_of([block.conv1, block.bn1, nn.ReLU()], x)
    second = _twins_of([block.conv2, block.bn2], h)
    shortcut = (
        tnn.Identity()
        if block.projection is None
        else tnn.Sequential(*_twins_of([block.projection, block.projection_bn], x))
    )

    class ResidualBlock(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.residual = tnn.Sequential(*first, *second)
            self.shortcut = shortcut

        def forward(self, v: Any) -> Any:
            return torch.relu(self.residual(v) + self.shortcut(v))

    return ResidualBlock()


def torch_step(model: Any, opt: Any, x: Any, y: Any) -> None:
    model.train()
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def time_alternating(fns: dict[str, Any], steps: int, rounds: int) -> dict[str, float]:
    for fn in fns.values():  # first steps allocate optimizer state and warm the caches
        fn()
        fn()
    return time_peers(fns, rounds, block=steps)


def bench(name: str, batch: int, train: bool, steps: int, rounds: int) -> dict[str, Any]:
    spec = cf.models.spec(name)
    model = cf.models.get(name, seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((batch, *spec.input_shape), dtype=np.float32)
    y = rng.integers(0, spec.classes, batch)
    fns: dict[str, Any] = {}
    if train:
        opt = cf.optim.Adam(model.parameters())
        fns["cnnfast"] = lambda: cnnfast_step(model, opt, x, y)
    else:
        model.eval()

        def infer() -> None:
            with cf.no_grad():
                model(cf.tensor(x))

        fns["cnnfast"] = infer
    if torch is not None:
        tmodel = to_torch(model, spec.input_shape)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        model.eval()
        tmodel.eval()
        with cf.no_grad(), torch.no_grad():
            ours, theirs = model(cf.tensor(x[:4])).data, tmodel(tx[:4]).numpy()
        np.testing.assert_allclose(
            ours, theirs, rtol=1e-3, atol=1e-3 * max(1, np.abs(theirs).max())
        )
        if train:
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
            fns["torch"] = lambda: torch_step(tmodel, topt, tx, ty)
        else:

            def tinfer() -> None:
                with torch.no_grad():
                    tmodel(tx)

            fns["torch"] = tinfer
    times = time_alternating(fns, steps, rounds)
    cf.reset_peak_memory()
    base = cf.memory_stats()["in_use_bytes"]
    fns["cnnfast"]()
    peak = cf.memory_stats()["peak_in_use_bytes"] - base
    return {
        "net": name,
        "mode": "train" if train else "inference",
        "batch": batch,
        "images_per_s": {k: batch / v for k, v in times.items()},
        "peak_bytes": peak,
    }


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(
        prog="cnnfast bench nets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_step_arguments(p, TRAIN_NETS)
    p.add_argument(
        "--inference", action="store_true", help="also time inference (incl. AlexNet, AlphaGo)"
    )
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cf.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"{machine_line()}, median of {args.steps}x{args.rounds} steps")
    rows = []
    for name in args.nets.split(","):
        rows.append(bench(name, args.batch, True, args.steps, args.rounds))
        if args.inference:
            rows.append(bench(name, args.batch, False, args.steps, args.rounds))
    if args.inference:
        for name, batch in INFER_ONLY.items():
            rows.append(bench(name, batch, False, max(2, args.steps // 2), args.rounds))
    print(
        f"{'net':<22} {'mode':<10} {'batch':>5} {'cnnfast img/s':>14} {'torch img/s':>12} "
        f"{'ratio':>7} {'peak MiB':>9}"
    )
    for r in rows:
        ips = r["images_per_s"]
        ratio = f"{ips['cnnfast'] / ips['torch']:6.2f}x" if "torch" in ips else "      -"
        torch_ips = f"{ips['torch']:12.0f}" if "torch" in ips else f"{'-':>12}"
        print(
            f"{r['net']:<22} {r['mode']:<10} {r['batch']:>5} {ips['cnnfast']:14.0f} "
            f"{torch_ips} {ratio} {r['peak_bytes'] / 2**20:9.1f}"
        )
    print("peak MiB: kernel outputs alive at once during one cnnfast step (memory_stats)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
