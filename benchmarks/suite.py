"""The benchmarks behind ``nox -s bench``: what is measured, how, and how results are kept.

Five sections, each a function that returns plain data (lists of dicts, JSON-ready):

1. :func:`bench_step_floor`: one training step of an MLP (forward, MSE loss, backward; no
   optimiser) against the same matrix products alone, against its tanh evaluations alone, and
   against the same NumPy calls in a flat loop, without the library around them.
2. :func:`bench_torch`: the same step against PyTorch's ``torch.nn`` and ``loss.backward()``,
   when ``torch`` can be imported (it is never a dependency).
3. :func:`bench_clip`: ``clip_by_global_norm(..., inplace=True)`` against a plain NumPy pass.
4. :func:`bench_site_build`: a cold and a warm ``nox -s docs`` in a copy of the repository, and
   how long each page took to execute.
5. :func:`bench_memory`: peak memory of one step against :func:`backprop_bytes`.

Times are medians over rounds that alternate the two contenders (A B, B A, A B, ...), so that a
change in the machine's load hits both alike; each ratio compares two medians of the same run.
``run.py`` is the command line; this module holds the logic, which ``tests/test_benchmarks.py``
tests.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import gradwatch as gw

# 2: rows say their thread count; the "layers" section. 3: the steps' tanh alone. 4: the
# step's NumPy calls in a flat loop (FlatStep).
SCHEMA = 4
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
SECTIONS = ("step_floor", "layers", "torch", "clip", "memory", "site_build")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Net:
    """A benchmarked network: ``n_layers`` layers of ``width`` units (tanh, the last one linear)."""

    key: str
    n_layers: int
    width: int
    batch: int

    @property
    def sizes(self) -> list[int]:
        """Widths ``[n_in, hidden..., n_out]``: every layer is ``width`` by ``width``."""
        return [self.width] * (self.n_layers + 1)

    @property
    def label(self) -> str:
        return f"({self.key}) {self.n_layers} x {self.width}, batch {self.batch}"


NETS = (
    Net("a", 4, 64, 32),
    Net("b", 8, 512, 256),
    Net("c", 50, 256, 128),
    Net("d", 3, 2048, 1024),
)
NETS_BY_KEY = {net.key: net for net in NETS}

# The targets (issues 6, 10 and 15). A ratio "holds" when it is at most its target. Ratios that
# depend on the thread count have a target per thread setting: "one" for one BLAS thread, "all"
# for more (the machine's default: every core); a setting without a target is reported only.
TARGETS: dict[str, Any] = {
    "step_floor": {
        "one": {"a": 1.6, "b": 1.08, "c": 1.08, "d": 1.05},
        "all": {"b": 1.15, "c": 1.15, "d": 1.05},
    },
    "layers": {"all": 1.3},
    "torch": {"a": 0.4, "b": 0.8, "c": 0.8},
    "clip": {"all": 1.15},
    "memory": {"b": 1.2, "c": 1.2},
    # cold_nox_docs_s: a fresh clone's `nox -s docs`, virtual environment included;
    # warm_nox_docs_s: the author's whole command with nothing changed (nox, install check,
    # sphinx-build); slowest_page_s: the longest any one page takes to execute.
    "site_build": {
        "cold_nox_docs_s": 60.0,
        "warm_nox_docs_s": 5.0,
        "warm_rebuild_s": 5.0,
        "slowest_page_s": 8.0,
    },
}


def thread_setting(threads: int) -> str:
    """The key of a thread count in :data:`TARGETS`: ``"one"`` or ``"all"``.

    Examples
    --------
    >>> thread_setting(1), thread_setting(2)
    ('one', 'all')
    """
    return "one" if threads == 1 else "all"


# Clipping: 50 weight-like matrices and 50 bias-like vectors, 10,000,000 values in all.
CLIP_SHAPES: tuple[tuple[int, ...], ...] = ((400, 499), (400,)) * 50


# -- timing ------------------------------------------------------------------------------------


def interleaved(
    contenders: Mapping[str, Callable[[], object]],
    *,
    budget_s: float,
    min_rounds: int = 15,
    max_rounds: int = 101,
    sample_s: float = 0.002,
    clock: Callable[[], float] = time.process_time,
    setup: Callable[[], object] | None = None,
    settle_s: float = 0.0,
    sleep: Callable[[float], object] = time.sleep,
) -> dict[str, list[float]]:
    """Time each contender once per round, alternating their order from round to round.

    Each contender first runs twice untimed (warm caches, allocator, lazy initialisation).
    A sample is ``number`` back-to-back calls, with ``number`` chosen so that a sample lasts
    about ``sample_s``; it is stored as seconds per call. Rounds go on until ``budget_s`` of
    wall time has passed and at least ``min_rounds`` are done, or ``max_rounds`` are.
    ``setup`` runs before every sample, untimed (it forces ``number = 1``).
    The garbage collector is off while timing, as in :mod:`timeit`.

    With ``settle_s`` > 0, every sample is preceded by a pause of ``settle_s`` and one untimed
    call of its contender, for contenders from different libraries running on several
    threads: a library's worker threads keep spinning for a while after its last call
    (OpenMP's, OpenBLAS's) and would otherwise take the cores from the next contender's.
    """
    names = list(contenders)
    number: dict[str, int] = {}
    for name in names:
        elapsed = 0.0
        for _ in range(2):
            if setup is not None:
                setup()
            start = clock()
            contenders[name]()
            elapsed = clock() - start
        number[name] = 1 if setup is not None else max(1, math.ceil(sample_s / max(elapsed, 1e-7)))
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        for round_ in range(max_rounds):
            for name in names if round_ % 2 == 0 else reversed(names):
                fn, k = contenders[name], number[name]
                if settle_s > 0:
                    sleep(settle_s)
                    if setup is not None:
                        setup()
                    fn()
                if setup is not None:
                    setup()
                start = clock()
                for _ in range(k):
                    fn()
                samples[name].append((clock() - start) / k)
            if round_ + 1 >= min_rounds and time.perf_counter() - started >= budget_s:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile (all three equal for a single value)."""
    if not values:
        raise ValueError("quartiles of an empty sequence")
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def compare(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Medians of two interleaved series and their ratio ``median(a) / median(b)``.

    ``ratio_q1`` and ``ratio_q3`` are the quartiles of the round-by-round ratios ``a_i / b_i``:
    how much the ratio moved during the run.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"need two series of the same non-zero length, got {len(a)} and {len(b)}")
    median_a, median_b = statistics.median(a), statistics.median(b)
    q1, _, q3 = quartiles([x / y for x, y in zip(a, b, strict=True)])
    return {
        "a_ms": median_a * 1e3,
        "b_ms": median_b * 1e3,
        "ratio": median_a / median_b,
        "ratio_q1": q1,
        "ratio_q3": q3,
        "rounds": len(a),
    }


