"""accelerate(model): an existing torch.nn model's convolutions, pooling and LRN on
cnnfast's kernels, in place.

Each supported module (exactly torch.nn.Conv2d, MaxPool2d, AvgPool2d,
LocalResponseNorm, Dropout; a Sequential holding a run of modules fusion.py fuses)
has its class changed to the cnnfast-backed subclass in `modules`: the same
object, so the user's optimizer, state_dict, checkpoints and hooks keep working.
Whatever is left alone is left alone for a stated reason (`report(model)`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from . import modules
from .fusion import Fusion, fusion_at
from .threads import share_threads as _share_threads

_FLOATS = (torch.float32, torch.float64)
# the torch.nn class -> its cnnfast-backed subclass
_SWAPS = {base: cls for cls, base in modules.ACCELERATED.items()}
# why a module is left alone, for the common layers cnnfast has no faster kernel for
_LEFT_ALONE = {
    torch.nn.Linear: "PyTorch's GEMM already runs at cnnfast's speed",
    torch.nn.ReLU: "elementwise, as fast in PyTorch (fused where a MaxPool2d follows it "
    "in a Sequential)",
    torch.nn.BatchNorm2d: "PyTorch's batch norm is as fast",
}


@dataclass
class Report:
    """What runs on cnnfast in a model: replaced modules, the runs of modules fused
    into one pass (fusion.py), and the leaf modules left to PyTorch with the reason."""

    replaced: list[tuple[str, str]] = field(default_factory=list)  # (name, class)
    fused: list[tuple[str, str]] = field(default_factory=list)  # (the modules, the pass)
    left: list[tuple[str, str, str]] = field(default_factory=list)  # (name, class, why)
    threads: int | None = None
    openmp_runtime: str | None = None  # PyTorch's, when cnnfast's kernels share its threads

    def __str__(self) -> str:
        head = f"cnnfast.torch: {len(self.replaced)} modules on cnnfast's kernels"
        if self.threads:
            head += f", {self.threads} threads"
            head += (
                f" on PyTorch's OpenMP runtime ({os.path.basename(self.openmp_runtime)})"
                if self.openmp_runtime
                else " on cnnfast's own pool"
            )
        lines = [head]
        lines += [f"  replaced  {name or '(model)'}: {cls}" for name, cls in self.replaced]
        lines += [f"  fused     {names}: {what}" for names, what in self.fused]
        lines += [f"  left      {name}: {cls}, {why}" for name, cls, why in self.left]
        return "\n".join(lines)


def _why_not(module: torch.nn.Module) -> str | None:
    """Why a module of a supported torch.nn class cannot be swapped (None: it can)."""
    params = list(module.parameters(recurse=False))
    if any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in params):
        return "a lazy module not yet initialised (run one batch through it first)"
    for p in params:
        if p.device.type != "cpu":
            return f"its parameters are on {p.device} (cnnfast runs on the CPU)"
        if p.dtype not in _FLOATS:
            return f"its parameters are {p.dtype} (cnnfast runs float32 and float64)"
    if isinstance(module, torch.nn.MaxPool2d):
        if module.return_indices:
            return "return_indices (PyTorch's flat indices)"
        if module.dilation not in (1, (1, 1)):
            return f"dilation {module.dilation} (cnnfast pools without dilation)"
    if isinstance(module, torch.nn.AvgPool2d) and module.divisor_override is not None:
        return "divisor_override"
    if isinstance(module, torch.nn.Dropout) and module.inplace:
        return "inplace"
    return None


def _why_left(module: torch.nn.Module) -> str:
    """Why a module of a class accelerate does not swap is left to PyTorch."""
    cls = type(module)
    if cls in _LEFT_ALONE:
        return _LEFT_ALONE[cls]
    if any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in module.parameters()):
        return "a lazy module not yet initialised (run one batch through it first)"
    base = next((b for b in _SWAPS if isinstance(module, b)), None)
    if base is not None:
        return f"a subclass of {base.__name__}: its own forward may differ"
    return "no cnnfast kernel for it"


def _will_be_conv(m: object) -> bool:
    return type(m) is modules.Conv2d or (type(m) is torch.nn.Conv2d and _why_not(m) is None)


def _will_be_pool(m: object) -> bool:
    return type(m) is modules.MaxPool2d or (type(m) is torch.nn.MaxPool2d and _why_not(m) is None)


def _fusions(seq: torch.nn.Sequential) -> list[tuple[int, Fusion]]:
    """(start, run) of each run of seq's modules the accelerated Sequential fuses."""
    layers, runs, i = list(seq._modules.values()), [], 0
    while i < len(layers):
        fused = fusion_at(layers, i, _will_be_conv, _will_be_pool)
        if fused is not None:
            runs.append((i, fused))
        i += fused.length if fused is not None else 1
    return runs


