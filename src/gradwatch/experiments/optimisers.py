r"""Optimisers against vanishing and exploding gradients: the experiment of ``docs/optimisers.md``.

A deep :math:`\tanh` network whose weights start too small, :math:`\mathcal N(0, s^2)` with
:math:`s \sqrt{n} < 1`, has gradients that vanish towards its first layers: under SGD those
layers hardly move. The experiment trains the same network, from the same seeds and on the same
mini-batches, with SGD, SGD with momentum, RMSprop (Tieleman and Hinton 2012) and Adam (Kingma
and Ba 2015), and measures each layer's update:data ratio (:func:`train_all`,
:func:`layer_ratios`). Then it shows what per-parameter rescaling does and does not change:

- the first step of Adam, RMSprop and SGD for gradients of every size (:func:`first_steps`):
  near ``lr`` for Adam whatever the gradient's scale, until the gradient falls to ``eps``;
- the direction of Adam's first step against the gradient's (:func:`first_step_cosines`);
- one gradient spike, a cliff of the loss, seen by Adam (:func:`spike`): the jump is bounded,
  but the spike's square stays in the second moment and stalls the parameter afterwards;
- clipping by global norm before SGD and before Adam (:func:`train_clipped`): Adam is nearly
  invariant to a rescaled gradient, so clipping changes its updates far less.

Its settings are in ``conf/optimisers.toml``; ``python -m gradwatch run optimisers`` runs it.

Examples
--------
>>> from gradwatch.experiments import optimisers
>>> optimisers.OPTIMISERS
('sgd', 'momentum', 'rmsprop', 'adam')
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip, init, optim, plotting
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import (
    _common,
    activation,
    at_most,
    distinct,
    non_negative,
    positive,
    require,
)
from gradwatch.network import MLP
from gradwatch.training import History, train

#: The optimisers compared, in the page's order.
OPTIMISERS = ("sgd", "momentum", "rmsprop", "adam")

#: How the page and the figures name them.
LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "rmsprop": "RMSprop", "adam": "Adam"}

#: The two optimisers whose runs are repeated with clipping by global norm.
CLIPPED = ("sgd", "adam")


@dataclass(frozen=True)
class Settings:
    r"""Settings of the optimisers experiment (``conf/optimisers.toml``).

    Attributes
    ----------
    activation : str
        Activation of the hidden layers.
    n_in, width, depth : int
        Input features, width and number of the hidden layers.
    init_std : float
        Standard deviation :math:`s` of the initial weights, :math:`\mathcal N(0, s^2)`.
    n_samples, batch_size : int
        Data set and mini-batch sizes (``batch_size`` at most ``n_samples``).
    steps : int
        Training steps of every run.
    seeds : list of int
        Each seed draws its own data, network and mini-batch order, the same for every
        optimiser.
    lr_sgd : float
        Learning rate of SGD, with and without momentum.
    momentum : float
        Momentum of the second run of SGD, in [0, 1).
    lr_rmsprop, lr_adam : float
        Learning rates of RMSprop and Adam (default hyper-parameters otherwise).
    max_norm : float
        Threshold of clipping by global norm in the clipped runs.
    gradient_scales : list of float
        Gradient sizes of :func:`first_steps` (distinct, positive).
    spike : float
        Size of the gradient spike of :func:`spike`, in units of the usual gradient (> 1).
    spike_warmup : int
        Steps of the usual gradient before the spike.
    spike_after : int
        Steps after the spike at which the step is read again.

    Examples
    --------
    >>> Settings(momentum=1.0)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'momentum' = 1.0: expected a number in [0, 1)
    """

    activation: str = "tanh"
    n_in: int = 16
    width: int = 32
    depth: int = 10
    init_std: float = 0.05
    n_samples: int = 256
    batch_size: int = 64
    steps: int = 200
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    lr_sgd: float = 0.05
    momentum: float = 0.9
    lr_rmsprop: float = 0.001
    lr_adam: float = 0.001
    max_norm: float = 0.02
    gradient_scales: list[float] = field(
        default_factory=lambda: [1e-12, 1e-10, 1e-8, 1e-6, 1e-3, 1.0, 1e3]
    )
    spike: float = 1e4
    spike_warmup: int = 2000
    spike_after: int = 100

    def __post_init__(self) -> None:
        activation("activation", self.activation)
        positive("n_in", self.n_in)
        positive("width", self.width)
        positive("depth", self.depth)
        positive("init_std", self.init_std)
        positive("n_samples", self.n_samples)
        positive("batch_size", self.batch_size)
        at_most("batch_size", self.batch_size, self.n_samples, limit="n_samples")
        positive("steps", self.steps)
        non_negative("seeds", self.seeds)
        distinct("seeds", self.seeds)
        positive("lr_sgd", self.lr_sgd)
        non_negative("momentum", self.momentum)
        require(self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        positive("lr_rmsprop", self.lr_rmsprop)
        positive("lr_adam", self.lr_adam)
        positive("max_norm", self.max_norm)
        positive("gradient_scales", self.gradient_scales)
        distinct("gradient_scales", self.gradient_scales)
        positive("spike", self.spike)
        require(self.spike > 1, "spike", self.spike, "a number > 1")
        positive("spike_warmup", self.spike_warmup)
        positive("spike_after", self.spike_after)


# ---------------------------------------------------------------------------------------------
# The network, the data and the optimisers.
# ---------------------------------------------------------------------------------------------


def task(settings: Settings, seed: int) -> tuple[Array, Array]:
    r"""Draw the regression task of one seed: :math:`y = \sin(2\, x \cdot u)`, random ``u``.

    Returns
    -------
    x : ndarray, shape (n_samples, n_in)
        Standard normal inputs.
    y : ndarray, shape (n_samples, 1)

    Examples
    --------
    >>> x, y = task(Settings(n_samples=8, batch_size=8), seed=0)
    >>> x.shape, y.shape, bool(abs(y).max() <= 1)
    ((8, 16), (8, 1), True)
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(settings.n_samples, settings.n_in))
    u = rng.normal(size=settings.n_in) / math.sqrt(settings.n_in)
    return x, np.sin(2.0 * x @ u)[:, None]