def tanh_columns(compared: Mapping[str, float], tanh: Sequence[float]) -> dict[str, float]:
    """A step row's columns for its tanh timed alone, in the rounds of :func:`compare`'s pair.

    ``tanh_ms``, the median of ``tanh`` (seconds per call) in milliseconds, and
    ``ratio_tanh``, the step's median over the floor's and the tanh's together: what the step
    costs beyond the passes it cannot do without.

    Examples
    --------
    >>> tanh_columns({"a_ms": 12.0, "b_ms": 9.0}, [0.002, 0.003, 0.004])
    {'tanh_ms': 3.0, 'ratio_tanh': 1.0}
    """
    tanh_ms = statistics.median(tanh) * 1e3
    return {"tanh_ms": tanh_ms, "ratio_tanh": compared["a_ms"] / (compared["b_ms"] + tanh_ms)}


def flat_columns(compared: Mapping[str, float], flat: Sequence[float]) -> dict[str, float]:
    """A step row's columns for :class:`FlatStep`, timed in the rounds of :func:`compare`'s pair.

    ``flat_ms``, the median of ``flat`` (seconds per call) in milliseconds, and ``ratio_flat``,
    that median over the floor's.

    Examples
    --------
    >>> flat_columns({"a_ms": 12.0, "b_ms": 8.0}, [0.009, 0.010, 0.011])
    {'flat_ms': 10.0, 'ratio_flat': 1.25}
    """
    flat_ms = statistics.median(flat) * 1e3
    return {"flat_ms": flat_ms, "ratio_flat": flat_ms / compared["b_ms"]}


# -- 1. the step against its matrix products ---------------------------------------------------


