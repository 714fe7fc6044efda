r"""Gradient clipping in practice: the experiment of the page ``docs/clipping.md``.

A ReLU network whose weights are too large for its depth fits
:math:`y = \sin x_1 + x_2 x_3 / 2` with full-batch SGD. Its first gradients are large: plain
SGD diverges, and clipping by global norm (Pascanu, Mikolov & Bengio 2013) turns the run into
a converging one. The experiment shows

- the geometry of clipping in two dimensions: by global norm the gradient keeps its direction,
  by value it turns (:func:`geometry`, :func:`update_angle`);
- the same training run without clipping, which diverges, and with it, which converges
  (:func:`train_clipped`);
- whether clipping is only a smaller step: plain SGD over a sweep of learning rates and at the
  clipped run's average step, over several seeds (:func:`step_size_control`,
  :func:`matched_runs`);
- a sweep of the threshold from tiny to large (:func:`threshold_sweep`);
- clipping by global norm, by value and adaptive clipping as published (Brock et al. 2021: the
  final layer is not clipped; the biases are not either) on the same networks, data, seeds and
  learning rate, with adaptive clipping of the final layer as a control
  (:func:`compare_methods`, :func:`first_update_angles`).

Its settings are in ``conf/clipping.toml``; ``python -m gradwatch run clipping`` runs it, and so
does :func:`run` (its example runs it on small settings).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip, init, optim, plotting
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, _common, no_progress

# isort: split
from gradwatch.experiments import activation, distinct, non_negative, positive, require
from gradwatch.experiments._common import effective_lr, seed_summary
from gradwatch.network import MLP
from gradwatch.training import History, train

#: The clipping methods of :func:`train_clipped`, with the meaning of their ``threshold``.
METHODS = {
    "none": "no clipping",
    "global_norm": "clip_by_global_norm, threshold = max_norm",
    "value": "clip_by_value, threshold = clip_value",
    "adaptive": "adaptive_clip as published, threshold = clipping (ratio to the weights' norm);"
    " the final layer and the biases are not clipped",
    "adaptive_final": "adaptive_clip of the final layer too (the control); the biases are not"
    " clipped",
}

#: How the page names the methods compared, in its prose and in its figure's legend.
METHOD_NAMES = {
    "global_norm": "clipping by global norm",
    "value": "clipping by value",
    "adaptive": "adaptive clipping",
    "adaptive_final": "adaptive clipping of the final layer too",
}

ClipFunction = Callable[[list[Array]], Any]

#: Runs of one method or learning rate, by seed.
Runs = dict[int, History]


@dataclass(frozen=True)
class Settings:
    r"""The settings of the clipping experiment (``conf/clipping.toml``).

    Attributes
    ----------
    sizes : list of int
        Layer widths of the network: at least 3 inputs (the target reads three of them), one
        output.
    activation : str
        Hidden activation.
    init_std : float
        Standard deviation of the normal weights, deliberately too large for the depth.
    n_samples : int
        Number of standard-normal inputs.
    seed : int
        Seed of the data, the weights and the training.
    lr : float
        Learning rate of plain full-batch SGD.
    steps : int
        SGD steps of every run.
    seeds : list of int
        The seeds of the repeated comparisons (data, weights and mini-batch order change
        together); ``seed`` is one of them, the run the page draws.
    lrs : list of float
        Learning rates of plain SGD in the sweep that asks whether clipping is only a smaller
        step.
    max_norm : float
        Threshold :math:`\theta` of clipping by global norm: the rescued run, and that method
        in the comparison.
    thresholds : list of float
        The thresholds of the sweep, tiny to large.
    clip_value : float
        Bound :math:`c` of clipping by value in the comparison.
    adaptive_clipping : float
        Ratio :math:`\lambda` of adaptive clipping in the comparison.
    adaptive_eps : float
        Floor :math:`\epsilon` of the weight norm in adaptive clipping.
    geometry_gradient : list of float
        The two-dimensional gradient of the picture (not zero).
    geometry_max_norm : float
        Radius :math:`\theta` of the circle in the picture.
    geometry_clip_value : float
        Half-side :math:`c` of the square in the picture.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> clipping.Settings().sizes
    [4, 32, 32, 32, 1]
    >>> clipping.Settings(sizes=[2, 8, 1])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'sizes' = [2, 8, 1]: expected ...
    """

    sizes: list[int] = field(default_factory=lambda: [4, 32, 32, 32, 1])
    activation: str = "relu"
    init_std: float = 0.5
    n_samples: int = 64
    seed: int = 0
    lr: float = 0.03
    steps: int = 120
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    lrs: list[float] = field(default_factory=lambda: [0.001, 0.003, 0.01, 0.03])
    max_norm: float = 10.0
    thresholds: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0])
    clip_value: float = 1.0
    adaptive_clipping: float = 0.05
    adaptive_eps: float = 1e-3
    geometry_gradient: list[float] = field(default_factory=lambda: [3.0, 1.0])
    geometry_max_norm: float = 1.5
    geometry_clip_value: float = 1.0

    def __post_init__(self) -> None:
        positive("sizes", self.sizes)
        require(
            len(self.sizes) >= 2 and self.sizes[0] >= 3 and self.sizes[-1] == 1,
            "sizes",
            self.sizes,
            "at least 3 inputs first and 1 output last (the target reads x1, x2 and x3)",
        )
        activation("activation", self.activation)
        positive("init_std", self.init_std)
        positive("n_samples", self.n_samples)
        non_negative("seed", self.seed)
        positive("lr", self.lr)
        positive("steps", self.steps)
        non_negative("seeds", self.seeds)
        distinct("seeds", self.seeds)
        require(self.seed in self.seeds, "seed", self.seed, f"one of seeds = {self.seeds}")
        positive("lrs", self.lrs)
        distinct("lrs", self.lrs)
        positive("max_norm", self.max_norm)
        positive("thresholds", self.thresholds)
        positive("clip_value", self.clip_value)
        positive("adaptive_clipping", self.adaptive_clipping)
        positive("adaptive_eps", self.adaptive_eps)
        require(
            len(self.geometry_gradient) == 2,
            "geometry_gradient",
            self.geometry_gradient,
            "a list of 2 numbers",
        )
        for i, value in enumerate(self.geometry_gradient):
            require(math.isfinite(value), f"geometry_gradient[{i}]", value, "a finite number")
        require(
            any(value != 0 for value in self.geometry_gradient),
            "geometry_gradient",
            self.geometry_gradient,
            "a non-zero vector",
        )
        positive("geometry_max_norm", self.geometry_max_norm)
        positive("geometry_clip_value", self.geometry_clip_value)


# ---------------------------------------------------------------------------------------------
# The steps.
# ---------------------------------------------------------------------------------------------


def problem(settings: Settings) -> tuple[MLP, Array, Array]:
    r"""Build the regression problem: a fresh network and its data.

    The inputs are standard normal, ``x`` of shape ``(n_samples, sizes[0])``, and the target is
    :math:`y = \sin x_1 + x_2 x_3 / 2`. The network is an :class:`~gradwatch.MLP` with widths
    ``sizes``, hidden activation ``activation`` and weights drawn from
    :math:`\mathcal N(0, \text{init\_std}^2)`: too large for its depth, so its first gradients
    are large. The same settings give the same network and data at every call.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    net : MLP
    x : ndarray, shape (n_samples, sizes[0])
    y : ndarray, shape (n_samples, 1)

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16)
    >>> net, x, y = clipping.problem(settings)
    >>> net.sizes, x.shape, y.shape
    ([4, 8, 1], (16, 4), (16, 1))
    """
    rng = np.random.default_rng(settings.seed)
    x = rng.normal(size=(settings.n_samples, settings.sizes[0]))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    net = MLP(
        list(settings.sizes),
        activation=settings.activation,
        init=init.get("normal", std=settings.init_std),
        seed=settings.seed,
    )
    return net, x, y


def adaptive_skip(params: Sequence[Array], *, final_layer: bool = True) -> list[bool]:
    r"""Return the ``skip`` mask of adaptive clipping as published: biases and the final layer.

    Brock et al. (2021) leave the final linear layer unclipped. A bias that starts at zero has
    a norm below the floor :math:`\epsilon`, so adaptive clipping would hold its gradient to
    :math:`\lambda \epsilon` and it could barely move: the biases are left alone too.

    Parameters
    ----------
    params : sequence of ndarray
        An MLP's parameters ``[W1, b1, ..., WL, bL]``: the 1-D ones are biases, the last 2-D one
        is the final layer's weight matrix.
    final_layer : bool, default True
        Exempt the final layer's weights; False clips them (the control of the comparison).

    Returns
    -------
    list of bool
        One flag per parameter, True where the gradient is not clipped.

    Examples
    --------
    >>> import gradwatch as gw
    >>> from gradwatch.experiments import clipping
    >>> params = gw.MLP([4, 8, 8, 1], seed=0).params()
    >>> clipping.adaptive_skip(params)
    [False, True, False, True, True, True]
    >>> clipping.adaptive_skip(params, final_layer=False)
    [False, True, False, True, False, True]
    """
    last = max(i for i, p in enumerate(params) if p.ndim == 2)
    return [p.ndim == 1 or (final_layer and i == last) for i, p in enumerate(params)]


def clip_function(
    net: MLP, method: str, threshold: float, *, eps: float = 1e-3
) -> ClipFunction | None:
    """Return the clipping function of ``method`` for :func:`gradwatch.train` (None for "none").

    Parameters
    ----------
    net : MLP
        The network trained (adaptive clipping compares each unit's gradient with its weights).
    method : {"none", "global_norm", "value", "adaptive", "adaptive_final"}
        :func:`~gradwatch.clip.clip_by_global_norm`, :func:`~gradwatch.clip.clip_by_value`,
        :func:`~gradwatch.clip.adaptive_clip` with the ``skip`` mask of :func:`adaptive_skip`
        (``"adaptive_final"`` clips the final layer too), or none.
    threshold : float
        ``max_norm``, ``clip_value`` or ``clipping`` of that function (unused for "none").
    eps : float, default 1e-3
        Floor of the weight norm in adaptive clipping.

    Returns
    -------
    callable or None
        Maps a list of gradients to the clipped list (and, by global norm, also :math:`G`).

    Raises
    ------
    ValueError
        For an unknown ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import clipping
    >>> net, _, _ = clipping.problem(clipping.Settings(sizes=[4, 8, 1]))
    >>> by_value = clipping.clip_function(net, "value", 0.5)
    >>> [g.tolist() for g in by_value([np.array([2.0, -0.1])])]
    [[0.5, -0.1]]
    >>> clipping.clip_function(net, "none", 1.0) is None
    True
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    if method == "global_norm":
        return functools.partial(clip.clip_by_global_norm, max_norm=threshold)
    if method == "value":
        return functools.partial(clip.clip_by_value, clip_value=threshold)
    if method.startswith("adaptive"):
        params = net.params()
        skip = adaptive_skip(params, final_layer=method == "adaptive")
        return functools.partial(clip.adaptive_clip, params, clipping=threshold, eps=eps, skip=skip)
    return None


def train_clipped(
    settings: Settings,
    method: str = "none",
    threshold: float = math.inf,
    *,
    lr: float | None = None,
) -> History:
    """Train the network of :func:`problem` with plain SGD and one clipping method.

    Every call builds a fresh copy of the network (same seed, same weights). ``method`` and
    ``threshold`` are those of :func:`clip_function` (an unknown method raises there);
    ``lr``, if given, replaces ``settings.lr``.

    Returns
    -------
    History
        ``diverged`` is True if the loss overflowed; the run then stopped there.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, lr=0.05, steps=20)
    >>> history = clipping.train_clipped(settings, "global_norm", 1.0)
    >>> history.steps, bool(history.clipped[0]), bool(history.loss[-1] < history.loss[0])
    (20, True, True)
    """
    net, x, y = problem(settings)
    return train(
        net,
        x,
        y,
        optimizer=optim.SGD(lr=settings.lr if lr is None else lr),
        steps=settings.steps,
        clip=clip_function(net, method, threshold, eps=settings.adaptive_eps),
        seed=settings.seed,
        progress=False,
    )


def over_seeds(settings: Settings, method: str = "none", threshold: float = math.inf) -> Runs:
    """Train the run of :func:`train_clipped` once per seed of ``settings.seeds``.

    Each seed draws its own data, weights and mini-batch order; every method and learning
    rate trained with the same seed shares them.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, steps=3, seeds=[0, 1])
    >>> runs = clipping.over_seeds(settings, "global_norm", 1.0)
    >>> list(runs), bool(runs[0].loss[0] != runs[1].loss[0])
    ([0, 1], True)
    """
    return {
        seed: train_clipped(dataclasses.replace(settings, seed=seed), method, threshold)
        for seed in settings.seeds
    }


def matched_runs(settings: Settings, clipped: Mapping[int, History]) -> Runs:
    """Train plain SGD, once per seed, at the average learning rate of that seed's clipped run.

    Parameters
    ----------
    settings : Settings
    clipped : dict of int to History
        The runs clipped by global norm at ``max_norm``, by seed (:func:`over_seeds`).

    Returns
    -------
    dict of int to History
        Without clipping, at ``effective_lr`` of each clipped run.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, steps=3, seeds=[0, 1])
    >>> clipped = clipping.over_seeds(settings, "global_norm", settings.max_norm)
    >>> matched = clipping.matched_runs(settings, clipped)
    >>> list(matched), bool(matched[0].clipped.any())
    ([0, 1], False)
    """
    return {
        seed: train_clipped(
            dataclasses.replace(settings, seed=seed),
            lr=effective_lr(run, settings.lr, settings.max_norm),
        )
        for seed, run in clipped.items()
    }


@dataclass(frozen=True)
class StepSizeControl(_common.StepSizeControl[History]):
    """The runs that ask whether clipping is only a smaller step, each once per seed.

    The attributes of ``_common.StepSizeControl`` (``plain`` at the
    learning rates ``lrs``, ``clipped`` at ``max_norm`` with learning rate ``lr``, ``matched``
    from :func:`matched_runs`), and plain SGD at the clipped runs' own learning rate.

    Attributes
    ----------
    same_lr : dict of int to History
        Plain SGD at ``lr``, the learning rate of the clipped runs.
    """

    same_lr: Runs


def step_size_control(settings: Settings, progress: Progress = no_progress) -> StepSizeControl:
    """Train the runs of :class:`StepSizeControl`: the sweep, the clipped runs, the matched ones.

    The sweep trains plain SGD at every learning rate of ``lrs`` and every seed;
    ``progress("learning rates", done, total)`` follows the learning rates.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, steps=3, seeds=[0, 1],
    ...                              lrs=[0.01, 0.03])
    >>> control = clipping.step_size_control(settings)
    >>> list(control.plain), list(control.clipped), list(control.matched)
    ([0.01, 0.03], [0, 1], [0, 1])
    """
    plain: dict[float, Runs] = {}
    for i, lr in enumerate(settings.lrs):
        plain[lr] = over_seeds(dataclasses.replace(settings, lr=lr))
        progress("learning rates", i + 1, len(settings.lrs))
    same_lr = plain[settings.lr] if settings.lr in plain else over_seeds(settings)
    clipped = over_seeds(settings, "global_norm", settings.max_norm)
    matched = matched_runs(settings, clipped)
    return StepSizeControl(plain=plain, same_lr=same_lr, clipped=clipped, matched=matched)


def threshold_sweep(settings: Settings, progress: Progress = no_progress) -> dict[float, History]:
    """Train once per threshold in ``settings.thresholds``, clipping by global norm.

    ``progress("threshold sweep", done, total)`` follows the runs.

    Returns
    -------
    dict of float to History
        One run per threshold, in the order given.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, lr=0.05, steps=20,
    ...                              thresholds=[0.01, 1.0])
    >>> sweep = clipping.threshold_sweep(settings)
    >>> list(sweep), bool(sweep[0.01].loss[-1] > sweep[1.0].loss[-1])
    ([0.01, 1.0], True)
    """
    sweep = {}
    thresholds = settings.thresholds
    for i, theta in enumerate(thresholds):
        sweep[theta] = train_clipped(settings, "global_norm", theta)
        progress("threshold sweep", i + 1, len(thresholds))
    return sweep


def method_thresholds(settings: Settings) -> dict[str, float]:
    """Return the threshold of each compared method, each in its own unit.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> clipping.method_thresholds(clipping.Settings())
    {'global_norm': 10.0, 'value': 1.0, 'adaptive': 0.05, 'adaptive_final': 0.05}
    """
    return {
        "global_norm": settings.max_norm,
        "value": settings.clip_value,
        "adaptive": settings.adaptive_clipping,
        "adaptive_final": settings.adaptive_clipping,
    }


def compare_methods(settings: Settings, progress: Progress = no_progress) -> dict[str, Runs]:
    """Train the same networks, data and seeds with each clipping method of the settings.

    The thresholds are those of :func:`method_thresholds`; every run uses the learning rate
    ``lr``. ``progress("methods", done, total)`` follows the methods.

    Returns
    -------
    dict of str to dict of int to History
        Keys ``"global_norm"``, ``"value"``, ``"adaptive"`` (as published: the final layer
        and the biases are not clipped) and ``"adaptive_final"`` (the final layer clipped
        too), then the seeds.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, lr=0.01, lrs=[0.01],
    ...                              steps=5, seeds=[0], max_norm=1.0, clip_value=0.1)
    >>> runs = clipping.compare_methods(settings)
    >>> {name: run[0].steps for name, run in runs.items()}
    {'global_norm': 5, 'value': 5, 'adaptive': 5, 'adaptive_final': 5}
    """
    thresholds = method_thresholds(settings)
    runs = {}
    for i, (method, threshold) in enumerate(thresholds.items()):
        runs[method] = over_seeds(settings, method, threshold)
        progress("methods", i + 1, len(thresholds))
    return runs


def update_angle(before: Sequence[Array], after: Sequence[Array]) -> float:
    r"""Angle in degrees between two lists of arrays, each seen as one long vector.

    .. math::

        \angle(g, g') = \arccos \frac{\langle g, g' \rangle}{\lVert g \rVert\, \lVert g' \rVert},

    computed in the equivalent form :math:`2 \arctan(\lVert u - v \rVert / \lVert u + v \rVert)`
    of the unit vectors :math:`u = g/\lVert g \rVert`, :math:`v = g'/\lVert g' \rVert`, which
    keeps its accuracy for nearly parallel vectors.

    Parameters
    ----------
    before, after : sequence of ndarray
        The same number of arrays, of the same shapes (e.g. a gradient and its clipped version).

    Returns
    -------
    float
        In :math:`[0, 180]`; 0 when one is a positive multiple of the other.

    Raises
    ------
    ValueError
        If the shapes differ or either vector is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import clipping
    >>> g = [np.array([3.0, 1.0])]
    >>> round(clipping.update_angle(g, [0.5 * g[0]]), 6)
    0.0
    >>> round(clipping.update_angle(g, [np.array([1.0, 1.0])]), 2)
    26.57
    """
    if len(before) != len(after) or any(
        np.shape(a) != np.shape(b) for a, b in zip(before, after, strict=False)
    ):
        raise ValueError("before and after must hold arrays of the same shapes")
    u = np.concatenate([np.ravel(a) for a in before])
    v = np.concatenate([np.ravel(b) for b in after])
    u_norm, v_norm = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if u_norm == 0.0 or v_norm == 0.0:
        raise ValueError("the angle of a zero vector is undefined: before or after is zero")
    # 2 atan2(|u' - v'|, |u' + v'|) for the unit vectors u', v': accurate near 0 and 180 degrees,
    # where arccos of the cosine loses half its digits.
    u_unit, v_unit = u / u_norm, v / v_norm
    half = math.atan2(
        float(np.linalg.norm(u_unit - v_unit)), float(np.linalg.norm(u_unit + v_unit))
    )
    return math.degrees(2.0 * half)


@dataclass(frozen=True)
class Geometry:
    """A two-dimensional gradient and its two clipped versions, for the picture.

    Attributes
    ----------
    gradient : ndarray, shape (2,)
    by_norm : ndarray, shape (2,)
        Clipped by global norm at ``geometry_max_norm``.
    by_value : ndarray, shape (2,)
        Clipped by value at ``geometry_clip_value``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import clipping
    >>> geo = clipping.Geometry(np.array([1.0, 0.0]), np.array([0.5, 0.0]), np.array([1.0, 1.0]))
    >>> round(geo.angle_norm, 6), round(geo.angle_value, 6)
    (0.0, 45.0)
    """

    gradient: Array
    by_norm: Array
    by_value: Array

    @property
    def angle_norm(self) -> float:
        """Angle in degrees between the gradient and its norm-clipped version."""
        return update_angle([self.gradient], [self.by_norm])

    @property
    def angle_value(self) -> float:
        """Angle in degrees between the gradient and its value-clipped version."""
        return update_angle([self.gradient], [self.by_value])


def geometry(settings: Settings) -> Geometry:
    """Clip ``geometry_gradient`` by global norm and by value.

    Parameters
    ----------
    settings : Settings
        ``geometry_gradient``, ``geometry_max_norm`` and ``geometry_clip_value``.

    Returns
    -------
    Geometry

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> geo = clipping.geometry(clipping.Settings())
    >>> geo.by_norm.round(3).tolist(), geo.by_value.tolist()
    ([1.423, 0.474], [1.0, 1.0])
    >>> round(geo.angle_norm, 6), round(geo.angle_value, 1)
    (0.0, 26.6)
    """
    g = np.asarray(settings.geometry_gradient, dtype=np.float64)
    (by_norm,), _ = clip.clip_by_global_norm([g], max_norm=settings.geometry_max_norm)
    (by_value,) = clip.clip_by_value([g], clip_value=settings.geometry_clip_value)
    return Geometry(gradient=g, by_norm=by_norm, by_value=by_value)


def first_update_angles(settings: Settings, net: MLP, grads: Sequence[Array]) -> dict[str, float]:
    """Angle between the first gradients and the update each compared method makes of them.

    Parameters
    ----------
    settings : Settings
        The thresholds of the three methods (see :func:`method_thresholds`).
    net : MLP
        The untrained network of :func:`problem`.
    grads : list of ndarray
        Its gradients on the data of :func:`problem`.

    Returns
    -------
    dict of str to float
        Degrees, by method: ``"global_norm"``, ``"value"``, ``"adaptive"``,
        ``"adaptive_final"``.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16)
    >>> net, x, y = clipping.problem(settings)
    >>> _, grads = net.loss_and_grads(x, y)
    >>> angles = clipping.first_update_angles(settings, net, grads)
    >>> list(angles), round(angles["global_norm"], 6)
    (['global_norm', 'value', 'adaptive', 'adaptive_final'], 0.0)
    """
    angles = {}
    for method, threshold in method_thresholds(settings).items():
        clip_it = clip_function(net, method, threshold)
        result = list(grads) if clip_it is None else clip_it(list(grads))
        update = result[0] if isinstance(result, tuple) else result
        angles[method] = update_angle(grads, update)
    return angles


# ---------------------------------------------------------------------------------------------
# The numbers of the page.
# ---------------------------------------------------------------------------------------------


def _finite(value: float) -> float | None:
    """``value`` as a float, or None if it is inf or nan (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _final(history: History) -> float:
    """Last loss of a run; inf if the run diverged."""
    return math.inf if history.diverged else float(history.loss[-1])


def steps_text(count: int) -> str:
    """Write a number of steps in words.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> clipping.steps_text(1), clipping.steps_text(3)
    ('1 step', '3 steps')
    """
    return f"{count} step" if count == 1 else f"{count} steps"


def _over_seeds(runs: Mapping[int, History]) -> dict[str, Any]:
    return seed_summary([_final(run) for run in runs.values()])


def _step_size_numbers(settings: Settings, control: StepSizeControl) -> dict[str, Any]:
    """Return the numbers of the step-size control (see :func:`summarise`)."""
    plain = {lr: _over_seeds(runs) for lr, runs in control.plain.items()}
    stable = [lr for lr, summary in plain.items() if summary["diverged"] == 0]
    best = min(stable, key=lambda lr: plain[lr]["median"]) if stable else None
    clipped = _over_seeds(control.clipped)
    lrs = [effective_lr(run, settings.lr, settings.max_norm) for run in control.clipped.values()]
    finals = np.array(
        [[_final(runs[seed]) for seed in settings.seeds] for runs in control.plain.values()]
    )
    clipped_finals = np.array([_final(control.clipped[seed]) for seed in settings.seeds])
    beaten = int(np.sum(clipped_finals < finals.min(axis=0)))
    ratio = (
        plain[best]["median"] / clipped["median"]
        if best is not None and clipped["median"]
        else None
    )
    return {
        "seeds": len(settings.seeds),
        "plain": {f"{lr:g}": summary for lr, summary in plain.items()},
        "same_lr": _over_seeds(control.same_lr),
        "best_lr": best,
        "best": plain[best] if best is not None else None,
        "clipped": clipped,
        "matched": _common.matched_summary([_final(r) for r in control.matched.values()], lrs),
        "beats_every_lr": beaten,
        "ratio": _finite(ratio) if ratio is not None else None,
    }


def summarise(
    settings: Settings,
    net: MLP,
    grads: Sequence[Array],
    geo: Geometry,
    unclipped: History,
    clipped: History,
    control: StepSizeControl,
    sweep: Mapping[float, History],
    methods: Mapping[str, Mapping[int, History]],
    angles: Mapping[str, float],
) -> dict[str, Any]:
    """Turn the steps' results into the numbers of the page, JSON-ready.

    ``net`` and ``grads`` are the untrained network of :func:`problem` and its gradients; each
    further argument is the return value of one step, in the order of :func:`run`:
    :func:`geometry`, :func:`train_clipped` without clipping and by global norm at
    ``max_norm``, :func:`step_size_control`, :func:`threshold_sweep`, :func:`compare_methods`
    and :func:`first_update_angles`.

    Returns
    -------
    dict
        ``theta`` and ``lr`` (from the settings), ``start`` (the first gradients),
        ``geometry``, ``unclipped``, ``clipped``, ``step_size`` (the control over seeds),
        ``sweep`` and ``methods`` (over seeds, see ``seed_summary``); a value that is
        not finite is None.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(steps=5, thresholds=[0.1, 10.0], seeds=[0, 1])
    >>> net, x, y = clipping.problem(settings)
    >>> _, grads = net.loss_and_grads(x, y)
    >>> numbers = clipping.summarise(
    ...     settings,
    ...     net,
    ...     grads,
    ...     clipping.geometry(settings),
    ...     clipping.train_clipped(settings, "none"),
    ...     clipping.train_clipped(settings, "global_norm", settings.max_norm),
    ...     clipping.step_size_control(settings),
    ...     clipping.threshold_sweep(settings),
    ...     clipping.compare_methods(settings),
    ...     clipping.first_update_angles(settings, net, grads),
    ... )
    >>> sorted(numbers)  # doctest: +NORMALIZE_WHITESPACE
    ['clipped', 'geometry', 'lr', 'methods', 'start', 'step_size', 'sweep', 'theta',
     'unclipped']
    >>> numbers["sweep"]["tiny"], numbers["sweep"]["largest"], numbers["start"]["n_params"]
    (0.1, 10.0, 2305)
    """
    G0 = float(clip.global_norm(grads))
    finite_G = unclipped.grad_norm[np.isfinite(unclipped.grad_norm)]
    not_clipped = np.flatnonzero(~clipped.clipped)

    finals = {t: _final(run) for t, run in sweep.items()}
    tiny, largest = min(finals), max(finals)
    best = min(finals, key=lambda t: finals[t])
    tiny_run = sweep[tiny]

    by_method = {m: _over_seeds(runs) for m, runs in methods.items()}
    converged = [m for m, summary in by_method.items() if summary["diverged"] == 0]
    order = sorted(converged, key=lambda m: by_method[m]["median"])
    lowest, highest = (order[0], order[-1]) if order else (None, None)
    thresholds = method_thresholds(settings)
    return {
        "theta": settings.max_norm,
        "lr": settings.lr,
        "start": {
            "n_params": int(net.n_params),
            "G": G0,
            "factor": settings.max_norm / G0 if settings.max_norm < G0 else 1.0,
        },
        "geometry": {
            "g1": float(geo.gradient[0]),
            "g2": float(geo.gradient[1]),
            "v1": float(geo.by_value[0]),
            "v2": float(geo.by_value[1]),
            "angle_norm": geo.angle_norm,
            "angle_value": geo.angle_value,
        },
        "unclipped": {
            "diverged": bool(unclipped.diverged),
            "steps": unclipped.steps,
            "diverged_at": unclipped.steps - 1,
            "max_G": float(finite_G.max()) if finite_G.size else None,
        },
        "clipped": {
            "steps": clipped.steps,
            "initial_loss": _finite(clipped.loss[0]),
            "final_loss": _finite(clipped.loss[-1]),
            "percent_clipped": 100 * float(np.mean(clipped.clipped)),
            "first_unclipped": int(not_clipped[0]) if not_clipped.size else None,
            "effective_lr": effective_lr(clipped, settings.lr, settings.max_norm),
        },
        "step_size": _step_size_numbers(settings, control),
        "sweep": {
            "tiny": tiny,
            "best": best,
            "largest": largest,
            "tiny_final": _finite(finals[tiny]),
            "best_final": _finite(finals[best]),
            "largest_final": _finite(finals[largest]),
            "slowdown": _finite(finals[tiny] / finals[best]),
            "tiny_min_G": float(np.nanmin(tiny_run.grad_norm)),
            "tiny_median_G": float(np.nanmedian(tiny_run.grad_norm)),
            "step": settings.lr * tiny,
            "largest_clipped": int(sweep[largest].clipped.sum()),
            "largest_clipped_text": steps_text(int(sweep[largest].clipped.sum())),
            "runs": {
                f"{t:g}": {
                    "diverged": bool(run.diverged),
                    "final_loss": _finite(finals[t]),
                    "median_grad_norm": float(np.nanmedian(run.grad_norm)),
                }
                for t, run in sweep.items()
            },
        },
        "methods": {
            **{
                m: {
                    "threshold": thresholds[m],
                    **by_method[m],
                    "percent_clipped": 100 * float(np.mean(runs[settings.seed].clipped)),
                    "first_angle": angles[m],
                }
                for m, runs in methods.items()
            },
            "seeds": len(settings.seeds),
            "seed": settings.seed,
            "bias_cap": settings.adaptive_clipping * settings.adaptive_eps,
            "lowest": METHOD_NAMES[lowest] if lowest else "none",
            "highest": METHOD_NAMES[highest] if highest else "none",
            "spread": (
                _finite(by_method[highest]["median"] / by_method[lowest]["median"])
                if lowest and highest
                else None
            ),
        },
    }


# ---------------------------------------------------------------------------------------------
# The figures (matplotlib is imported inside, through gradwatch.plotting).
# ---------------------------------------------------------------------------------------------


def figure_geometry(settings: Settings, geo: Geometry) -> Any:
    r"""Draw a 2-D gradient, its global-norm-clipped and its value-clipped versions.

    The circle of radius ``geometry_max_norm`` holds every vector that clipping by global norm
    can return; the square :math:`[-c, c]^2` every vector that clipping by value can return.
    The first keeps the gradient's direction, the second in general turns it.

    Parameters
    ----------
    settings : Settings
    geo : Geometry
        From :func:`geometry`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings()
    >>> fig = clipping.figure_geometry(settings, clipping.geometry(settings))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][-3:]
    ['gradient g', 'clipped by global norm', 'clipped by value']
    """
    from matplotlib.patches import Circle, Rectangle

    max_norm, clip_value = settings.geometry_max_norm, settings.geometry_clip_value
    colors = plotting.COLORS
    g = geo.gradient
    fig, ax = plotting.figure(width=7.0, height=4.4)
    with plotting.style():
        ax.add_patch(
            Circle(
                (0, 0),
                max_norm,
                fill=False,
                color=colors[0],
                ls="--",
                lw=1.3,
                label=f"‖g‖ = θ = {max_norm:g}",
            )
        )
        ax.add_patch(
            Rectangle(
                (-clip_value, -clip_value),
                2 * clip_value,
                2 * clip_value,
                fill=False,
                color=colors[1],
                ls=":",
                lw=1.5,
                label=f"[-c, c]², c = {clip_value:g}",
            )
        )
        vectors = [
            (g, colors[6], "gradient g"),
            (geo.by_norm, colors[0], "clipped by global norm"),
            (geo.by_value, colors[1], "clipped by value"),
        ]
        for vector, color, label in vectors:
            ax.annotate(
                "",
                xy=(vector[0], vector[1]),
                xytext=(0, 0),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": color,
                    "lw": 2.0,
                    "shrinkA": 0,
                    "shrinkB": 0,
                },
            )
            ax.plot(
                [0, vector[0]],
                [0, vector[1]],
                color=color,
                lw=0,
                label=label,
                marker="o",
                markevery=[1],
                ms=4,
            )
        ax.axhline(0, color="#999999", lw=0.8)
        ax.axvline(0, color="#999999", lw=0.8)
        # The whole circle and square in view, and the gradient wherever it points.
        reach = 1.15 * max(max_norm, clip_value)
        ax.set_xlim(min(-reach, 1.15 * g[0]), max(reach, 1.15 * g[0]))
        ax.set_ylim(min(-reach, 1.15 * g[1]), max(reach, 1.15 * g[1]))
        ax.set_aspect("equal")
        ax.set_xlabel("first component")
        ax.set_ylabel("second component")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9)
    return fig


def figure_divergence(settings: Settings, unclipped: History, clipped: History) -> Any:
    """Loss and :math:`G` per step without clipping and clipped by global norm at ``max_norm``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> from gradwatch.experiments import clipping
    >>> run = gw.History(loss=np.array([4.0, 2.0]), grad_norm=np.array([3.0, 2.0]))
    >>> fig = clipping.figure_divergence(clipping.Settings(), run, run)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['no clipping', 'global norm, θ = 10']
    """
    return plotting.training_curves(
        {"no clipping": unclipped, f"global norm, θ = {settings.max_norm:g}": clipped}
    )


def figure_sweep(settings: Settings, sweep: Mapping[float, History]) -> Any:
    r"""Plot the final loss, gradient norm and step length against the clipping threshold.

    Parameters
    ----------
    settings : Settings
        ``lr`` is the SGD learning rate :math:`\eta`: a step has length
        :math:`\eta \min(G, \theta)`.
    sweep : mapping of float to History
        One run clipped by global norm per threshold :math:`\theta`, from
        :func:`threshold_sweep`.

    Returns
    -------
    matplotlib.figure.Figure
        Left: final loss against :math:`\theta` (a diverged run as a cross at the top). Right:
        the median over the steps of :math:`G` before clipping and of the step length.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> from gradwatch.experiments import clipping
    >>> runs = {t: gw.History(loss=np.array([2.0, 1.0]), grad_norm=np.array([5.0, 4.0]))
    ...         for t in (0.1, 1.0)}
    >>> fig = clipping.figure_sweep(clipping.Settings(lr=0.1), runs)
    >>> fig.axes[0].get_xscale(), fig.axes[1].get_ylabel()
    ('log', 'median over the steps')
    """
    lr = settings.lr
    colors = plotting.COLORS
    thresholds = np.asarray(list(sweep), dtype=float)
    runs = list(sweep.values())
    final = np.array([_final(h) for h in runs])
    grad = np.array([float(np.median(h.grad_norm[np.isfinite(h.grad_norm)])) for h in runs])
    step = np.array(
        [
            float(np.median(lr * np.minimum(h.grad_norm[np.isfinite(h.grad_norm)], t)))
            for t, h in zip(thresholds, runs, strict=True)
        ]
    )
    fig, axes = plotting.figure(1, 2, width=9.0, height=3.6)
    with plotting.style():
        left, right = axes
        ok = np.isfinite(final)
        left.plot(thresholds[ok], final[ok], "o-", color=colors[0], label="final loss")
        if (~ok).any():
            top = float(np.max(final[ok])) * 3.0 if ok.any() else 1.0
            left.plot(
                thresholds[~ok],
                np.full(int((~ok).sum()), top),
                "x",
                color=colors[1],
                ms=9,
                mew=2.5,
                label="diverged",
            )
        right.plot(thresholds, grad, "o-", color=colors[2], label="G before clipping")
        right.plot(thresholds, step, "s--", color=colors[3], label="step length η·min(G, θ)")
        for ax, ylabel in zip(axes, ("final loss", "median over the steps"), strict=True):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("threshold θ")
            ax.set_ylabel(ylabel)
            ax.legend(fontsize=9)
    return fig


def figure_methods(methods: Mapping[str, History]) -> Any:
    """Loss and :math:`G` per step for the compared methods, one line each.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, steps=3)
    >>> thresholds = clipping.method_thresholds(settings)
    >>> runs = {m: clipping.train_clipped(settings, m, t) for m, t in thresholds.items()}
    >>> fig = clipping.figure_methods(runs)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['by global norm', 'by value', 'adaptive (as published)', 'adaptive, final layer too']
    """
    labels = {
        "global_norm": "by global norm",
        "value": "by value",
        "adaptive": "adaptive (as published)",
        "adaptive_final": "adaptive, final layer too",
    }
    return plotting.training_curves({labels[m]: h for m, h in methods.items()})


# ---------------------------------------------------------------------------------------------
# The whole experiment.
# ---------------------------------------------------------------------------------------------


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: geometry, divergence, step-size control, threshold sweep, methods.

    The figures are ``clipping_geometry``, ``clipping_divergence``, ``clipping_sweep`` and
    ``clipping_methods``; ``progress`` reports ``"divergence"`` once, then the labels of
    :func:`step_size_control`, :func:`threshold_sweep` and :func:`compare_methods`.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> import dataclasses
    >>> from gradwatch.experiments import clipping
    >>> settings = dataclasses.replace(clipping.Settings(), steps=5, thresholds=[1.0])
    >>> result = clipping.run(settings, figures=False)
    >>> result.numbers["methods"]["global_norm"]["first_angle"], result.figures
    (0.0, {})
    """
    net, x, y = problem(settings)
    _, grads = net.loss_and_grads(x, y)
    geo = geometry(settings)
    unclipped = train_clipped(settings, "none")
    clipped = train_clipped(settings, "global_norm", settings.max_norm)
    progress("divergence", 1, 1)
    control = step_size_control(settings, progress)
    sweep = threshold_sweep(settings, progress)
    methods = compare_methods(settings, progress)
    angles = first_update_angles(settings, net, grads)
    numbers = summarise(
        settings, net, grads, geo, unclipped, clipped, control, sweep, methods, angles
    )
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "clipping_geometry": figure_geometry(settings, geo),
            "clipping_divergence": figure_divergence(settings, unclipped, clipped),
            "clipping_sweep": figure_sweep(settings, sweep),
            "clipping_methods": figure_methods(
                {m: runs[settings.seed] for m, runs in methods.items()}
            ),
        },
    )