def network(settings: Settings, seed: int) -> MLP:
    r"""Build the deep network of one seed: ``depth`` layers, weights :math:`\mathcal N(0, s^2)`.

    Returns
    -------
    MLP
        ``[n_in] + [width] * depth + [1]``, linear output, zero biases.

    Examples
    --------
    >>> network(Settings(depth=3, width=8), seed=0).sizes
    [16, 8, 8, 8, 1]
    """
    sizes = [settings.n_in] + [settings.width] * settings.depth + [1]
    weights = init.get("normal", std=settings.init_std)
    return MLP(sizes, activation=settings.activation, init=weights, seed=seed)


def optimiser(settings: Settings, name: str) -> optim.Optimizer:
    """Return a new optimiser of the comparison, with the learning rate of the settings.

    Parameters
    ----------
    settings : Settings
    name : {"sgd", "momentum", "rmsprop", "adam"}

    Returns
    -------
    Optimizer
        RMSprop and Adam with PyTorch's defaults otherwise (``alpha = 0.99``; ``betas = (0.9,
        0.999)``; ``eps = 1e-8``).

    Raises
    ------
    ValueError
        For another name.

    Examples
    --------
    >>> optimiser(Settings(), "momentum")
    SGD(lr=0.05, momentum=0.9, weight_decay=0.0)
    """
    if name == "sgd":
        return optim.SGD(lr=settings.lr_sgd)
    if name == "momentum":
        return optim.SGD(lr=settings.lr_sgd, momentum=settings.momentum)
    if name == "rmsprop":
        return optim.RMSprop(lr=settings.lr_rmsprop)
    if name == "adam":
        return optim.Adam(lr=settings.lr_adam)
    raise ValueError(f"unknown optimiser {name!r}; choose one of {OPTIMISERS}")