def make_problem(net: Net, dtype: str, seed: int = 0) -> tuple[gw.MLP, np.ndarray, np.ndarray]:
    """The network (tanh hidden layers, linear output) and a batch of inputs and targets."""
    mlp = gw.MLP(net.sizes, activation="tanh", dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((net.batch, net.sizes[0])).astype(dtype)
    y = rng.standard_normal((net.batch, net.sizes[-1])).astype(dtype)
    return mlp, x, y


def step_products(sizes: Sequence[int], batch: int) -> list[tuple[int, int, int]]:
    """The ``(m, k, n)`` shapes of the matrix products of one step, as the library computes them.

    Per layer, forward ``z = x @ W`` and backward ``dW = x.T @ dz`` and ``dx = dz @ W.T``; the
    first layer's ``dx`` too, since :meth:`gradwatch.MLP.backward` returns it.
    """
    products = []
    for n_in, n_out in itertools.pairwise(sizes):
        products += [(batch, n_in, n_out), (n_in, batch, n_out), (batch, n_out, n_in)]
    return products


class MatmulFloor:
    """The matrix products of one step of ``mlp`` on a batch of ``batch``, alone.

    Every operand and output is allocated once, here; calling the object runs the products
    (``np.matmul`` with ``out=``) in the order of a step, and nothing else. With
    ``first_dx=False`` it leaves out the first layer's ``dx``, which a step needs only when
    the caller asks for the gradient of the input: ``MLP.backward`` returns it, while
    ``MLP.loss_and_grads`` (the benchmarked step) and PyTorch skip it.
    """

    def __init__(self, mlp: gw.MLP, batch: int, seed: int = 2, *, first_dx: bool = True) -> None:
        rng = np.random.default_rng(seed)
        dtype = mlp.dtype

        def array(*shape: int) -> np.ndarray:
            return np.tanh(rng.standard_normal(shape)).astype(dtype)

        self.layers = []
        for layer in mlp.layers:
            n_in, n_out = layer.n_in, layer.n_out
            x, dz = array(batch, n_in), array(batch, n_out)
            z, dx, dW = np.empty((batch, n_out), dtype), np.empty_like(x), np.empty_like(layer.W)
            self.layers.append((x, layer.W, z, dz, dW, dx))
        self.first_dx = first_dx

    @property
    def n_products(self) -> int:
        """How many matrix products a call runs."""
        return 3 * len(self.layers) - (0 if self.first_dx else 1)

    def __call__(self) -> None:
        for x, W, z, _, _, _ in self.layers:
            np.matmul(x, W, out=z)
        for i, (x, W, _, dz, dW, dx) in reversed(list(enumerate(self.layers))):
            np.matmul(x.T, dz, out=dW)
            if i > 0 or self.first_dx:
                np.matmul(dz, W.T, out=dx)


class TanhPasses:
    """The tanh evaluations of one step, alone: one ``np.tanh`` per array of ``shapes``.

    Each reads an array drawn from a standard normal (pre-activations of the size a step sees)
    and writes another, both allocated here. An MLP's step evaluates tanh once per hidden
    layer, forward (:meth:`of_mlp`); its backward pass takes the slope from the cached output.
    How long this takes next to the products depends on the processor and on the SIMD
    extensions NumPy finds on it, which pick the loop NumPy runs for tanh (:func:`numpy_simd`).
    """

    def __init__(self, shapes: Iterable[Sequence[int]], dtype: Any, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        self.arrays = [
            (rng.standard_normal(tuple(shape)).astype(dtype), np.empty(tuple(shape), dtype))
            for shape in shapes
        ]

    @classmethod
    def of_mlp(cls, mlp: gw.MLP, batch: int) -> TanhPasses:
        """The tanh layers of ``mlp`` on a batch of ``batch``."""
        tanh = gw.activations.Tanh
        shapes = [
            (batch, layer.n_out) for layer in mlp.layers if isinstance(layer.activation, tanh)
        ]
        return cls(shapes, mlp.dtype)

    def __call__(self) -> None:
        for z, a in self.arrays:
            np.tanh(z, out=a)


class FlatStep:
    """The NumPy calls of one library step, written out as one flat loop: a control.

    For an MLP of tanh hidden layers and a linear output layer (the benchmarked networks) and
    the MSE loss, it makes the calls :meth:`gradwatch.MLP.loss_and_grads` makes, in the same
    order, on arrays of the same shapes and dtype, and nothing else:

    - forward, per layer: ``np.matmul(x, W, out=z)``, ``z += b`` and, for a hidden layer,
      ``np.tanh(z, out=z)``;
    - the loss: ``diff = y_pred - y``, ``np.vdot(diff, diff)``, ``diff *= 2 / diff.size``;
    - backward, per layer from the last: for a hidden layer the slope ``a * a`` into a new
      array, ``1 - slope`` and ``da * slope`` in place (the output layer's ``dz`` is ``da``),
      then ``x.T @ dz``, ``ones @ dz`` and, but for the first layer, ``dz @ W.T``.

    What it leaves out is the library's structure: the layer objects and their method calls,
    the checks of the input and of the loss's arguments, the conversions that do nothing when
    the dtype is already right, the bookkeeping of the buffers kept from step to step, the
    lists returned. So the step's time over this one's is what that structure costs, and this
    one's time over :class:`MatmulFloor`'s is what NumPy's own calls cost: their fixed cost per
    call and the elementwise passes. It writes its gradients into arrays of its own (``dW``,
    ``db``), which a test compares with the library's, bit for bit.
    """

    def __init__(self, mlp: gw.MLP, x: np.ndarray, y: np.ndarray) -> None:
        dtype = mlp.dtype
        batch = x.shape[0]
        self.x = np.asarray(x, dtype)
        self.y = np.asarray(y, dtype)
        self.weights = [(layer.W, layer.b) for layer in mlp.layers]
        self.z = [np.empty((batch, layer.n_out), dtype) for layer in mlp.layers]
        self.dx = [np.empty((batch, layer.n_in), dtype) for layer in mlp.layers]
        self.dW = [np.empty_like(layer.W) for layer in mlp.layers]
        self.db = [np.empty_like(layer.b) for layer in mlp.layers]
        self.ones = np.ones(batch, dtype)

    def __call__(self) -> float:
        inputs = []
        a = self.x
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(self.weights):
            inputs.append(a)
            a = np.matmul(a, W, out=self.z[i])
            a += b
            if i < last:
                np.tanh(a, out=a)
        diff = a - self.y
        value: float = float(np.vdot(diff, diff)) / diff.size
        diff *= 2.0 / diff.size
        grad = diff
        for i in range(last, -1, -1):
            if i < last:
                slope = np.multiply(self.z[i], self.z[i], out=np.empty_like(self.z[i]))
                np.subtract(1.0, slope, out=slope)
                grad = np.multiply(grad, slope, out=slope)
            W, _ = self.weights[i]
            np.matmul(inputs[i].T, grad, out=self.dW[i])
            np.matmul(self.ones, grad, out=self.db[i])
            if i > 0:
                grad = np.matmul(grad, W.T, out=self.dx[i])
        return value


def bench_step_floor(
    nets: Iterable[Net] = NETS,
    dtypes: Iterable[str] = DTYPES,
    *,
    threads: int = 1,
    budget_s: float = 6.0,
    clock: Callable[[], float] = time.process_time,
) -> list[dict[str, Any]]:
    """Step (``MLP.loss_and_grads`` with MSE) against :class:`MatmulFloor`, per net and dtype.

    The floor leaves out the first layer's ``dx``, which ``loss_and_grads`` does not compute.
    :class:`TanhPasses` runs in the same rounds: ``tanh_ms`` is what the step's tanh alone
    costs, and ``ratio_tanh`` the step's time over the products' and the tanh's together, what
    the step costs beyond the two passes it cannot do without. So does :class:`FlatStep`, the
    step's NumPy calls without the library around them: ``flat_ms``, and ``ratio_flat`` its
    time over the products'.
    ``threads`` is the BLAS thread count the process runs with (set before NumPy loads); it
    picks the targets and is written in every row.
    """
    rows = []
    targets = TARGETS["step_floor"].get(thread_setting(threads), {})
    for net in nets:
        for dtype in dtypes:
            mlp, x, y = make_problem(net, dtype)
            floor = MatmulFloor(mlp, net.batch, first_dx=False)
            contenders: dict[str, Callable[[], object]] = {
                "step": step(mlp, x, y),
                "floor": floor,
                "tanh": TanhPasses.of_mlp(mlp, net.batch),
                "flat": FlatStep(mlp, x, y),
            }
            samples = interleaved(contenders, budget_s=budget_s, clock=clock)
            result = compare(samples["step"], samples["floor"])
            target = targets.get(net.key)
            rows.append(
                {
                    "net": net.key,
                    "layers": net.n_layers,
                    "width": net.width,
                    "batch": net.batch,
                    "dtype": dtype,
                    "threads": threads,
                    "products": floor.n_products,
                    "step_ms": result["a_ms"],
                    "floor_ms": result["b_ms"],
                    "ratio": result["ratio"],
                    "ratio_q1": result["ratio_q1"],
                    "ratio_q3": result["ratio_q3"],
                    **tanh_columns(result, samples["tanh"]),
                    **flat_columns(result, samples["flat"]),
                    "rounds": result["rounds"],
                    "target": target,
                    "holds": holds(result["ratio"], target),
                }
            )
            print_row("step/floor", rows[-1])
    return rows


def step(mlp: gw.MLP, x: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    """One training step of the library: forward, mean squared error, backward."""
    return lambda: mlp.loss_and_grads(x, y, "mse")


def holds(value: float, target: float | None) -> bool | None:
    """Whether ``value`` is at most ``target``; None when there is no target."""
    return None if target is None else bool(value <= target)


def print_row(section: str, row: Mapping[str, Any]) -> None:
    """One line of progress, so a long run shows it is alive."""
    what = " ".join(f"{k}={_short(v)}" for k, v in row.items() if k not in ("ratio_q1", "ratio_q3"))
    print(f"  [{section}] {what}", flush=True)


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- 2. against PyTorch --------------------------------------------------------------------------


def torch_step(
    torch: Any, mlp: gw.MLP, x: np.ndarray, y: np.ndarray
) -> tuple[Callable[[], Any], list[Any]]:
    """The same step in PyTorch: ``nn.Sequential`` of ``Linear`` and ``Tanh``, MSE, backward.

    The weights are copied from ``mlp`` (PyTorch stores ``W.T``). Gradients are set to None
    before each step, so each step writes fresh gradients as ``loss_and_grads`` does.
    Returns the step and the model's parameters.
    """
    modules: list[Any] = []
    dtype = getattr(torch, mlp.dtype.name)
    for i, layer in enumerate(mlp.layers):
        linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
            linear.bias.copy_(torch.from_numpy(layer.b.copy()))
        modules.append(linear)
        if i < len(mlp.layers) - 1:
            modules.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*modules)
    params = list(model.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_training_step() -> Any:
        for p in params:
            p.grad = None
        loss = torch.nn.functional.mse_loss(model(xt), yt)
        loss.backward()
        return loss

    return torch_training_step, params


def torch_grads_match(
    torch_training_step: Callable[[], Any],
    params: Sequence[Any],
    mlp: gw.MLP,
    x: np.ndarray,
    y: np.ndarray,
) -> bool:
    """Run both steps once and check they give the same gradients (the comparison is fair)."""
    torch_training_step()
    _, grads = mlp.loss_and_grads(x, y, "mse")
    theirs = []
    for p in params:
        g = p.grad.detach().numpy()
        theirs.append(g.T if g.ndim == 2 else g)
    tol = 1e-3 if mlp.dtype == np.float32 else 1e-9
    return all(
        np.allclose(mine, other, rtol=tol, atol=tol * float(np.abs(other).max() + 1e-30))
        for mine, other in zip(grads, theirs, strict=True)
    )


def import_torch() -> tuple[Any, str | None]:
    """``(torch, None)`` when PyTorch can be imported, else ``(None, why not)``."""
    try:
        import torch  # optional, never a dependency
    except ImportError as error:
        return None, f"torch is not importable ({error}); it is optional and never installed"
    return torch, None


#: At several threads, the pause before each sample of the PyTorch comparison (see
#: :func:`interleaved`): long enough here for PyTorch's OpenMP threads and OpenBLAS's to stop
#: spinning; with no pause both steps ran slower in the comparison than alone, PyTorch's most.
TORCH_SETTLE_S = 0.05


def bench_torch(
    nets: Iterable[Net] = NETS,
    dtypes: Iterable[str] = DTYPES,
    *,
    threads: int = 1,
    budget_s: float = 6.0,
    clock: Callable[[], float] = time.process_time,
) -> dict[str, Any]:
    """gradwatch's step against PyTorch's, same threads, interleaved; skipped without torch.

    At several threads each sample waits for the other library's threads to go idle first
    (``TORCH_SETTLE_S``).

    A third contender, NumPy's matrix products alone (the fewest a step needs), tells how close
    to PyTorch any NumPy step could come on this machine's BLAS: its ratio is a lower bound.
    """
    torch, reason = import_torch()
    if torch is None:
        print(f"  [torch] skipped: {reason}", flush=True)
        return {"available": False, "reason": reason, "rows": []}
    torch.set_num_threads(threads)
    rows = []
    for net in nets:
        for dtype in dtypes:
            mlp, x, y = make_problem(net, dtype)
            theirs, params = torch_step(torch, mlp, x, y)
            match = torch_grads_match(theirs, params, mlp, x, y)
            products = MatmulFloor(mlp, net.batch, first_dx=False)
            samples = interleaved(
                {"gradwatch": step(mlp, x, y), "torch": theirs, "products": products},
                budget_s=budget_s,
                clock=clock,
                settle_s=TORCH_SETTLE_S if threads > 1 else 0.0,
            )
            result = compare(samples["gradwatch"], samples["torch"])
            floor = compare(samples["products"], samples["torch"])
            target = TARGETS["torch"].get(net.key)
            rows.append(
                {
                    "net": net.key,
                    "threads": threads,
                    "layers": net.n_layers,
                    "width": net.width,
                    "batch": net.batch,
                    "dtype": dtype,
                    "gradwatch_ms": result["a_ms"],
                    "torch_ms": result["b_ms"],
                    "products_ms": floor["a_ms"],
                    "products": products.n_products,
                    "products_ratio": floor["ratio"],
                    "ratio": result["ratio"],
                    "ratio_q1": result["ratio_q1"],
                    "ratio_q3": result["ratio_q3"],
                    "rounds": result["rounds"],
                    "grads_match": match,
                    "target": target,
                    "holds": holds(result["ratio"], target),
                }
            )
            print_row("torch", rows[-1])
    return {
        "available": True,
        "reason": None,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": "mkl" if torch.backends.mkl.is_available() else "not mkl",
        "settle_s": TORCH_SETTLE_S,  # the pause before each sample, at several threads
        "rows": rows,
    }


# -- 3. clipping -------------------------------------------------------------------------------


def clip_floor(arrays: Sequence[np.ndarray], max_norm: float) -> float:
    """The memory-bandwidth floor of clipping: read every value once, then scale in place."""
    total = 0.0
    for g in arrays:
        flat = g.reshape(-1)
        total += float(np.dot(flat, flat))
    norm = math.sqrt(total)
    if norm > max_norm:
        factor = max_norm / norm
        for g in arrays:
            np.multiply(g, factor, out=g)
    return norm


def clip_contenders(
    arrays: list[np.ndarray],
) -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    """The library's clipping and :func:`clip_floor` on ``arrays``, and the untimed restore.

    The threshold is half the arrays' norm, so every call scales them by about 1/2; the
    restore, run before each sample but the first, doubles them back (a power of two: exact).
    """
    max_norm = gw.clip.global_norm(arrays) / 2
    started = [False]

    def restore() -> None:
        if started[0]:
            for g in arrays:
                np.multiply(g, 2, out=g)
        started[0] = True

    contenders: dict[str, Callable[[], object]] = {
        "clip": lambda: gw.clip.clip_by_global_norm(arrays, max_norm, inplace=True),
        "floor": lambda: clip_floor(arrays, max_norm),
    }
    return contenders, restore


def bench_clip(
    dtypes: Iterable[str] = DTYPES,
    *,
    shapes: Sequence[tuple[int, ...]] = CLIP_SHAPES,
    threads: int = 1,
    budget_s: float = 5.0,
    clock: Callable[[], float] = time.process_time,
) -> list[dict[str, Any]]:
    """``clip_by_global_norm(inplace=True)`` against :func:`clip_floor` (10 M values by default).

    ``threads`` as for :func:`bench_step_floor`.
    """
    rows = []
    for dtype in dtypes:
        rng = np.random.default_rng(3)
        arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
        contenders, restore = clip_contenders(arrays)
        samples = interleaved(contenders, budget_s=budget_s, setup=restore, clock=clock)
        result = compare(samples["clip"], samples["floor"])
        target = TARGETS["clip"].get(thread_setting(threads))
        rows.append(
            {
                "dtype": dtype,
                "threads": threads,
                "arrays": len(arrays),
                "values": sum(g.size for g in arrays),
                "clip_ms": result["a_ms"],
                "floor_ms": result["b_ms"],
                "ratio": result["ratio"],
                "ratio_q1": result["ratio_q1"],
                "ratio_q3": result["ratio_q3"],
                "rounds": result["rounds"],
                "target": target,
                "holds": holds(result["ratio"], target),
            }
        )
        print_row("clip", rows[-1])
    return rows


# -- 5. memory ---------------------------------------------------------------------------------


def backprop_bytes(sizes: Sequence[int], batch: int, itemsize: int) -> dict[str, int]:
    """The bytes a training step must hold at once, at the least.

    Parameters and their gradients; every activation backpropagation reuses (the input and the
    output of every layer); and the targets, which the loss reads.
    """
    if len(sizes) < 2 or batch < 1 or itemsize < 1:
        raise ValueError("need at least two sizes, a positive batch and a positive itemsize")
    n_params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    parts = {
        "parameters": n_params * itemsize,
        "gradients": n_params * itemsize,
        "activations": batch * sum(sizes) * itemsize,
        "targets": batch * sizes[-1] * itemsize,
    }
    return {**parts, "total": sum(parts.values())}


def peak_step_bytes(net: Net, dtype: str) -> int:
    """Peak traced memory during one training step, the network's state included.

    :mod:`tracemalloc` sees NumPy's array buffers. Counting starts before the network and the
    data are made; a first step fills the caches, then the peak of a second step is read: a
    step in the middle of training, when the previous step's activations are still held.
    """
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        mlp, x, y = make_problem(net, dtype)
        mlp.loss_and_grads(x, y, "mse")
        tracemalloc.reset_peak()
        mlp.loss_and_grads(x, y, "mse")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return peak - before


def bench_memory(
    nets: Iterable[Net] = (NETS_BY_KEY["b"], NETS_BY_KEY["c"]), dtypes: Iterable[str] = DTYPES
) -> list[dict[str, Any]]:
    """Peak memory of one step against :func:`backprop_bytes`, per net and dtype."""
    rows = []
    for net in nets:
        for dtype in dtypes:
            need = backprop_bytes(net.sizes, net.batch, np.dtype(dtype).itemsize)
            peak = peak_step_bytes(net, dtype)
            target = TARGETS["memory"].get(net.key)
            ratio = peak / need["total"]
            rows.append(
                {
                    "net": net.key,
                    "layers": net.n_layers,
                    "width": net.width,
                    "batch": net.batch,
                    "dtype": dtype,
                    **{f"{k}_bytes": v for k, v in need.items()},
                    "peak_bytes": peak,
                    "ratio": ratio,
                    "target": target,
                    "holds": holds(ratio, target),
                }
            )
            print_row("memory", rows[-1])
    return rows


# -- 4. the site build ---------------------------------------------------------------------------


def project_files(repo: Path) -> list[str]:
    """The files of a clone: tracked ones, plus untracked ones that are not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in out.split("\0") if name and (repo / name).is_file()]


def copy_project(repo: Path, dest: Path) -> None:
    """Copy the project's files (no ``.nox``, no build output) into ``dest``."""
    for name in project_files(repo):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)


def page_runtimes(cache_db: Path, docs: Path) -> dict[str, float]:
    """Seconds each page took to execute, from myst-nb's jupyter-cache database.

    The cache keeps one record per executed version of a page; the latest one is the build's.
    """
    connection = sqlite3.connect(f"file:{cache_db}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT uri, data, created FROM nbcache").fetchall()
    finally:
        connection.close()
    return latest_runtimes(rows, docs)


def latest_runtimes(rows: Iterable[tuple[str, str, str]], docs: Path) -> dict[str, float]:
    """From ``(uri, data JSON, created)`` records, each page's latest ``execution_seconds``."""
    latest: dict[str, tuple[str, float]] = {}
    for uri, data, created in rows:
        seconds = json.loads(data or "{}").get("execution_seconds")
        path = Path(uri)
        if seconds is None or path.parent != docs:
            continue
        page = path.stem
        if page not in latest or created > latest[page][0]:
            latest[page] = (created, float(seconds))
    return {page: latest[page][1] for page in sorted(latest)}


def timed(command: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path) -> float:
    """Run ``command``, its output to ``log``; return its wall time, or raise on failure."""
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            command, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, check=False
        )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}); see {log}")
    return elapsed