def _walk(model: torch.nn.Module, swap: bool, dropout: bool = True) -> Report:
    report = Report()
    fused_members: set[str] = set()
    for name, module in model.named_modules():
        cls = type(module)
        if cls is torch.nn.Sequential or cls is modules.Sequential:
            runs = _fusions(module)  # type: ignore[arg-type]
            if not runs:
                continue
            keys = list(module._modules)
            prefix = f"{name}." if name else ""
            for i, fused in runs:
                names = [prefix + keys[j] for j in range(i, i + fused.length)]
                report.fused.append((" + ".join(names), fused.what))
                fused_members.update(names[:-1])  # (the ReLU and the pad: no module of their own)
            if swap and cls is torch.nn.Sequential:
                module.__class__ = modules.Sequential
            report.replaced.append((name, "Sequential (running the fused passes)"))
        elif cls in _SWAPS or cls in modules.ACCELERATED:
            why = None if cls in modules.ACCELERATED else _why_not(module)
            if cls is torch.nn.Dropout and not dropout:
                why = "accelerate(dropout=False): PyTorch's masks"
            if why is None:
                if swap and cls in _SWAPS:
                    module.__class__ = _SWAPS[cls]
                report.replaced.append((name, modules.ACCELERATED.get(cls, cls).__name__))
            else:
                report.left.append((name, cls.__name__, why))
        elif not module._modules and name not in fused_members:
            report.left.append((name, cls.__name__, _why_left(module)))
    return report


def report(model: torch.nn.Module) -> Report:
    """What accelerate(model) would replace (or has replaced), and what it leaves
    alone and why; changes nothing."""
    return _walk(model, swap=False)


def accelerate(
    model: torch.nn.Module,
    *,
    threads: int | None = None,
    share_threads: bool = True,
    dropout: bool = True,
    verbose: bool = False,
) -> torch.nn.Module:
    """The same model with its supported modules on cnnfast's kernels (in place; the
    model is returned for `model = accelerate(model)`). A model with nothing to
    replace is returned unchanged. verbose prints the report.

    Threads: cnnfast's kernels use `threads`, by default torch's intra-op count, so the
    two never ask for more threads than torch was told to use; with share_threads
    they run on PyTorch's own OpenMP threads (threads.py), else on cnnfast's pool.

    dropout: nn.Dropout draws cnnfast's counter-based masks (seeded from PyTorch's
    generator, so torch.manual_seed fixes them, but not the masks PyTorch would
    draw); dropout=False keeps PyTorch's."""
    import cnnfast

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"accelerate: model must be a torch.nn.Module, got {type(model).__name__}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"accelerate: threads must be a positive int, got {threads!r}")
    result = _walk(model, swap=True, dropout=dropout)
    if result.replaced:
        result.threads = threads or torch.get_num_threads()
        cnnfast.set_num_threads(result.threads)
        result.openmp_runtime = _share_threads(share_threads)
    if verbose:
        print(result)
    return model


def restore(model: torch.nn.Module) -> torch.nn.Module:
    """Undo accelerate: every cnnfast-backed module back to its torch.nn class."""
    for module in model.modules():
        base = modules.ACCELERATED.get(type(module))
        if base is not None:
            module.__class__ = base
    return model