def train_run(settings: Settings, name: str, seed: int, max_norm: float | None = None) -> History:
    """Train the network of ``seed`` with one optimiser, optionally clipping by global norm.

    Every optimiser of a seed sees the same initial weights, data and mini-batches.

    Parameters
    ----------
    settings : Settings
    name : str
        One of :data:`OPTIMISERS`.
    seed : int
    max_norm : float, optional
        Clip by global norm at this threshold before every step.

    Returns
    -------
    History

    Examples
    --------
    >>> small = Settings(depth=3, steps=5)
    >>> train_run(small, "adam", seed=0).update_ratios.shape
    (5, 4)
    """
    x, y = task(settings, seed)
    clipping = None
    if max_norm is not None:
        clipping = functools.partial(clip.clip_by_global_norm, max_norm=max_norm)
    return train(
        network(settings, seed),
        x,
        y,
        optimizer=optimiser(settings, name),
        steps=settings.steps,
        batch_size=settings.batch_size,
        clip=clipping,
        seed=seed,
    )


def train_all(settings: Settings, progress: Progress = no_progress) -> dict[str, list[History]]:
    """Train every optimiser on every seed's network.

    Parameters
    ----------
    settings : Settings
    progress : callable, optional
        Called as ``progress("optimisers", done, total)`` after each run.

    Returns
    -------
    dict of str to list of History
        By optimiser name (:data:`OPTIMISERS`), one run per seed.

    Examples
    --------
    >>> runs = train_all(Settings(depth=3, steps=5, seeds=[0, 1]))
    >>> list(runs), len(runs["adam"])
    (['sgd', 'momentum', 'rmsprop', 'adam'], 2)
    """
    return _train_each(settings, OPTIMISERS, None, progress, "optimisers")


def train_clipped(settings: Settings, progress: Progress = no_progress) -> dict[str, list[History]]:
    """Train SGD and Adam again on every seed, clipping by global norm at ``max_norm``.

    Returns the runs of ``"sgd"`` and ``"adam"`` (:data:`CLIPPED`) as :func:`train_all` does,
    to set against theirs without clipping; ``progress`` is labelled ``"clipped"``.

    Examples
    --------
    >>> runs = train_clipped(Settings(depth=3, steps=5, seeds=[0], max_norm=1e-6))
    >>> bool(runs["sgd"][0].clipped.all())
    True
    """
    return _train_each(settings, CLIPPED, settings.max_norm, progress, "clipped")


def _train_each(
    settings: Settings,
    names: tuple[str, ...],
    max_norm: float | None,
    progress: Progress,
    label: str,
) -> dict[str, list[History]]:
    """Run :func:`train_run` for each of ``names`` on each seed, reporting to ``progress``."""
    runs: dict[str, list[History]] = {name: [] for name in names}
    total = len(names) * len(settings.seeds)
    for done, (name, seed) in enumerate(itertools.product(names, settings.seeds), start=1):
        runs[name].append(train_run(settings, name, seed, max_norm))
        progress(label, done, total)
    return runs


# ---------------------------------------------------------------------------------------------
# What the runs measure.
# ---------------------------------------------------------------------------------------------


def layer_ratios(histories: list[History]) -> Array:
    """Each layer's median update:data ratio over the steps, one row per seed.

    Parameters
    ----------
    histories : list of History
        The runs of one optimiser, one per seed.

    Returns
    -------
    ndarray, shape (n_seeds, n_layers)
        First layer first, output layer last.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> run = gw.History(update_ratios=np.array([[1e-6, 1e-3], [3e-6, 1e-3], [2e-6, 2e-3]]))
    >>> layer_ratios([run]).tolist()
    [[2e-06, 0.001]]
    """
    return np.array([np.median(h.update_ratios, axis=0) for h in histories])


def spreads(histories: list[History]) -> Array:
    """Per seed, the largest layer's median update:data ratio over the smallest layer's.

    1 when every layer moves at the same relative pace; the vanishing network under SGD gives
    thousands.

    Parameters
    ----------
    histories : list of History

    Returns
    -------
    ndarray, shape (n_seeds,)

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> run = gw.History(update_ratios=np.array([[1e-6, 1e-3]]))
    >>> spreads([run]).round(1).tolist()
    [1000.0]
    """
    ratios = layer_ratios(histories)
    return np.asarray(ratios.max(axis=1) / ratios.min(axis=1))


def final_losses(histories: list[History], window: int = 10) -> Array:
    """Per seed, the mean mini-batch loss of the last ``window`` steps.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> final_losses([gw.History(loss=np.arange(20.0))], window=4).tolist()
    [17.5]
    """
    return np.array([float(np.mean(h.loss[-window:])) for h in histories])