def bench_site_build(repo: Path = ROOT, workdir: Path | None = None) -> dict[str, Any]:
    """Cold and warm ``nox -s docs`` in a copy of ``repo``, and each page's execution time.

    Cold: a fresh copy, so a new virtual environment, no build output and no execution cache.
    Warm: the same command again with nothing changed; the rebuild proper is the warm
    ``sphinx-build`` alone, which the same copy then runs with the session's arguments.
    Pages execute as in a developer's build (jupyter-cache), so ``CI`` is unset.
    """
    nox = shutil.which("nox")
    if nox is None:
        raise RuntimeError("nox is not on PATH: install it with `pip install 'nox[uv]'`")
    base = Path(workdir or tempfile.mkdtemp(prefix="gradwatch-site-"))
    copy = base / "repo"
    if copy.exists():
        shutil.rmtree(copy)
    copy.mkdir(parents=True)
    copy_project(repo, copy)
    env = {
        k: v for k, v in os.environ.items() if k not in ("CI", "VIRTUAL_ENV", "NOX_CURRENT_SESSION")
    }
    print(f"  [site] building in {copy} (logs in {base})", flush=True)
    cold = timed([nox, "-s", "docs"], copy, env, base / "cold.log")
    print(f"  [site] cold nox -s docs: {cold:.1f} s", flush=True)
    warm = timed([nox, "-s", "docs"], copy, env, base / "warm.log")
    print(f"  [site] warm nox -s docs: {warm:.1f} s", flush=True)
    sphinx = copy / ".nox" / "docs" / "bin" / "sphinx-build"
    args = ["-n", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html"]
    rebuild = timed([str(sphinx), *args], copy, env, base / "rebuild.log")
    print(f"  [site] warm sphinx-build: {rebuild:.1f} s", flush=True)
    pages = page_runtimes(copy / "docs" / "_build" / ".jupyter_cache" / "global.db", copy / "docs")
    shutil.rmtree(copy)  # its virtual environment and build: hundreds of MB; the logs stay
    total = sum(pages.values())
    slowest = max(pages.values(), default=0.0)
    targets = TARGETS["site_build"]
    return {
        "cold_nox_docs_s": cold,
        "warm_nox_docs_s": warm,
        "warm_rebuild_s": rebuild,
        "pages": pages,
        "pages_total_s": total,
        "slowest_page_s": slowest,
        "targets": targets,
        "holds": {
            "cold_nox_docs_s": bool(cold <= targets["cold_nox_docs_s"]),
            "warm_nox_docs_s": bool(warm <= targets["warm_nox_docs_s"]),
            "warm_rebuild_s": bool(rebuild <= targets["warm_rebuild_s"]),
            "slowest_page_s": bool(slowest <= targets["slowest_page_s"]),
        },
    }


# -- the machine, the results file ---------------------------------------------------------------


def blas_info() -> dict[str, Any]:
    """NumPy's BLAS as built (name, version, configuration) and, if threadpoolctl is there, live."""
    info: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")  # type: ignore[call-arg]
        blas = config["Build Dependencies"]["blas"]
        info = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception as error:  # older NumPy: no dict mode
        info = {"error": str(error)}
    try:
        from threadpoolctl import threadpool_info  # optional
    except ImportError:
        info["threadpoolctl"] = None
    else:
        keys = ("internal_api", "version", "num_threads", "architecture")
        info["threadpoolctl"] = [
            {k: pool.get(k) for k in keys}
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        ]
    return info


def openblas_runtime() -> dict[str, Any] | None:
    """The kernel OpenBLAS chose for this processor and its thread count, read from the library.

    Looks for a loaded OpenBLAS in /proc/self/maps (Linux) and asks it through :mod:`ctypes`,
    as threadpoolctl does; None where that is not possible.
    """
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        found: dict[str, Any] = {"library": Path(path).name}
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                corename = getattr(lib, f"{prefix}_get_corename{suffix}", None)
                threads = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if corename is not None and threads is not None:
                    corename.restype = ctypes.c_char_p
                    found["corename"] = corename().decode()
                    found["num_threads"] = int(threads())
                    return found
    return None


def numpy_simd() -> dict[str, list[str]] | None:
    """The SIMD extensions NumPy was built for (``baseline``) and found on this processor.

    NumPy picks the loops of its transcendental functions (tanh, exp, ...) by them at run
    time, so a step's cost beyond its products depends on them. None where NumPy does not say.
    """
    try:
        config = np.show_config(mode="dicts")  # type: ignore[call-arg]
        simd = config["SIMD Extensions"]
        return {k: list(simd.get(k) or []) for k in ("baseline", "found", "not found")}
    except Exception:  # older NumPy: no dict mode
        return None


def cpu_model() -> str | None:
    """The processor's name from /proc/cpuinfo (Linux), else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def git_commit(repo: Path = ROOT) -> str | None:
    """The commit the benchmarks ran on, with ``+dirty`` when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine(threads: int, clock: str) -> dict[str, Any]:
    """What the numbers depend on: processor, cores, load, Python, NumPy and its BLAS, threads."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_simd": numpy_simd(),
        "gradwatch": gw.__version__,
        "blas": blas_info(),
        "openblas_runtime": openblas_runtime(),
        "threads": threads,
        "thread_env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
                "OPENBLAS_CORETYPE",
            )
        },
        "clock": clock,
        "commit": git_commit(),
    }


def now() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


#: Sections whose "holds" are reported but are not targets: which side wins against PyTorch
#: depends on the machine's BLAS (NumPy's OpenBLAS against PyTorch's MKL).
REPORTED_ONLY = ("torch",)


def missed_targets(fresh: Mapping[str, Any]) -> list[str]:
    """Where a freshly measured section missed a target: one line per ``holds`` that is False.

    Examples
    --------
    >>> fresh = {"clip": {"data": {"rows": [{"dtype": "float32", "holds": False}]}},
    ...          "torch": {"data": {"rows": [{"holds": False}]}}}
    >>> missed_targets(fresh)
    ['clip: rows[0] (dtype=float32)']
    >>> missed_targets({"site_build": {"data": {"holds": {"warm_nox_docs_s": False}}}})
    ['site_build: warm_nox_docs_s']
    """
    missed: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, Mapping):
            if value.get("holds") is False:
                labels = [f"{k}={value[k]}" for k in ("net", "dtype", "threads") if k in value]
                missed.append(f"{where} ({', '.join(labels)})" if labels else where)
            for key, item in value.items():
                if key == "holds" and isinstance(item, Mapping):
                    missed.extend(f"{where}.{name}" for name, ok in item.items() if ok is False)
                elif key != "holds":
                    walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")

    for name, result in fresh.items():
        if name not in REPORTED_ONLY:
            walk(result.get("data", {}), name)
    return [line.replace(".", ": ", 1) for line in missed]


def section(data: Any, machine_info: Mapping[str, Any]) -> dict[str, Any]:
    """Wrap one section's results with when and on what they were measured."""
    return {"created": now(), "machine": dict(machine_info), "data": data}


def combine(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One set of fresh sections from several runs, one per thread count, in the order given.

    A section measured in several runs gets the rows of all of them (each row says its thread
    count), the time and machine of the first, and the list of thread counts in its machine's
    ``threads``; a section measured once is kept as it is.

    Examples
    --------
    >>> one = {"clip": {"created": "t1", "machine": {"threads": 1}, "data": [{"threads": 1}]}}
    >>> two = {"clip": {"created": "t2", "machine": {"threads": 2}, "data": [{"threads": 2}]}}
    >>> both = combine([one, two])["clip"]
    >>> both["machine"]["threads"], [row["threads"] for row in both["data"]]
    ([1, 2], [1, 2])
    """
    out: dict[str, Any] = {}
    for fresh in runs:
        for name, value in fresh.items():
            if name not in out:
                out[name] = json.loads(json.dumps(value))  # a deep copy
                continue
            first = out[name]
            threads = first["machine"]["threads"]
            if not isinstance(threads, list):
                first["machine"]["threads"] = threads = [threads]
            threads.append(value["machine"]["threads"])
            if name == "torch":
                if not first["data"].get("available"):
                    first["data"] = dict(value["data"], rows=list(value["data"]["rows"]))
                elif value["data"].get("available"):
                    first["data"]["rows"] += value["data"]["rows"]
            else:
                first["data"] = [*first["data"], *value["data"]]
    return out


def merge(previous: Mapping[str, Any] | None, fresh: Mapping[str, Any]) -> dict[str, Any]:
    """The results file after a run: fresh sections replace old ones, the others are kept.

    So a run without ``--docs`` (or without PyTorch) keeps the last site-build (or PyTorch)
    measurement instead of erasing it. A PyTorch section that was skipped does not replace one
    that was measured.
    """
    if previous is not None and previous.get("schema") != SCHEMA:
        previous = None  # measured with another layout: nothing of it can be kept
    sections = dict((previous or {}).get("sections", {}))
    for name, value in fresh.items():
        old = sections.get(name)
        skipped = name == "torch" and not value["data"].get("available")
        if skipped and old is not None and old["data"].get("available"):
            continue
        sections[name] = value
    return {"schema": SCHEMA, "updated": now(), "sections": sections}


_ROW_KEYS: dict[str, tuple[str, ...]] = {
    "step_floor": (
        "net",
        "dtype",
        "threads",
        "step_ms",
        "floor_ms",
        "ratio",
        "tanh_ms",
        "ratio_tanh",
        "flat_ms",
        "ratio_flat",
        "rounds",
        "target",
        "holds",
    ),
    "layers": (
        "net",
        "label",
        "dtype",
        "threads",
        "step_ms",
        "floor_ms",
        "ratio",
        "tanh_ms",
        "ratio_tanh",
        "rounds",
        "target",
        "holds",
    ),
    "torch": (
        "net",
        "dtype",
        "gradwatch_ms",
        "torch_ms",
        "ratio",
        "grads_match",
        "target",
        "holds",
    ),
    "clip": (
        "dtype",
        "threads",
        "arrays",
        "values",
        "clip_ms",
        "floor_ms",
        "ratio",
        "target",
        "holds",
    ),
    "memory": ("net", "dtype", "total_bytes", "peak_bytes", "ratio", "target", "holds"),
}
_SITE_KEYS = (
    "cold_nox_docs_s",
    "warm_nox_docs_s",
    "warm_rebuild_s",
    "pages",
    "pages_total_s",
    "slowest_page_s",
)


def validate(results: Mapping[str, Any]) -> list[str]:
    """Problems with a results document (an empty list when it is well formed)."""
    problems = []
    if results.get("schema") != SCHEMA:
        problems.append(f"schema must be {SCHEMA}, got {results.get('schema')!r}")
    sections = results.get("sections")
    if not isinstance(sections, dict):
        return [*problems, "sections must be an object"]
    for name, value in sections.items():
        if name not in SECTIONS:
            problems.append(f"unknown section {name!r}")
            continue
        problems += [
            f"{name}: missing {k!r}" for k in ("created", "machine", "data") if k not in value
        ]
        data = value.get("data")
        if name == "site_build":
            problems += [f"site_build: missing {k!r}" for k in _SITE_KEYS if k not in (data or {})]
            continue
        rows = data.get("rows", []) if name == "torch" and isinstance(data, dict) else data
        if name == "torch" and not (isinstance(data, dict) and "available" in data):
            problems.append("torch: data must say whether torch was available")
        if not isinstance(rows, list):
            problems.append(f"{name}: rows must be a list")
            continue
        for i, row in enumerate(rows):
            problems += [f"{name}[{i}]: missing {k!r}" for k in _ROW_KEYS[name] if k not in row]
            ratio = row.get("ratio")
            if not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio <= 0:
                problems.append(f"{name}[{i}]: ratio must be a positive number, got {ratio!r}")
    return problems


def load(path: Path = RESULTS) -> dict[str, Any] | None:
    """The results file, or None when there is none yet."""
    return json.loads(path.read_text()) if path.is_file() else None


def save(results: Mapping[str, Any], path: Path = RESULTS) -> None:
    """Check the results, then write them through a temporary file (a crash leaves no half file)."""
    problems = validate(results)
    if problems:
        raise ValueError("results do not match the schema: " + "; ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


# -- tables --------------------------------------------------------------------------------------


NET_HEADER = "network: layers x width, batch"


def _net_label(row: Mapping[str, Any]) -> str:
    return f"({row['net']}) {row['layers']} x {row['width']}, {row['batch']}"


def _verdict(row: Mapping[str, Any]) -> str:
    if row.get("holds") is None:
        return "-"
    return "yes" if row["holds"] else "NO"


def _target(value: float | None) -> str:
    return "-" if value is None else f"<= {value:g}"


def tables(results: Mapping[str, Any]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each measured section as ``(header, rows)`` of strings, ready for text or Markdown."""
    sections = results.get("sections", {})
    out: dict[str, tuple[list[str], list[list[str]]]] = {}
    if "step_floor" in sections:
        header = [
            NET_HEADER,
            "dtype",
            "threads",
            "step (ms)",
            "products (ms)",
            "ratio",
            "quartiles",
            "target",
            "holds",
            "tanh (ms)",
            "step / (products + tanh)",
            "flat loop / products",
        ]
        out["step_floor"] = (
            header,
            [
                [
                    _net_label(r),
                    r["dtype"],
                    str(r["threads"]),
                    f"{r['step_ms']:.3f}",
                    f"{r['floor_ms']:.3f}",
                    f"{r['ratio']:.3f}",
                    f"{r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}",
                    _target(r["target"]),
                    _verdict(r),
                    f"{r['tanh_ms']:.3f}",
                    f"{r['ratio_tanh']:.3f}",
                    f"{r['ratio_flat']:.3f}",
                ]
                for r in sections["step_floor"]["data"]
            ],
        )
    if "layers" in sections:
        header = [
            "network",
            "dtype",
            "threads",
            "step (ms)",
            "floor (ms)",
            "ratio",
            "quartiles",
            "target",
            "holds",
            "tanh (ms)",
            "step / (floor + tanh)",
        ]
        out["layers"] = (
            header,
            [
                [
                    r["label"],
                    r["dtype"],
                    str(r["threads"]),
                    f"{r['step_ms']:.3f}",
                    f"{r['floor_ms']:.3f}",
                    f"{r['ratio']:.3f}",
                    f"{r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}",
                    _target(r["target"]),
                    _verdict(r),
                    f"{r['tanh_ms']:.3f}",
                    f"{r['ratio_tanh']:.3f}",
                ]
                for r in sections["layers"]["data"]
            ],
        )
    torch = sections.get("torch", {}).get("data")
    if torch and torch.get("available"):
        header = [
            NET_HEADER,
            "dtype",
            "threads",
            "gradwatch (ms)",
            "PyTorch (ms)",
            "ratio",
            "quartiles",
            "products / PyTorch",
            "earlier target",
            "within it",
        ]
        out["torch"] = (
            header,
            [
                [
                    _net_label(r),
                    r["dtype"],
                    str(r.get("threads", "-")),
                    f"{r['gradwatch_ms']:.3f}",
                    f"{r['torch_ms']:.3f}",
                    f"{r['ratio']:.3f}",
                    f"{r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}",
                    f"{r['products_ratio']:.3f}" if "products_ratio" in r else "-",
                    _target(r["target"]),
                    _verdict(r),
                ]
                for r in torch["rows"]
            ],
        )
    if "clip" in sections:
        header = [
            "dtype",
            "threads",
            "arrays",
            "values",
            "clip (ms)",
            "floor (ms)",
            "ratio",
            "target",
            "holds",
        ]
        out["clip"] = (
            header,
            [
                [
                    r["dtype"],
                    str(r["threads"]),
                    str(r["arrays"]),
                    f"{r['values']:,}",
                    f"{r['clip_ms']:.2f}",
                    f"{r['floor_ms']:.2f}",
                    f"{r['ratio']:.3f}",
                    _target(r["target"]),
                    _verdict(r),
                ]
                for r in sections["clip"]["data"]
            ],
        )
    if "memory" in sections:
        header = [NET_HEADER, "dtype", "must keep (MB)", "peak (MB)", "ratio", "target", "holds"]
        out["memory"] = (
            header,
            [
                [
                    _net_label(r),
                    r["dtype"],
                    f"{r['total_bytes'] / 1e6:.2f}",
                    f"{r['peak_bytes'] / 1e6:.2f}",
                    f"{r['ratio']:.3f}",
                    _target(r["target"]),
                    _verdict(r),
                ]
                for r in sections["memory"]["data"]
            ],
        )
    site = sections.get("site_build", {}).get("data")
    if site:
        targets, ok = site["targets"], site["holds"]

        def measure(label: str, key: str, fmt: str = ".1f") -> list[str]:
            verdict = {True: "yes", False: "NO"}.get(ok.get(key), "-")
            return [label, format(site[key], fmt), _target(targets.get(key)), verdict]

        out["site_build"] = (
            ["measure", "seconds", "target", "holds"],
            [
                measure("cold nox -s docs (new virtual environment)", "cold_nox_docs_s"),
                measure("warm nox -s docs", "warm_nox_docs_s"),
                measure("warm sphinx-build (the rebuild)", "warm_rebuild_s"),
                measure("all pages' execution, added up", "pages_total_s"),
                measure("the slowest page's execution", "slowest_page_s"),
                *(
                    [f"  page {page}", f"{seconds:.1f}", "-", "-"]
                    for page, seconds in sorted(site["pages"].items(), key=lambda kv: -kv[1])
                ),
            ],
        )
    return out


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, for a terminal."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown (GFM) table, as MyST renders it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


TITLES = {
    "step_floor": "1. One step against its matrix products alone",
    "layers": "1b. Normalised, residual and recurrent networks against their own floors",
    "torch": "2. gradwatch's step against PyTorch's",
    "clip": "3. Clipping 10 M values in place against one read-and-scale pass",
    "memory": "5. Peak memory of one step against what it must keep",
    "site_build": "4. Building the site",
}


def simd_words(simd: Mapping[str, Sequence[str]] | None) -> str:
    """NumPy's SIMD extensions in words: those it found (else its baseline), those it did not.

    Examples
    --------
    >>> simd_words({"baseline": ["X86_V2"], "found": ["X86_V3"], "not found": ["X86_V4"]})
    'X86_V3 (not X86_V4)'
    >>> simd_words({"baseline": ["X86_V2"], "found": [], "not found": []})
    'X86_V2'
    >>> simd_words(None)
    'not known'
    """
    if not simd:
        return "not known"
    found = list(simd.get("found") or simd.get("baseline") or [])
    missing = list(simd.get("not found") or [])
    words = ", ".join(found) or "none"
    return words + (f" (not {', '.join(missing)})" if missing else "")


def machine_line(info: Mapping[str, Any]) -> str:
    """The BLAS, its kernel, NumPy's SIMD and the thread count a section was measured with.

    NumPy's SIMD is the highest level it found on the processor (its build's baseline if it
    found none above it), and is left out when the results do not say.

    Examples
    --------
    >>> machine_line({"blas": {"name": "scipy-openblas", "version": "0.3.30"},
    ...               "openblas_runtime": {"corename": "Haswell"}, "threads": 2})
    'BLAS scipy-openblas 0.3.30, kernel Haswell, 2 threads'
    >>> machine_line({"blas": {"name": "scipy-openblas", "version": "0.3.30"},
    ...               "openblas_runtime": {"corename": "Haswell"}, "threads": 1,
    ...               "numpy_simd": {"baseline": ["X86_V2"], "found": ["X86_V3"]}})
    'BLAS scipy-openblas 0.3.30, kernel Haswell, NumPy SIMD X86_V3, 1 thread'
    """
    blas = info.get("blas") or {}
    kernel = (info.get("openblas_runtime") or {}).get("corename", "unknown")
    threads = info.get("threads", "?")
    if isinstance(threads, list):  # several runs, one per thread count
        counts = [str(n) for n in threads]
        words = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
        plural = "" if threads == [1] else "s"
    else:
        words, plural = str(threads), "" if threads == 1 else "s"
    name = f"{blas.get('name', '?')} {blas.get('version', '?')}"
    simd = info.get("numpy_simd") or {}
    levels = simd.get("found") or simd.get("baseline")
    simd_part = f", NumPy SIMD {levels[-1]}" if levels else ""
    return f"BLAS {name}, kernel {kernel}{simd_part}, {words} thread{plural}"


def report(results: Mapping[str, Any]) -> str:
    """The whole printed report: one table per section, in the order of the issue."""
    parts = []
    for name in ("step_floor", "layers", "torch", "clip", "site_build", "memory"):
        table = tables(results).get(name)
        if table is None:
            continue
        value = results["sections"][name]
        where = machine_line(value.get("machine", {}))
        parts.append(
            f"{TITLES[name]}  (measured {value['created']}; {where})\n{text_table(*table)}"
        )
    torch = results.get("sections", {}).get("torch", {}).get("data")
    if torch and not torch.get("available"):
        parts.append(f"{TITLES['torch']}: skipped, {torch['reason']}")
    return "\n\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run benchmarks/run.py (or `nox -s bench`), not this module")
