r"""Precision: underflow, overflow and loss scaling, the experiment of ``docs/precision.md``.

float16 keeps 10 fraction bits and 5 exponent bits: nothing below :math:`2^{-24} \approx 6
\times 10^{-8}` and nothing above 65504. A deep sigmoid network's gradients shrink by about a
factor 4 per layer on the way back, so in float16 the first layers' weight gradients round to
zero. The experiment measures, on the same weights and batch in float16 and float32:

- the fraction of each layer's weight gradient that underflows to zero in float16, without loss
  scaling and with a static loss scale (:func:`gradients`, :func:`underflow_fractions`), and a
  static scale so large that the gradients overflow;
- the fraction of SGD updates that a float16 weight cannot register (:func:`lost_updates`), the
  reason for float32 master weights;
- a training run with dynamic loss scaling (:class:`gradwatch.amp.GradScaler`) next to the
  float32 run and an unscaled float16 run (:func:`train_run`): the scale it finds, the steps
  it skips.

Its settings are in ``conf/precision.toml``; ``python -m gradwatch run precision`` runs it.

Examples
--------
>>> from gradwatch.experiments import precision
>>> precision.formats()["float16"]["max"]
65504.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import amp, optim, plotting
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import activation, at_most, distinct, non_negative, positive, require
from gradwatch.network import MLP

#: The training runs of :func:`train_run`, in the page's order.
MODES = ("float32", "dynamic", "unscaled")

#: How the page and the figures name them.
LABELS = {
    "float32": "float32",
    "dynamic": "float16, dynamic loss scaling",
    "unscaled": "float16, no loss scaling",
}


@dataclass(frozen=True)
class Settings:
    """Settings of the precision experiment (``conf/precision.toml``).

    Attributes
    ----------
    activation : str
        Activation of the hidden layers.
    n_in, width, depth : int
        Input features, width and number of hidden layers (Xavier-normal weights).
    n_samples, batch_size : int
        Data set and mini-batch sizes (``batch_size`` at most ``n_samples``).
    seeds : list of int
        One network, data set and batch per seed for the gradient measurements; the training
        runs use the first seed.
    static_scale : float
        The static loss scale that recovers the gradients.
    overflow_scale : float
        A static loss scale too large: the gradients overflow.
    lr, momentum : float
        SGD with momentum (momentum in [0, 1)) of the training runs and of :func:`lost_updates`.
    steps : int
        Training steps.
    init_scale, growth_interval : float, int
        The :class:`~gradwatch.amp.GradScaler` of the dynamic run (growth and backoff factors
        are PyTorch's defaults, 2 and 0.5).

    Examples
    --------
    >>> Settings(static_scale=0.5)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'static_scale' = 0.5: expected a number >= 1
    """

    activation: str = "sigmoid"
    n_in: int = 16
    width: int = 32
    depth: int = 8
    n_samples: int = 256
    batch_size: int = 64
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    static_scale: float = 1024.0
    overflow_scale: float = 1048576.0
    lr: float = 0.1
    momentum: float = 0.9
    steps: int = 300
    init_scale: float = 65536.0
    growth_interval: int = 50

    def __post_init__(self) -> None:
        activation("activation", self.activation)
        positive("n_in", self.n_in)
        positive("width", self.width)
        positive("depth", self.depth)
        positive("n_samples", self.n_samples)
        positive("batch_size", self.batch_size)
        at_most("batch_size", self.batch_size, self.n_samples, limit="n_samples")
        non_negative("seeds", self.seeds)
        distinct("seeds", self.seeds)
        positive("static_scale", self.static_scale)
        require(self.static_scale >= 1, "static_scale", self.static_scale, "a number >= 1")
        positive("overflow_scale", self.overflow_scale)
        require(
            self.overflow_scale > self.static_scale,
            "overflow_scale",
            self.overflow_scale,
            f"a number above static_scale = {self.static_scale:g}",
        )
        positive("lr", self.lr)
        non_negative("momentum", self.momentum)
        require(self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        positive("steps", self.steps)
        positive("init_scale", self.init_scale)
        require(self.init_scale < 3e38, "init_scale", self.init_scale, "a float32 number")
        positive("growth_interval", self.growth_interval)


def formats() -> dict[str, dict[str, float]]:
    r"""Return the range and resolution of float16 and float32, from ``np.finfo``.

    With :math:`e` exponent bits (bias :math:`2^{e-1}-1`) and :math:`p` fraction bits: the
    largest finite value is :math:`(2 - 2^{-p})\, 2^{2^{e-1}-1}`, the smallest normal
    :math:`2^{2-2^{e-1}}`, the smallest subnormal :math:`2^{2-2^{e-1}-p}` and machine epsilon
    :math:`2^{-p}`; float16 has :math:`e = 5, p = 10`, float32 :math:`e = 8, p = 23`.

    Returns
    -------
    dict
        For ``"float16"`` and ``"float32"``: ``max``, ``smallest_normal``,
        ``smallest_subnormal``, ``eps``, and the bits ``exponent_bits``, ``fraction_bits``.

    Examples
    --------
    >>> f16 = formats()["float16"]
    >>> f16["smallest_subnormal"] == 2.0**-24, f16["eps"] == 2.0**-10
    (True, True)
    """
    table: dict[str, dict[str, float]] = {}
    for dtype in (np.float16, np.float32):
        info = np.finfo(dtype)
        table[np.dtype(dtype).name] = {
            "max": float(info.max),
            "smallest_normal": float(info.smallest_normal),
            "smallest_subnormal": float(info.smallest_subnormal),
            "eps": float(info.eps),
            "exponent_bits": int(info.nexp),
            "fraction_bits": int(info.nmant),
        }
    return table


def task(settings: Settings, seed: int) -> tuple[Array, Array]:
    r"""Draw the data of one seed: standard normal ``x`` and :math:`y = \tanh(x_1 x_2)`.

    Examples
    --------
    >>> x, y = task(Settings(), seed=0)
    >>> x.shape, y.shape
    ((256, 16), (256, 1))
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((settings.n_samples, settings.n_in))
    return x, np.tanh(x[:, :1] * x[:, 1:2])


def networks(settings: Settings, seed: int) -> tuple[MLP, MLP]:
    """Build the float16 network of one seed, and a float32 copy with exactly its weights.

    Both are ``[n_in] + [width] * depth + [1]`` with Xavier-normal weights; the float32 copy
    holds the float16 values (float16 fits in float32 exactly), so any difference between the
    two comes from the arithmetic alone.

    Examples
    --------
    >>> net16, net32 = networks(Settings(depth=2), seed=0)
    >>> net16.dtype, net32.dtype, bool((net16.params()[0] == net32.params()[0]).all())
    (dtype('float16'), dtype('float32'), True)
    """
    sizes = [settings.n_in] + [settings.width] * settings.depth + [1]
    net16 = MLP(sizes, settings.activation, init="xavier_normal", seed=seed, dtype=np.float16)
    net32 = MLP(sizes, settings.activation, init="xavier_normal", seed=seed, dtype=np.float32)
    for p32, p16 in zip(net32.params(), net16.params(), strict=True):
        p32[...] = p16
    return net16, net32


def weight_gradients(net: MLP, x: Array, y: Array, scale: float = 1.0) -> list[Array]:
    """Return each layer's weight gradient, computed with ``loss_scale=scale``, unscaled in float32.

    The backward pass runs in the network's dtype; overflow becomes inf (no warning).

    Examples
    --------
    >>> import numpy as np
    >>> net16, _ = networks(Settings(depth=2), seed=0)
    >>> x, y = task(Settings(), seed=0)
    >>> [g.dtype.name for g in weight_gradients(net16, x[:8], y[:8], scale=8.0)]
    ['float32', 'float32', 'float32']
    """
    with np.errstate(over="ignore", invalid="ignore"):
        _, grads = net.loss_and_grads(x, y, loss_scale=scale)
        return [g.astype(np.float32) / np.float32(scale) for g in grads if g.ndim == 2]


@dataclass(frozen=True)
class Gradients:
    """Weight gradients of every seed's batch, in float32 and in float16 at several loss scales.

    Attributes
    ----------
    reference : list of list of ndarray
        Per seed, per layer: the float32 network's gradients.
    by_scale : dict of float to list of list of ndarray
        Per loss scale (1, ``static_scale``, ``overflow_scale``), per seed, per layer: the
        float16 network's gradients, unscaled in float32.
    """

    reference: list[list[Array]]
    by_scale: dict[float, list[list[Array]]]


def gradients(settings: Settings, progress: Progress = no_progress) -> Gradients:
    """Measure the weight gradients of one batch per seed, float32 and float16 at each scale.

    Parameters
    ----------
    settings : Settings
    progress : callable, optional
        Called as ``progress("gradients", done, n_seeds)``.

    Returns
    -------
    Gradients

    Examples
    --------
    >>> grads = gradients(Settings(depth=2, seeds=[0]))
    >>> sorted(grads.by_scale), len(grads.reference[0])
    ([1.0, 1024.0, 1048576.0], 3)
    """
    scales = (1.0, settings.static_scale, settings.overflow_scale)
    reference: list[list[Array]] = []
    by_scale: dict[float, list[list[Array]]] = {s: [] for s in scales}
    for i, seed in enumerate(settings.seeds):
        x, y = task(settings, seed)
        x, y = x[: settings.batch_size], y[: settings.batch_size]
        net16, net32 = networks(settings, seed)
        reference.append(weight_gradients(net32, x, y))
        for scale in scales:
            by_scale[scale].append(weight_gradients(net16, x, y, scale))
        progress("gradients", i + 1, len(settings.seeds))
    return Gradients(reference, by_scale)


def underflow_fractions(grads: Gradients, scale: float) -> Array:
    """Per seed and layer, the fraction of non-zero float32 gradient entries that are 0 in float16.

    Examples
    --------
    >>> grads = gradients(Settings(depth=8, seeds=[0]))
    >>> fractions = underflow_fractions(grads, 1.0)
    >>> fractions.shape, bool(fractions[0, 0] > fractions[0, -1])
    ((1, 9), True)
    """
    rows = []
    for seed_grads, seed_ref in zip(grads.by_scale[scale], grads.reference, strict=True):
        rows.append(
            [
                float(np.mean(g[ref != 0] == 0)) if np.any(ref != 0) else 0.0
                for g, ref in zip(seed_grads, seed_ref, strict=True)
            ]
        )
    return np.array(rows)


def relative_errors(grads: Gradients, scale: float) -> Array:
    r"""Per seed and layer, :math:`\lVert g_{16} - g_{32} \rVert / \lVert g_{32} \rVert`.

    inf where the float16 gradient overflowed.

    Examples
    --------
    >>> grads = gradients(Settings(depth=2, seeds=[0]))
    >>> bool(relative_errors(grads, 1024.0).max() < 0.05)
    True
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array(
            [
                [
                    float(np.linalg.norm(g - ref) / np.linalg.norm(ref))
                    if np.isfinite(g).all()
                    else float("inf")
                    for g, ref in zip(seed_grads, seed_ref, strict=True)
                ]
                for seed_grads, seed_ref in zip(grads.by_scale[scale], grads.reference, strict=True)
            ]
        )


def overflowed(grads: Gradients, scale: float) -> list[bool]:
    """Per seed, whether any gradient at this loss scale is inf or nan.

    Examples
    --------
    >>> grads = gradients(Settings(depth=2, seeds=[0]))
    >>> overflowed(grads, 1024.0), overflowed(grads, 1048576.0)
    ([False], [True])
    """
    return [
        not all(bool(np.isfinite(g).all()) for g in seed_grads)
        for seed_grads in grads.by_scale[scale]
    ]


def lost_updates(settings: Settings, grads: Gradients) -> Array:
    r"""Per seed and layer, the fraction of non-zero SGD updates a float16 weight cannot register.

    The first SGD step moves a weight by :math:`\Delta = \eta g` (momentum starts at zero). In
    float16 the sum :math:`w + \Delta` rounds back to :math:`w` when :math:`|\Delta|` is below
    half a unit in the last place of :math:`w`: :math:`2^{-12}` for :math:`w \in [0.5, 1)`.
    The gradients are the float32 ones, so this measures the weight format alone.

    Examples
    --------
    >>> small = Settings(depth=8, seeds=[0])
    >>> lost = lost_updates(small, gradients(small))
    >>> bool(lost[0, 0] > 0.9), bool(lost[0, -1] < 0.5)
    (True, True)
    """
    rows = []
    for seed, seed_ref in zip(settings.seeds, grads.reference, strict=True):
        net16, _ = networks(settings, seed)
        weights = [p for p in net16.params() if p.ndim == 2]
        row = []
        for w, g in zip(weights, seed_ref, strict=True):
            delta = settings.lr * g
            moved = delta != 0
            updated = (w.astype(np.float32) - delta).astype(np.float16)
            row.append(float(np.mean(updated[moved] == w[moved])) if moved.any() else 0.0)
        rows.append(row)
    return np.array(rows)


@dataclass(frozen=True)
class Run:
    """One training run of :func:`train_run`, step by step.

    Attributes
    ----------
    loss : ndarray, shape (steps,)
        Mini-batch loss (unscaled).
    scale : ndarray, shape (steps,)
        Loss scale used at the step (1 without scaling).
    stepped : ndarray of bool, shape (steps,)
        False where the step was skipped after an overflow.
    first_layer_zeros : ndarray, shape (steps,)
        Fraction of the first layer's weight-gradient entries that are exactly 0.
    """

    loss: Array
    scale: Array
    stepped: np.ndarray[Any, np.dtype[np.bool_]]
    first_layer_zeros: Array


def train_run(settings: Settings, mode: str) -> Run:
    """Train the first seed's network with SGD and momentum, in float32 or in mixed precision.

    Every mode starts from the same weights (the float16 values) and sees the same batches.

    - ``"float32"``: the float32 network, updated directly;
    - ``"dynamic"``: the float16 network with float32 master weights and a
      :class:`~gradwatch.amp.GradScaler`, one :func:`gradwatch.amp.scaled_step` per step;
    - ``"unscaled"``: the same without loss scaling (the scale stays 1).

    Parameters
    ----------
    settings : Settings
    mode : {"float32", "dynamic", "unscaled"}

    Returns
    -------
    Run

    Examples
    --------
    >>> run = train_run(Settings(depth=2, steps=3), "dynamic")  # the first step overflows
    >>> run.scale.tolist(), run.stepped.tolist()
    ([65536.0, 32768.0, 32768.0], [False, True, True])
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    seed = settings.seeds[0]
    x, y = task(settings, seed)
    net16, net32 = networks(settings, seed)
    net = net32 if mode == "float32" else net16
    master = amp.MasterWeights(net.params())
    opt = optim.SGD(lr=settings.lr, momentum=settings.momentum)
    scaler = amp.GradScaler(
        init_scale=settings.init_scale if mode == "dynamic" else 1.0,
        growth_interval=settings.growth_interval if mode == "dynamic" else 2**62,
    )
    rng = np.random.default_rng(seed)
    loss, scale, zeros = (np.empty(settings.steps) for _ in range(3))
    stepped = np.zeros(settings.steps, dtype=bool)
    first = net.params()[0]
    for step in range(settings.steps):
        batch = rng.choice(settings.n_samples, settings.batch_size, replace=False)
        scale[step] = scaler.get_scale()
        loss[step], stepped[step] = amp.scaled_step(net, x[batch], y[batch], opt, scaler, master)
        zeros[step] = float(np.mean(net.grads()[0] == 0)) if first.ndim == 2 else 0.0
    return Run(loss, scale, stepped, zeros)


def train_all(settings: Settings, progress: Progress = no_progress) -> dict[str, Run]:
    """Run every mode of :func:`train_run`.

    Examples
    --------
    >>> list(train_all(Settings(depth=2, steps=2)))
    ['float32', 'dynamic', 'unscaled']
    """
    runs: dict[str, Run] = {}
    for i, mode in enumerate(MODES):
        runs[mode] = train_run(settings, mode)
        progress("training", i + 1, len(MODES))
    return runs


def summarise(
    settings: Settings, grads: Gradients, lost: Array, runs: dict[str, Run]
) -> dict[str, Any]:
    """Numbers the page quotes, JSON-ready.

    ``grads``, ``lost`` and ``runs`` are the return values of the steps :func:`gradients`,
    :func:`lost_updates` and :func:`train_all`.

    Returns
    -------
    dict
        ``float16`` and ``float32``: :func:`formats`; the network (``depth``, ``width``,
        ``n_seeds``, ``static_scale``, ``overflow_scale``); ``underflow``: for ``unscaled``
        and ``static``, the fraction of the first and of the last layer's gradient entries
        that underflow (mean over seeds; ``first_min`` over seeds) and the largest relative
        error of any layer and seed (``error_max``); ``static_overflows`` and
        ``large_overflows`` (the number of seeds whose gradients overflowed); ``lost``: the
        fraction of updates lost in the first and in the last layer (mean over seeds);
        ``train``: the settings of the runs, and per mode the final loss (mean of the last 20
        steps), the skipped steps, the first skipped step (-1 if none), the final and the
        smallest and largest scale, the growths, and the mean fraction of zero first-layer
        gradients.

    Examples
    --------
    >>> small = Settings(depth=2, seeds=[0], steps=3)
    >>> grads = gradients(small)
    >>> numbers = summarise(small, grads, lost_updates(small, grads), train_all(small))
    >>> numbers["float16"]["max"], numbers["static_overflows"]
    (65504.0, 0)
    """
    numbers: dict[str, Any] = {
        **formats(),
        "depth": settings.depth,
        "width": settings.width,
        "n_seeds": len(settings.seeds),
        "static_scale": settings.static_scale,
        "overflow_scale": settings.overflow_scale,
    }
    numbers["underflow"] = {}
    for key, scale in (("unscaled", 1.0), ("static", settings.static_scale)):
        fractions = underflow_fractions(grads, scale)
        numbers["underflow"][key] = {
            "first": float(fractions[:, 0].mean()),
            "first_min": float(fractions[:, 0].min()),
            "last": float(fractions[:, -1].mean()),
            "max": float(fractions.max()),
            "error_first": float(relative_errors(grads, scale)[:, 0].mean()),
            "error_max": float(relative_errors(grads, scale).max()),
        }
    numbers["static_overflows"] = sum(overflowed(grads, settings.static_scale))
    numbers["large_overflows"] = sum(overflowed(grads, settings.overflow_scale))
    numbers["lost"] = {
        "first": float(lost[:, 0].mean()),
        "first_min": float(lost[:, 0].min()),
        "last": float(lost[:, -1].mean()),
    }
    numbers["train"] = {
        "steps": settings.steps,
        "lr": settings.lr,
        "init_scale": settings.init_scale,
        "growth_interval": settings.growth_interval,
    }
    for mode, run in runs.items():
        skipped = np.flatnonzero(~run.stepped)
        numbers["train"][mode] = {
            "loss": float(np.mean(run.loss[-20:])),
            "skipped": len(skipped),
            "first_skip": int(skipped[0]) if skipped.size else -1,
            "scale_final": float(run.scale[-1]),
            "scale_min": float(run.scale.min()),
            "scale_max": float(run.scale.max()),
            "growths": int(np.sum(run.scale[1:] > run.scale[:-1])),
            "zeros": float(np.mean(run.first_layer_zeros)),
        }
    return numbers


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def figure_underflow(settings: Settings, grads: Gradients, lost: Array) -> Any:
    """Per layer: gradients that underflow in float16, unscaled and scaled, and lost updates.

    Lines are means over seeds, the shaded bands their range.

    Parameters
    ----------
    settings : Settings
    grads : Gradients
    lost : ndarray
        From :func:`lost_updates`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> small = Settings(depth=2, seeds=[0])
    >>> grads = gradients(small)
    >>> fig = figure_underflow(small, grads, lost_updates(small, grads))
    >>> fig.axes[0].get_ylabel()
    'fraction of entries'
    """
    series = {
        "gradient underflows to 0 (float16, no scaling)": underflow_fractions(grads, 1.0),
        f"gradient underflows to 0 (loss scale {settings.static_scale:g})": underflow_fractions(
            grads, settings.static_scale
        ),
        "SGD update lost in a float16 weight": lost,
    }
    colors = [plotting.COLORS[i] for i in (0, 2, 3)]
    fig, ax = plotting.figure(width=6.8, height=4.0)
    with plotting.style():
        plotting.lines_with_range(ax, series, colors=colors, fmts=["o-", "o-", "o--"], ms=3.5)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("layer (1 = first, last = output)")
        ax.set_ylabel("fraction of entries")
        ax.legend(fontsize=9)
    return fig


def figure_scaling(runs: dict[str, Run]) -> Any:
    """Dynamic loss scaling over a run: the scale with the skipped steps, and the losses.

    Parameters
    ----------
    runs : dict of str to Run
        From :func:`train_all`.

    Returns
    -------
    matplotlib.figure.Figure
        Left: the scale per step (log 2 axis), skipped steps marked. Right: the loss of
        every run.

    Examples
    --------
    >>> fig = figure_scaling(train_all(Settings(depth=2, steps=3)))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['loss scale', 'mini-batch loss']
    """
    fig, (left, right) = plotting.figure(1, 2, width=10.0, height=3.8)
    dynamic = runs["dynamic"]
    steps = np.arange(dynamic.scale.size)
    with plotting.style():
        left.step(steps, dynamic.scale, where="post", color=plotting.COLORS[2], lw=1.6)
        skipped = ~dynamic.stepped
        left.plot(
            steps[skipped],
            dynamic.scale[skipped],
            "x",
            color=plotting.COLORS[3],
            ms=8,
            mew=2,
            label="skipped step (overflow)",
        )
        left.set_yscale("log", base=2)
        left.set_xlabel("training step")
        left.set_ylabel("loss scale")
        left.legend(fontsize=9)
        for i, (mode, run) in enumerate(runs.items()):
            style = ":" if mode == "unscaled" else "-"
            right.plot(
                run.loss, style, color=plotting.COLORS[[0, 2, 3][i]], lw=1.4, label=LABELS[mode]
            )
        right.set_xlabel("training step")
        right.set_ylabel("mini-batch loss")
        right.legend(fontsize=9)
    return plotting.readable(fig)


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: the gradients at each scale, the lost updates, the training runs.

    The figures are ``underflow`` and ``scaling``; ``progress`` reports the labels
    ``"gradients"`` and then ``"training"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> result = run(Settings(depth=2, seeds=[0], steps=3), figures=False)
    >>> result.numbers["float16"]["eps"] == 2.0**-10, result.figures
    (True, {})
    """
    grads = gradients(settings, progress)
    lost = lost_updates(settings, grads)
    runs = train_all(settings, progress)
    numbers = summarise(settings, grads, lost, runs)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "underflow": figure_underflow(settings, grads, lost),
            "scaling": figure_scaling(runs),
        },
    )
