r"""Residual connections: the experiment of the page ``docs/residual.md``.

A plain network multiplies one Jacobian per layer, :math:`J_D \cdots J_1`; a residual network
:math:`x_{l+1} = x_l + \alpha f_l(x_l)` multiplies :math:`(I + \alpha J_D) \cdots (I + \alpha
J_1)` (He et al. 2016). For random layers whose Jacobians scale a squared gradient norm by
:math:`\chi` on average, the two products scale it by :math:`\chi^D` and
:math:`(1 + \alpha^2 \chi)^D`. The experiment measures the gradient that crosses ``D`` hidden
blocks of ReLU networks with He-normal weights (:math:`\chi = 1`), plain and residual, with and
without normalisation, with the branch scaled by :math:`1/\sqrt D` or its last layer set to zero,
against those predictions (:func:`measure_ratios`, :func:`predicted_ratios`); then trains the
deepest networks with the same optimiser and learning rate (:func:`train_curves`).

Its settings are in ``conf/residual.toml``; ``python -m gradwatch run residual`` runs it.

Examples
--------
>>> from gradwatch.experiments import residual
>>> settings = residual.Settings(depths=[2, 4], seeds=[0], steps=3, train_depth=4)
>>> result = residual.run(settings, figures=False)
>>> result.numbers["zero_init_ratio"]
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip, optim, plotting
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import (
    _common,
    at_least,
    at_most,
    increasing,
    non_negative,
    positive,
    require,
)
from gradwatch.layers import Residual
from gradwatch.network import MLP, Sequential
from gradwatch.training import History

#: The networks compared, by key: what the page calls them.
VARIANTS = {
    "plain": "plain",
    "plain_layer": "plain + LayerNorm",
    "plain_batch": "plain + BatchNorm",
    "residual": "residual",
    "residual_layer": "residual + LayerNorm",
    "residual_batch": "residual + BatchNorm",
    "residual_scaled": "residual, branch times 1/√D",
    "residual_zero": "residual, last layer of each branch zero",
}

#: The networks trained at ``train_depth``.
TRAINED = ("plain", "residual_scaled", "residual_zero")

#: Every network uses ReLU and He-normal weights: :math:`\chi = \sigma_w^2 E[g'(z)^2] = 2 \cdot
#: \tfrac12 = 1`, so a plain layer keeps the mean squared gradient.
ACTIVATION = "relu"
INIT = "kaiming_normal"
CHI = 1.0

#: Variance across the features of the first layer's output, :math:`\operatorname{relu}(z)`
#: with :math:`z \sim \mathcal N(0, 2)` per feature (He weights, standard-normal inputs):
#: :math:`E[\operatorname{relu}(z)^2] - E[\operatorname{relu}(z)]^2 = 1 - 1/\pi`.
STREAM_VARIANCE = 1.0 - 1.0 / math.pi

#: One colour per variant: the house colours for lines, then a mid grey.
LINE_COLORS = (*plotting.COLORS[:7], "#888888")


@dataclass(frozen=True)
class Settings:
    """The settings of the residual experiment (``conf/residual.toml``).

    Attributes
    ----------
    n_in : int
        Number of standard-normal inputs (at least 3: the target reads three).
    width : int
        Width of every hidden layer of the measured networks.
    depths : list of int
        Numbers ``D`` of hidden blocks (width to width) measured, increasing; the network has
        ``D + 2`` dense layers.
    seeds : list of int
        One network per seed and depth; the spread over seeds is reported.
    n_samples : int
        Batch of the gradient measurements (at least 2, for BatchNorm).
    train_depth : int
        ``D`` of the trained networks.
    train_width : int
        Width of their hidden layers.
    n_train : int
        Training samples.
    batch_size : int
        Samples per step (at least 2, at most ``n_train``).
    steps : int
        Adam steps of every run.
    lr : float
        Learning rate, the same for every network.

    Examples
    --------
    >>> Settings().depths
    [10, 50, 200]
    >>> Settings(depths=[50, 10])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'depths' = [50, 10]: expected ...
    """

    n_in: int = 4
    width: int = 64
    depths: list[int] = field(default_factory=lambda: [10, 50, 200])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    n_samples: int = 64
    train_depth: int = 200
    train_width: int = 32
    n_train: int = 256
    batch_size: int = 64
    steps: int = 150
    lr: float = 0.001

    def __post_init__(self) -> None:
        at_least("n_in", self.n_in, 3)
        positive("width", self.width)
        positive("depths", self.depths)
        increasing("depths", self.depths, len(self.depths), "increasing depths")
        non_negative("seeds", self.seeds)
        at_least("n_samples", self.n_samples, 2)
        positive("train_depth", self.train_depth)
        positive("train_width", self.train_width)
        positive("n_train", self.n_train)
        at_least("batch_size", self.batch_size, 2)
        at_most("batch_size", self.batch_size, self.n_train, limit="n_train")
        positive("steps", self.steps)
        positive("lr", self.lr)


def network(
    settings: Settings, variant: str, depth: int, seed: int, *, width: int | None = None
) -> Sequential:
    r"""Build one of the :data:`VARIANTS` with ``depth`` hidden blocks.

    Every variant is a :class:`~gradwatch.MLP` of widths ``[n_in] + [width] * (depth + 1) +
    [1]`` (``width`` defaults to ``settings.width``), ReLU, He-normal weights drawn from
    ``seed`` (the same weights in every variant). ``residual_scaled`` multiplies each branch
    by :math:`1/\sqrt{D}`; ``residual_zero`` sets the last weight matrix of each branch to
    zero (as Fixup and SkipInit do).

    Examples
    --------
    >>> net = network(Settings(), "residual_scaled", depth=4, seed=0)
    >>> [type(block).__name__ for block in net.layers], net.layers[1].scale
    (['Dense', 'Residual', 'Residual', 'Residual', 'Residual', 'Dense'], 0.5)
    """
    require(variant in VARIANTS, "variant", variant, f"one of {', '.join(VARIANTS)}")
    sizes = [settings.n_in] + [width or settings.width] * (depth + 1) + [1]
    kind, _, option = variant.partition("_")
    norm = option if option in ("layer", "batch") else None
    net = MLP(sizes, ACTIVATION, init=INIT, seed=seed, norm=norm, residual=kind == "residual")
    if option == "zero":
        for block in net.layers[1:-1]:
            block.block.layers[-1].W[...] = 0.0
    if option != "scaled":
        return net
    scale = 1.0 / math.sqrt(depth)
    blocks = [Residual(block.block, scale=scale) for block in net.layers[1:-1]]
    return Sequential([net.layers[0], *blocks, net.layers[-1]])


def block_gradient_norms(net: Sequential, x: Array, dy: Array) -> Array:
    r"""Norm of the gradient at the output of every block, from the last to the first.

    Runs the network forward on ``x``, then backpropagates ``dy`` one block at a time.

    Returns
    -------
    ndarray, shape (len(net.layers),)
        Entry ``l`` is :math:`\lVert \partial L/\partial h_l \rVert_F`, ``h_l`` the output of
        ``net.layers[l]``.

    Examples
    --------
    >>> net = network(Settings(), "residual_zero", depth=3, seed=0)
    >>> x, dy = np.ones((2, 4)), np.ones((2, 1))
    >>> norms = block_gradient_norms(net, x, dy)
    >>> norms.shape, bool(np.allclose(norms[:4], norms[3]))
    ((5,), True)
    """
    net.forward(x)
    norms = np.empty(len(net.layers))
    grad = np.asarray(dy, dtype=net.dtype)
    for i in reversed(range(len(net.layers))):
        norms[i] = float(np.linalg.norm(grad))
        grad = net.layers[i].backward(grad)
    return norms


def gradient_ratio(settings: Settings, variant: str, depth: int, seed: int) -> float:
    r"""Gradient norm at the input of the ``depth`` hidden blocks over that at their output.

    The batch (``n_samples`` standard-normal inputs) and :math:`\partial L/\partial y` (standard
    normal) are drawn from ``seed``.

    Examples
    --------
    >>> gradient_ratio(Settings(), "residual_zero", depth=5, seed=0)
    1.0
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((settings.n_samples, settings.n_in))
    dy = rng.standard_normal((settings.n_samples, 1))
    norms = block_gradient_norms(network(settings, variant, depth, seed), x, dy)
    return float(norms[0] / norms[depth])