def clip_factors(history: History, max_norm: float) -> Array:
    r"""Per step, the factor :math:`\min(1, \theta/G)` by which clipping scaled the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> clip_factors(gw.History(grad_norm=np.array([0.5, 4.0])), max_norm=1.0).tolist()
    [1.0, 0.25]
    """
    factors: Array = np.minimum(1.0, max_norm / np.asarray(history.grad_norm))
    return factors


def update_change(clipped: History, unclipped: History) -> Array:
    """Per step, the median over layers of the update:data ratio with clipping over without.

    Parameters
    ----------
    clipped, unclipped : History
        The same optimiser, seed and mini-batches, with and without clipping.

    Returns
    -------
    ndarray, shape (steps,)
        1 where clipping left the updates' size as it was.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> a = gw.History(update_ratios=np.array([[1.0, 2.0, 4.0]]))
    >>> b = gw.History(update_ratios=np.array([[2.0, 2.0, 2.0]]))
    >>> update_change(a, b).tolist()
    [1.0]
    """
    return np.asarray(np.median(clipped.update_ratios / unclipped.update_ratios, axis=1))


# ---------------------------------------------------------------------------------------------
# Rescaling, one step at a time.
# ---------------------------------------------------------------------------------------------


def first_steps(settings: Settings) -> dict[str, Array]:
    r"""Measure each optimiser's first step for gradients of each size, in units of its ``lr``.

    On the first step Adam's bias-corrected moments are :math:`\hat m = g` and :math:`\hat v =
    g^2`, so it moves by :math:`\eta\, |g|/(|g| + \epsilon)`: :math:`\eta` whatever the scale,
    until :math:`|g|` nears :math:`\epsilon`. RMSprop, without bias correction, moves by
    :math:`\eta\, |g|/(\sqrt{1-\alpha}\,|g| + \epsilon)`, :math:`10\eta`; SGD by :math:`\eta |g|`.

    Parameters
    ----------
    settings : Settings
        Uses ``gradient_scales`` and the learning rates.

    Returns
    -------
    dict of str to ndarray
        ``"scales"``, the gradient sizes, then for ``"sgd"``, ``"rmsprop"`` and ``"adam"``
        the size of the first step divided by that optimiser's learning rate.

    Examples
    --------
    >>> steps = first_steps(Settings(gradient_scales=[1e-8, 1.0]))
    >>> steps["adam"].round(3).tolist(), steps["sgd"].tolist()
    ([0.5, 1.0], [1e-08, 1.0])
    """
    scales = np.asarray(settings.gradient_scales, dtype=float)
    steps: dict[str, Array] = {"scales": scales}
    for name, lr in (
        ("sgd", settings.lr_sgd),
        ("rmsprop", settings.lr_rmsprop),
        ("adam", settings.lr_adam),
    ):
        w = np.zeros_like(scales)
        optimiser(settings, name).step([w], [scales.copy()])
        steps[name] = np.abs(w) / lr
    return steps


def first_step_cosines(settings: Settings) -> Array:
    r"""Per seed, the cosine between Adam's first step and the steepest descent :math:`-g`.

    The first step is :math:`-\eta\, g/(|g| + \epsilon) \approx -\eta \operatorname{sign}(g)`:
    every entry keeps its sign but moves by the same amount, so the cosine is
    :math:`\lVert g \rVert_1 / (\sqrt{n} \lVert g \rVert_2)`, well below 1 when the gradient's
    entries differ in size by orders of magnitude, as across the layers of a vanishing network.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    ndarray, shape (n_seeds,)
        For each seed's network at initialisation, on its whole data set.

    Examples
    --------
    >>> cosines = first_step_cosines(Settings(depth=3, width=8, seeds=[0]))
    >>> bool(0 < cosines[0] < 1)
    True
    """
    cosines = []
    for seed in settings.seeds:
        net = network(settings, seed)
        x, y = task(settings, seed)
        _, grads = net.loss_and_grads(x, y)
        gradient = np.concatenate([g.ravel() for g in grads])
        before = np.concatenate([p.ravel() for p in net.params()])
        optimiser(settings, "adam").step(net.params(), grads)
        step = np.concatenate([p.ravel() for p in net.params()]) - before
        cosine = -float(step @ gradient) / float(np.linalg.norm(step) * np.linalg.norm(gradient))
        cosines.append(cosine)
    return np.array(cosines)


