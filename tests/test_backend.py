"""The device seam (python/cnnfast/backend/): both backends implement the whole
interface with its parameters, nothing above it names device arrays or their kernels,
and what moved behind ops (the optimizer steps, the eval-mode batch-norm backward,
layout) computes the same on both devices."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import cnnfast as cf
from cnnfast import backend, ops, reference
from cnnfast.backend import interface
from helpers import stub_functions

PACKAGE = Path(cf.__file__).resolve().parent


def _interface_params() -> dict[str, list[str]]:
    out = {}
    for name in interface.function_names():
        params = list(inspect.signature(getattr(interface.Backend, name)).parameters)
        out[name] = params[1:]  # (self)
    return out


def _params(fn: object, stub: dict[str, list[str]]) -> list[str]:
    if inspect.isbuiltin(fn):  # a pybind11 function of _C, aliased by the cpu backend
        assert getattr(fn, "__module__", None) == "cnnfast._C", fn
        return stub[fn.__name__]  # type: ignore[attr-defined]
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("device", backend.DEVICES)
def test_every_backend_implements_the_whole_interface(device):
    module = backend.get(device)
    stub = stub_functions()  # (test_runtime.py holds the stub to the module's signatures)
    wanted = _interface_params()
    assert {"zeros", "conv2d_forward", "sgd_update", "sum_backward"} <= set(wanted)
    missing = [n for n in wanted if not callable(getattr(module, n, None))]
    assert not missing, f"backend.{device} lacks {missing}"
    for name, params in wanted.items():
        assert _params(getattr(module, name), stub) == params, f"backend.{device}.{name}"
    assert sorted(module.__all__) == sorted(wanted)


def test_every_kernel_function_ops_calls_is_in_the_interface():
    names = set(interface.function_names())
    called = set()
    for path in (PACKAGE / "ops").glob("*.py"):
        text = path.read_text()
        called |= set(re.findall(r"for_arrays\([^)]*\)\.(\w+)\(", text))
        called |= set(re.findall(r"\bk_?\.(\w+)\(", text))
    assert called, "the scan found no kernel calls in ops"
    assert called <= names, f"ops calls {sorted(called - names)}, not in the interface"


def _python_files_outside(*folders: str) -> list[Path]:
    skip = [PACKAGE / f for f in folders]
    return [
        p
        for p in PACKAGE.rglob("*.py")
        if not any(p.is_relative_to(s) for s in skip) and "__pycache__" not in p.parts
    ]


def test_device_arrays_are_named_only_in_backend_and_cuda():
    pattern = re.compile(r"\bDeviceArray\b|cuda\.kernels|cuda import kernels|cuda\.array\b")
    files = _python_files_outside("backend", "cuda")
    assert PACKAGE / "tensor.py" in files
    offenders = [
        f"{p.relative_to(PACKAGE)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders


ABOVE_OPS = ["tensor.py", "nn", "optim", "training", "keras", "models", "data", "torch"]


def _imports(path: Path) -> set[str]:
    """The modules a file imports, resolved to cnnfast.x.y names."""
    parts = ("cnnfast", *path.relative_to(PACKAGE).with_suffix("").parts)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level] if node.level else ()
            mod = ".".join((*base, *(node.module.split(".") if node.module else ())))
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_the_layers_above_ops_reach_kernels_only_through_ops():
    files = [
        p
        for entry in ABOVE_OPS
        for p in ([PACKAGE / entry] if entry.endswith(".py") else (PACKAGE / entry).rglob("*.py"))
    ]
    forbidden = ("cnnfast._C", "cnnfast.backend", "cnnfast.cuda.", "cnnfast.reference")
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(m for m in _imports(p) if m.startswith(forbidden))
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# --- what moved behind ops, on both devices ------------------------------------------------
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _on(device: str, *arrays: np.ndarray) -> list:
    return [ops.to_device(a, device, copy=True) for a in arrays]


def _host(a: object) -> np.ndarray:
    return ops.to_device(a, "cpu")


@pytest.fixture(params=backend.DEVICES)
def device(request):
    if request.param == "cuda":
        request.getfixturevalue("cuda_device")
    return request.param


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 5, 6), (0, 2, 3, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_eval_mode_batch_norm_backward_matches_the_reference(device, shape, affine, dtype, rng):
    x, dy = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    mean = rng.standard_normal(shape[1]).astype(dtype)
    var = rng.random(shape[1]).astype(dtype) + 0.1
    w = rng.standard_normal(shape[1]).astype(dtype) if affine else None
    want = reference.batch_norm_inference_backward(x, dy, mean, var, w, 1e-3)
    args = _on(device, x, dy, mean, var) + ([] if w is None else _on(device, w))
    got = ops.batch_norm_inference_backward(*args[:4], args[4] if affine else None, 1e-3)
    assert all(ops.device_of(g) == device for g in got)
    for g, e in zip(got, want):
        np.testing.assert_allclose(_host(g), e, **TOL[dtype])


def test_eval_mode_batch_norm_backward_matches_finite_differences(rng):
    x = rng.standard_normal((3, 2, 4))
    mean, var, w = rng.standard_normal(2), rng.random(2) + 0.5, rng.standard_normal(2)
    b = np.zeros(2)
    dy = rng.standard_normal(x.shape)
    dx, dw, _ = ops.batch_norm_inference_backward(x, dy, mean, var, w, 1e-5)

    def loss(xx: np.ndarray, ww: np.ndarray) -> float:
        return float((ops.batch_norm_inference(xx, mean, var, ww, b, 1e-5) * dy).sum())

    h = 1e-6
    for arr, grad in ((x, dx), (w, dw)):
        for i in [0, arr.size // 2, arr.size - 1]:
            e = np.zeros_like(arr).ravel()
            e[i] = h
            e = e.reshape(arr.shape)
            plus = loss(x + e, w) if arr is x else loss(x, w + e)
            minus = loss(x - e, w) if arr is x else loss(x, w - e)
            assert abs((plus - minus) / (2 * h) - grad.ravel()[i]) < 1e-6


@pytest.mark.kernels
def test_an_eval_mode_batch_norm_trains_on_cuda_as_on_the_cpu(cuda_device, rng):
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    stats = rng.standard_normal(3).astype(np.float32), rng.random(3).astype(np.float32) + 0.5
    grads = {}
    for device in ("cpu", "cuda"):
        bn = cf.nn.BatchNorm2d(3)
        bn.running_mean[...], bn.running_var[...] = stats
        bn.weight.data[...] = np.arange(1.0, 4.0, dtype=np.float32)
        bn = bn.to(device)
        bn.eval()
        xt = cf.tensor(x, requires_grad=True, device=device)
        bn(xt).backward(ops.to_device(x, device))
        grads[device] = [_host(xt.grad)] + [_host(p.grad) for p in bn.parameters()]
    assert len(grads["cpu"]) == 3
    for c, g in zip(grads["cpu"], grads["cuda"]):
        np.testing.assert_allclose(g, c, rtol=2e-5, atol=2e-5)


OPTIMIZER_STEPS = {
    "sgd": (ops.sgd_update, ["velocity"], dict(momentum=0.9, weight_decay=1e-2, nesterov=True)),
    "rmsprop": (ops.rmsprop_update, ["avg_sq_grad"], dict(rho=0.9, eps=1e-7, weight_decay=1e-2)),
    "adadelta": (
        ops.adadelta_update,
        ["avg_sq_grad", "avg_sq_delta"],
        dict(rho=0.95, eps=1e-6, weight_decay=1e-2),
    ),
}


@pytest.mark.kernels
@pytest.mark.parametrize("name", sorted(OPTIMIZER_STEPS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_steps_agree_on_both_devices_and_on_strided_views(cuda_device, name, dtype, rng):
    fn, slots, hyper = OPTIMIZER_STEPS[name]
    base = rng.standard_normal((6, 10)).astype(dtype)
    runs = {}
    for where in ("cpu", "cuda", "strided"):
        if where == "strided":
            big = np.zeros((6, 20), dtype)
            big[:, ::2] = base
            p, state = big[:, ::2], [np.zeros((6, 20), dtype)[:, ::2] for _ in slots]
        else:
            p = ops.to_device(base, where, copy=True)
            state = [ops.zeros_like(p) for _ in slots]
        step_rng = np.random.default_rng(1)
        for step in range(3):
            g = step_rng.standard_normal(base.shape).astype(dtype)
            g = ops.to_device(g, "cuda") if where == "cuda" else g
            extra = dict(first=step == 0) if name == "sgd" else {}
            fn(p, g, *state, lr=0.05, **hyper, **extra)
        runs[where] = [_host(a) for a in (p, *state)]
        if where == "strided":
            assert (big[:, 1::2] == 0).all()  # the cells between the view's untouched
    for a, b in zip(runs["cpu"], runs["strided"]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(runs["cpu"], runs["cuda"]):
        np.testing.assert_allclose(b, a, **TOL[dtype])


def test_optimizer_steps_refuse_what_they_cannot_update_in_place():
    p = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"sgd_update: velocity float64\(3, 4\) must match p"):
        ops.sgd_update(
            p, p, np.zeros((3, 4)), lr=0.1, momentum=0.9, weight_decay=0, nesterov=False,
            first=True,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"rmsprop_update: g \(4,\) must have p's shape"):
        ops.rmsprop_update(p, np.zeros(4), p.copy(), lr=0.1, rho=0.9, eps=1e-7, weight_decay=0)
    with pytest.raises(TypeError, match="adadelta_update: avg_sq_delta must be a float32"):
        ops.adadelta_update(
            p, p, p.copy(), [[0.0] * 4] * 3, lr=1, rho=0.9, eps=1e-6, weight_decay=0
        )


@pytest.mark.kernels
def test_optimizer_state_stays_with_its_parameter(cuda_device):
    for opt_cls in (cf.optim.SGD, cf.optim.RMSprop, cf.optim.Adadelta, cf.optim.Adam):
        p = cf.nn.Parameter(np.ones((2, 3), np.float32))
        p.data = ops.to_device(p.data, "cuda")
        p.grad = ops.to_device(np.full((2, 3), 0.5, np.float32), "cuda")
        opt = opt_cls([p], lr=0.1, **({"momentum": 0.9} if opt_cls is cf.optim.SGD else {}))
        opt.step()
        assert opt.state[0] and all(
            ops.device_of(v) == "cuda" for v in opt.state[0].values() if hasattr(v, "shape")
        )
        saved = opt.state_dict()
        opt.load_state_dict(saved)
        assert all(ops.device_of(v) == "cuda" for v in opt.state[0].values() if hasattr(v, "shape"))


@pytest.mark.kernels
@pytest.mark.parametrize("axis", [None, 0, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sums_and_their_gradients_agree_on_both_devices(cuda_device, axis, keepdims, rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    weights = None
    grads = {}
    for device in ("cpu", "cuda"):
        t = cf.tensor(x, requires_grad=True, device=device)
        s = t.sum(axis=axis, keepdims=keepdims)
        if weights is None:
            weights = rng.standard_normal(s.shape).astype(np.float32)
        s.backward(ops.to_device(weights, device))
        grads[device] = _host(t.grad)
    # (a leading-axis sum's gradient is the upstream one repeated, not its first element)
    np.testing.assert_allclose(grads["cuda"], grads["cpu"], rtol=1e-6)
    assert len(np.unique(grads["cpu"])) > 1 or axis is None


@pytest.mark.kernels
def test_cross_entropy_backward_takes_a_host_dloss_per_row_on_cuda(cuda_device, rng):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    target = rng.integers(0, 4, 5)
    dloss = rng.standard_normal(5).astype(np.float32)
    want = ops.cross_entropy_backward(logits, target, "none", dloss)
    got = ops.cross_entropy_backward(
        ops.to_device(logits, "cuda"), ops.to_device(target, "cuda"), "none", dloss
    )
    np.testing.assert_allclose(_host(got), want, rtol=2e-5, atol=1e-6)


@pytest.mark.kernels
def test_concat_and_split_agree_on_both_devices_and_check_their_arguments(cuda_device, rng):
    parts = [rng.standard_normal((2, n, 3)).astype(np.float32) for n in (1, 4, 2)]
    want = np.concatenate(parts, axis=1)
    for device in backend.DEVICES:
        joined = ops.concat(_on(device, *parts), axis=-2)
        np.testing.assert_array_equal(_host(joined), want)
        for got, part in zip(ops.split(joined, [1, 4, 2], 1), parts):
            np.testing.assert_array_equal(_host(got), part)
    with pytest.raises(ValueError, match=r"concat: array 1 has shape \(3, 4, 3\), array 0"):
        ops.concat([parts[0], np.zeros((3, 4, 3), np.float32)], 1)
    with pytest.raises(ValueError, match="concat: inputs on different devices"):
        ops.concat([parts[0], ops.to_device(parts[1], "cuda")], 1)
    with pytest.raises(ValueError, match=r"split: sizes \[1, 1\] must sum to 7"):
        ops.split(want, [1, 1], 1)


# --- every op family's docstring names its files ---------------------------------------------
REPO = Path(__file__).resolve().parents[1]  # (the checkout: the package may be installed)
FILE_KEYS = ("kernels", "binding", "backends", "reference", "tests", "benchmark")
FAMILIES_WITH_KERNELS = ["activation", "batch_norm", "conv2d", "dropout", "gemm", "lrn"]
FAMILIES_WITH_KERNELS += ["optim", "pool2d", "softmax"]


@pytest.mark.parametrize("family", [*FAMILIES_WITH_KERNELS, "device", "layout"])
def test_every_ops_docstring_names_files_that_exist(family):
    """A newcomer finds an op's kernels, binding, backends, twin, tests and benchmark
    from its ops docstring alone: each is named under Files:, and each path exists."""
    doc = importlib.import_module(f"cnnfast.ops.{family}").__doc__
    assert "\nFiles:\n" in doc, family
    block = doc.split("\nFiles:\n", 1)[1]
    keys = re.findall(r"^  (\w+) ", block, re.MULTILINE)
    assert keys == list(FILE_KEYS), keys
    paths = re.findall(r"(?:csrc|python|tests)/[\w/.]*\w", block)
    assert paths, block
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing, f"ops/{family}.py names files that do not exist: {missing}"
    if family in FAMILIES_WITH_KERNELS:
        assert f"csrc/bindings/{family}.cpp" in block and f"reference/{family}.py" in block
        assert f"backend/cpu/{family}.py" in block and f"backend/cuda/{family}.py" in block