def measure_ratios(settings: Settings, progress: Progress = no_progress) -> dict[str, Array]:
    """:func:`gradient_ratio` of every variant, depth and seed.

    Returns
    -------
    dict of str to ndarray, shape (len(depths), len(seeds))

    Examples
    --------
    >>> ratios = measure_ratios(Settings(depths=[2, 3], seeds=[0, 1]))
    >>> ratios["plain"].shape, list(ratios) == list(VARIANTS)
    ((2, 2), True)
    """
    result = {}
    for done, variant in enumerate(VARIANTS):
        result[variant] = np.array(
            [
                [gradient_ratio(settings, variant, depth, seed) for seed in settings.seeds]
                for depth in settings.depths
            ]
        )
        progress("gradients", done + 1, len(VARIANTS))
    return result


def predicted_ratios(depths: list[int]) -> dict[str, Array]:
    r"""Predict the gradient ratio at each depth, for the variants that have a prediction.

    - ``plain``: :math:`\chi^{D/2} = 1`, the mean-field value (exact on average over
      infinitely wide layers);
    - ``residual``: :math:`(1 + \chi)^{D/2} = 2^{D/2}`;
    - ``residual_scaled``: :math:`(1 + \chi/D)^{D/2} < e^{1/2}`;
    - ``residual_zero``: exactly 1 (every branch's Jacobian is zero);
    - ``residual_layer``: :math:`\sqrt{1 + D/\sigma_0^2}`, :math:`\sigma_0^2 = 1 - 1/\pi`:
      block :math:`l` adds a unit variance to the stream, whose variance grows as
      :math:`\sigma_0^2 + l`, so LayerNorm divides the branch by :math:`\sqrt{\sigma_0^2 + l}`
      and the product telescopes.

    Examples
    --------
    >>> for variant, values in predicted_ratios([2, 4]).items():
    ...     print(variant, values.round(3).tolist())
    plain [1.0, 1.0]
    residual [2.0, 4.0]
    residual_scaled [1.5, 1.562]
    residual_zero [1.0, 1.0]
    residual_layer [1.983, 2.621]
    """
    d = np.asarray(depths, dtype=float)
    return {
        "plain": CHI ** (d / 2),
        "residual": (1.0 + CHI) ** (d / 2),
        "residual_scaled": (1.0 + CHI / d) ** (d / 2),
        "residual_zero": np.ones_like(d),
        "residual_layer": np.sqrt(1.0 + CHI * d / STREAM_VARIANCE),
    }