def spike(settings: Settings) -> Array:
    r"""Adam's step sizes, in units of ``lr``, around one gradient spike.

    One parameter sees the gradient 1 for ``spike_warmup`` steps, then ``spike`` once, then 1
    again for ``spike_after`` steps. At the spike, with :math:`K` = ``spike`` and the moments
    warmed up (bias corrections near 1), :math:`m \approx (1-\beta_1) K` and
    :math:`\sqrt v \approx \sqrt{1-\beta_2}\, K`: the step is bounded by
    :math:`\eta (1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16\,\eta` however large :math:`K`. After
    it, :math:`v` forgets :math:`K^2` only at the rate :math:`\beta_2^k`, so the usual gradient
    moves the parameter by about :math:`\eta / (\sqrt{1-\beta_2}\, K\, \beta_2^{k/2})` for
    thousands of steps.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    ndarray, shape (spike_warmup + 1 + spike_after,)
        The size of every step divided by ``lr_adam``; entry ``spike_warmup`` is the spike.

    Examples
    --------
    >>> steps = spike(Settings(spike=1e4, spike_warmup=2000, spike_after=100))
    >>> round(float(steps[1999]), 3), round(float(steps[2000]), 2), float(steps[-1]) < 0.01
    (1.0, 2.94, True)
    """
    opt = optimiser(settings, "adam")
    w = np.zeros(1)
    gradients = np.ones(settings.spike_warmup + 1 + settings.spike_after)
    gradients[settings.spike_warmup] = settings.spike
    sizes = np.empty_like(gradients)
    for t, g in enumerate(gradients):
        before = float(w[0])
        opt.step([w], [np.array([g])])
        sizes[t] = abs(float(w[0]) - before) / settings.lr_adam
    return sizes


# ---------------------------------------------------------------------------------------------
# Summary.
# ---------------------------------------------------------------------------------------------


def summarise(
    settings: Settings,
    runs: dict[str, list[History]],
    clipped: dict[str, list[History]],
    steps: dict[str, Array],
    cosines: Array,
    spike_steps: Array,
) -> dict[str, Any]:
    """Numbers the page quotes, JSON-ready.

    The arguments after ``settings`` are the return values of the steps, in their order:
    :func:`train_all`, :func:`train_clipped`, :func:`first_steps`, :func:`first_step_cosines`
    and :func:`spike`.

    Returns
    -------
    dict
        The network and the runs (``depth``, ``width``, ``init_std``, ``steps``, ``n_seeds``,
        the learning rates ``lr`` by optimiser, the momentum ``mu``, ``max_norm``); for each
        optimiser of :data:`OPTIMISERS`: the median update:data ratio of the ``first`` and of
        the ``last`` layer (geometric mean over seeds), the ``spread`` of the layers' ratios
        (largest over smallest; median, ``spread_min`` and ``spread_max`` over seeds), the
        mean final loss over seeds and its range (``loss``, ``loss_min``, ``loss_max``) and
        the mean first loss ``loss_first``; ``clip``: for ``sgd`` and ``adam``, the fraction
        of clipped steps, the median clipping factor, the median (over steps and seeds) of the
        update-size change, the largest (over seeds) relative change of the final loss;
        ``first_step``: Adam's smallest and largest step over the scales from 1e-6 up, its
        step at the smallest scale and at ``eps`` (1e-8, if among the scales), RMSprop's step
        at scale 1, and SGD's ratio of largest to smallest step;
        ``cosine_min`` and ``cosine_max`` over seeds; ``spike``: the step before, at and
        ``spike_after`` steps after the spike, and the bound.

    Examples
    --------
    >>> small = Settings(depth=3, width=8, steps=5, seeds=[0])
    >>> numbers = summarise(
    ...     small, train_all(small), train_clipped(small), first_steps(small),
    ...     first_step_cosines(small), spike(small),
    ... )
    >>> sorted(numbers["adam"])
    ['first', 'last', 'loss', 'loss_first', 'loss_max', 'loss_min', 'spread', 'spread_max', \
'spread_min']
    """
    numbers: dict[str, Any] = {
        "depth": settings.depth,
        "width": settings.width,
        "init_std": settings.init_std,
        "steps": settings.steps,
        "n_seeds": len(settings.seeds),
        "lr": {"sgd": settings.lr_sgd, "rmsprop": settings.lr_rmsprop, "adam": settings.lr_adam},
        "mu": settings.momentum,
        "max_norm": settings.max_norm,
    }
    for name in OPTIMISERS:
        ratios = _common.geometric_mean(layer_ratios(runs[name]), axis=0)
        spread = spreads(runs[name])
        losses = final_losses(runs[name])
        numbers[name] = {
            "first": float(ratios[0]),
            "last": float(ratios[-1]),
            "spread": float(np.median(spread)),
            "spread_min": float(spread.min()),
            "spread_max": float(spread.max()),
            "loss": float(losses.mean()),
            "loss_min": float(losses.min()),
            "loss_max": float(losses.max()),
            "loss_first": float(np.mean([h.loss[0] for h in runs[name]])),
        }
    numbers["clip"] = {}
    for name in CLIPPED:
        pairs = list(zip(clipped[name], runs[name], strict=True))
        changes = np.concatenate([update_change(c, u) for c, u in pairs])
        factors = np.concatenate([clip_factors(c, settings.max_norm) for c, _ in pairs])
        loss_changes = [
            abs(final_losses([c])[0] - final_losses([u])[0]) / final_losses([u])[0]
            for c, u in pairs
        ]
        numbers["clip"][name] = {
            "clipped": float(np.mean([c.clipped.mean() for c, _ in pairs])),
            "factor": float(np.median(factors)),
            "change": float(np.median(changes)),
            "loss_change": float(max(loss_changes)),
        }
    scales, adam = steps["scales"], steps["adam"]
    large = scales >= 1e-6
    at_eps = np.flatnonzero(np.isclose(scales, 1e-8, rtol=1e-6, atol=0.0))
    numbers["first_step"] = {
        "adam_min": float(adam[large].min()) if large.any() else math.nan,
        "adam_max": float(adam[large].max()) if large.any() else math.nan,
        "adam_smallest": float(adam[np.argmin(scales)]),
        "smallest_scale": float(scales.min()),
        "adam_at_eps": float(adam[at_eps[0]]) if at_eps.size else math.nan,
        "rmsprop": float(steps["rmsprop"][np.argmin(np.abs(np.log(scales)))]),
        "sgd_range": float(steps["sgd"].max() / steps["sgd"].min()),
    }
    numbers["cosine_min"] = float(cosines.min())
    numbers["cosine_max"] = float(cosines.max())
    beta1, beta2 = optim.Adam().betas
    numbers["spike"] = {
        "size": settings.spike,
        "warmup": settings.spike_warmup,
        "after_steps": settings.spike_after,
        "before": float(spike_steps[settings.spike_warmup - 1]),
        "at": float(spike_steps[settings.spike_warmup]),
        "after": float(spike_steps[-1]),
        "bound": (1 - beta1) / math.sqrt(1 - beta2),
    }
    return numbers


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def figure_update_ratios(runs: dict[str, list[History]], *, guide: float = 1e-3) -> Any:
    """Each layer's median update:data ratio under each optimiser, with its range over seeds.

    Parameters
    ----------
    runs : dict of str to list of History
        From :func:`train_all`.
    guide : float, default 1e-3
        The dashed guide line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = figure_update_ratios(train_all(Settings(depth=3, width=8, steps=3, seeds=[0])))
    >>> fig.axes[0].get_yscale(), len(fig.axes[0].get_legend().get_texts())
    ('log', 5)
    """
    ratios = {LABELS[name]: layer_ratios(runs[name]) for name in runs}
    fig, ax = plotting.figure(width=6.8, height=4.2)
    with plotting.style():
        plotting.lines_with_range(
            ax, ratios, centre=functools.partial(_common.geometric_mean, axis=0), ms=3.5
        )
        ax.axhline(guide, color="#777777", ls="--", lw=1.2, label=f"guide {guide:g}")
        ax.set_yscale("log")
        ax.set_xlabel("layer (1 = first, last = output)")
        ax.set_ylabel("median update:data ratio")
        ax.legend(fontsize=9, ncols=2)
    return fig