def problem(settings: Settings) -> tuple[Array, Array]:
    r"""Training data: :math:`y = \sin x_1 + x_2 x_3 / 2` of standard-normal inputs.

    Examples
    --------
    >>> x, y = problem(Settings(n_train=8, batch_size=8))
    >>> x.shape, y.shape
    ((8, 4), (8, 1))
    """
    rng = np.random.default_rng(12345)
    x = rng.standard_normal((settings.n_train, settings.n_in))
    y = np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3] / 2
    return x, y


def train_run(settings: Settings, net: Sequential, x: Array, y: Array) -> History:
    """Train ``net`` with Adam on mini-batches; record the loss and the gradient norm.

    A lean loop rather than :func:`gradwatch.train`, whose per-layer records cost more than
    the steps themselves at a depth of hundreds of layers. The batches are drawn from seed 0,
    the same for every network.

    Examples
    --------
    >>> settings = Settings(steps=4)
    >>> net = network(settings, "residual_zero", depth=3, seed=0)
    >>> history = train_run(settings, net, *problem(settings))
    >>> history.steps, bool(history.loss[-1] < history.loss[0])
    (4, True)
    """
    opt = optim.Adam(lr=settings.lr)
    params = net.params()
    rng = np.random.default_rng(0)
    loss = np.full(settings.steps, np.nan)
    grad_norm = np.full(settings.steps, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(settings.steps):
            batch = rng.choice(settings.n_train, settings.batch_size, replace=False)
            loss[step], grads = net.loss_and_grads(x[batch], y[batch])
            grad_norm[step] = clip.global_norm(grads)
            if not (np.isfinite(loss[step]) and np.isfinite(grad_norm[step])):
                n = step + 1
                return History(loss=loss[:n], grad_norm=grad_norm[:n], diverged=True)
            opt.step(params, grads)
    return History(loss=loss, grad_norm=grad_norm)


def train_curves(settings: Settings, progress: Progress = no_progress) -> dict[str, History]:
    """Train each of :data:`TRAINED` at ``train_depth`` (seed ``seeds[0]``).

    Examples
    --------
    >>> runs = train_curves(Settings(steps=2, train_depth=3))
    >>> list(runs) == list(TRAINED)
    True
    """
    x, y = problem(settings)
    runs = {}
    for done, variant in enumerate(TRAINED):
        net = network(
            settings, variant, settings.train_depth, settings.seeds[0], width=settings.train_width
        )
        runs[variant] = train_run(settings, net, x, y)
        progress("training", done + 1, len(TRAINED))
    return runs


def summarise(
    settings: Settings, ratios: Mapping[str, Array], runs: Mapping[str, History]
) -> dict[str, Any]:
    """Collect the numbers the page quotes.

    Each argument after ``settings`` is the return value of the step that makes it
    (``ratios`` of :func:`measure_ratios`, ``runs`` of :func:`train_curves`).

    ``ratio.<variant>`` is the geometric mean over seeds at each depth (a list), ``low`` and
    ``high`` the smallest and largest over seeds; ``predicted.<variant>`` the prediction;
    ``deepest.<variant>`` the mean at the largest depth; ``final.<variant>`` the mean loss of
    the last tenth of the steps of each trained network, ``start.<variant>`` its first loss.

    Examples
    --------
    >>> settings = Settings(depths=[2, 4], seeds=[0], steps=3, train_depth=4)
    >>> numbers = summarise(settings, measure_ratios(settings), train_curves(settings))
    >>> numbers["predicted"]["residual"], numbers["var_y"] > 0
    ([2.0, 4.0], True)
    """
    depths = settings.depths
    mean = {k: _common.geometric_mean(v) for k, v in ratios.items()}
    predicted = predicted_ratios(depths)
    _, y = problem(settings)
    tail = max(1, settings.steps // 10)
    batch = np.log(mean["plain_batch"])
    slope = (
        float(np.polyfit(depths, batch, 1)[0]) if len(depths) > 1 else float(batch[0] / depths[0])
    )
    return {
        "depths": list(depths),
        "max_depth": depths[-1],
        "n_seeds": len(settings.seeds),
        "width": settings.width,
        "train_width": settings.train_width,
        "ratio": {k: v.tolist() for k, v in mean.items()},
        "low": {k: v.min(axis=1).tolist() for k, v in ratios.items()},
        "high": {k: v.max(axis=1).tolist() for k, v in ratios.items()},
        "deepest": {k: float(v[-1]) for k, v in mean.items()},
        "predicted": {k: v.tolist() for k, v in predicted.items()},
        "predicted_deepest": {k: float(v[-1]) for k, v in predicted.items()},
        "scaled_limit": math.exp(CHI / 2),
        "stream_variance": STREAM_VARIANCE,
        "batch_factor": math.exp(slope),
        "zero_init_ratio": float(np.max(np.abs(ratios["residual_zero"] - 1.0)) + 1.0),
        "train_depth": settings.train_depth,
        "steps": settings.steps,
        "lr": settings.lr,
        "var_y": float(np.var(y)),
        "start": {k: float(h.loss[0]) for k, h in runs.items()},
        "final": {k: float(np.mean(h.loss[np.isfinite(h.loss)][-tail:])) for k, h in runs.items()},
        "diverged": {k: h.diverged for k, h in runs.items()},
        "min_depth": depths[0],
    }


def figure_depth(settings: Settings, ratios: Mapping[str, Array]) -> Any:
    """Measured gradient ratio (points, over seeds) against depth, predictions as lines.

    Examples
    --------
    >>> settings = Settings(depths=[2, 4], seeds=[0])
    >>> fig = figure_depth(settings, {k: np.ones((2, 1)) for k in VARIANTS})
    >>> fig.axes[0].get_yscale(), fig.axes[0].get_xlabel()
    ('log', 'hidden blocks D')
    """
    depths = np.asarray(settings.depths, dtype=float)
    predicted = predicted_ratios(settings.depths)
    fig, ax = plotting.figure(width=7.2, height=4.4)
    with plotting.style():
        for i, (variant, label) in enumerate(VARIANTS.items()):
            color = LINE_COLORS[i % len(LINE_COLORS)]
            values = ratios[variant]
            marker = "os^D"[i % 4]
            ax.plot(depths, _common.geometric_mean(values), marker, color=color, label=label, ms=5)
            ax.vlines(depths, values.min(axis=1), values.max(axis=1), color=color, lw=1.2)
            if variant in predicted:
                ax.plot(depths, predicted[variant], "-", color=color, lw=1.2, alpha=0.8)
        ax.plot([], [], "-", color="#555555", lw=1.2, label="prediction")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("hidden blocks D")
        ax.set_ylabel("gradient norm at the first block / at the last")
        ax.legend(fontsize=8, ncols=2)
    return fig


def figure_training(settings: Settings, runs: Mapping[str, History]) -> Any:
    """Loss and gradient norm per step of the trained networks.

    Examples
    --------
    >>> import gradwatch as gw
    >>> run = gw.History(loss=np.array([2.0, 1.0]), grad_norm=np.array([1.0, 1.0]))
    >>> fig = figure_training(Settings(), {k: run for k in TRAINED})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][0]
    'plain'
    """
    del settings  # the labels say everything
    return plotting.training_curves({VARIANTS[k]: h for k, h in runs.items()})


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: gradient ratios against depth, then the deepest networks trained.

    The figures are ``residual_depth`` and ``residual_training``. ``progress`` counts the
    variants measured under the label ``"gradients"``, then the networks trained under
    ``"training"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> settings = Settings(depths=[2], seeds=[0], steps=2, train_depth=2)
    >>> sorted(run(settings).figures)
    ['residual_depth', 'residual_training']
    """
    ratios = measure_ratios(settings, progress)
    runs = train_curves(settings, progress)
    numbers = summarise(settings, ratios, runs)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "residual_depth": figure_depth(settings, ratios),
            "residual_training": figure_training(settings, runs),
        },
    )