def figure_losses(runs: dict[str, list[History]]) -> Any:
    """Mini-batch loss per step under each optimiser: mean over seeds, range shaded.

    Parameters
    ----------
    runs : dict of str to list of History
        From :func:`train_all`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = figure_losses(train_all(Settings(depth=3, width=8, steps=3, seeds=[0])))
    >>> fig.axes[0].get_ylabel()
    'mini-batch loss'
    """
    losses = {LABELS[name]: np.array([h.loss for h in runs[name]]) for name in runs}
    fig, ax = plotting.figure(width=6.4, height=3.8)
    with plotting.style():
        plotting.lines_with_range(ax, losses, fmts="-", lw=1.6)
        ax.set_xlabel("training step")
        ax.set_ylabel("mini-batch loss")
        ax.legend(fontsize=9)
    return fig


def figure_first_steps(steps: dict[str, Array]) -> Any:
    """Plot the first step's size in units of ``lr`` against the gradient's size, log-log.

    Parameters
    ----------
    steps : dict of str to ndarray
        From :func:`first_steps`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure_first_steps(first_steps(Settings())).axes[0].get_xscale()
    'log'
    """
    fig, ax = plotting.figure(width=6.0, height=3.8)
    with plotting.style():
        for i, name in enumerate(("sgd", "rmsprop", "adam")):
            ax.plot(
                steps["scales"],
                steps[name],
                "o-",
                ms=4,
                color=plotting.COLORS[[0, 2, 3][i]],
                label=LABELS[name],
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("gradient size |g|")
        ax.set_ylabel("first step / lr")
        ax.legend(fontsize=9)
    return fig


def figure_clipping(
    settings: Settings, runs: dict[str, list[History]], clipped: dict[str, list[History]]
) -> Any:
    r"""Per step, the update size with clipping over without, for SGD and Adam, and the clip factor.

    Lines are medians over seeds of :func:`update_change`; the dashed line is the median
    clipping factor :math:`\min(1, \theta/G)` of the clipped SGD runs.

    Parameters
    ----------
    settings : Settings
    runs, clipped : dict of str to list of History
        From :func:`train_all` and :func:`train_clipped`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> small = Settings(depth=3, width=8, steps=3, seeds=[0])
    >>> fig = figure_clipping(small, train_all(small), train_clipped(small))
    >>> fig.axes[0].get_yscale()
    'log'
    """
    fig, ax = plotting.figure(width=6.4, height=3.8)
    with plotting.style():
        for i, name in enumerate(CLIPPED):
            pairs = zip(clipped[name], runs[name], strict=True)
            changes = np.median([update_change(c, u) for c, u in pairs], axis=0)
            steps = np.arange(1, changes.size + 1)
            ax.plot(steps, changes, color=plotting.COLORS[[0, 3][i]], lw=1.5, label=LABELS[name])
        factors = np.median([clip_factors(c, settings.max_norm) for c in clipped["sgd"]], axis=0)
        ax.plot(
            np.arange(1, factors.size + 1),
            factors,
            "--",
            color="#777777",
            lw=1.2,
            label="clipping factor min(1, θ/G), SGD",
        )
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("update size: clipped / unclipped")
        ax.legend(fontsize=9)
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: the four optimisers, the clipped runs and the one-step probes.

    The figures are ``update_ratios``, ``losses``, ``first_steps`` and ``clipping``;
    ``progress`` reports the labels ``"optimisers"`` and then ``"clipped"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> small = Settings(depth=3, width=8, steps=5, seeds=[0])
    >>> result = run(small, figures=False)
    >>> result.numbers["n_seeds"], result.figures
    (1, {})
    """
    runs = train_all(settings, progress)
    clipped = train_clipped(settings, progress)
    steps = first_steps(settings)
    cosines = first_step_cosines(settings)
    spike_steps = spike(settings)
    numbers = summarise(settings, runs, clipped, steps, cosines, spike_steps)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "update_ratios": figure_update_ratios(runs),
            "losses": figure_losses(runs),
            "first_steps": figure_first_steps(steps),
            "clipping": figure_clipping(settings, runs, clipped),
        },
    )
