r"""Gradient clipping in practice: the experiment of the page ``docs/clipping.md``.

A ReLU network whose weights are too large for its depth fits
:math:`y = \sin x_1 + x_2 x_3 / 2` with full-batch SGD. Its first gradients are large: plain
SGD diverges, and clipping by global norm (Pascanu, Mikolov & Bengio 2013) turns the run into
a converging one. The experiment shows

- the geometry of clipping in two dimensions: by global norm the gradient keeps its direction,
  by value it turns (:func:`geometry`, :func:`update_angle`);
- the same training run without clipping, which diverges, and with it, which converges
  (:func:`train_clipped`);
- a sweep of the threshold from tiny to large (:func:`threshold_sweep`);
- clipping by global norm, by value and adaptive clipping (Brock et al. 2021) on the same
  network, data, seed and learning rate (:func:`compare_methods`,
  :func:`first_update_angles`).

Its settings are in ``conf/clipping.toml``; ``python -m gradwatch run clipping`` runs it.

Examples
--------
>>> import dataclasses
>>> from gradwatch.experiments import clipping
>>> settings = dataclasses.replace(clipping.Settings(), steps=5, thresholds=[0.1, 10.0])
>>> result = clipping.run(settings, figures=False)
>>> result.numbers["unclipped"]["diverged"], result.numbers["clipped"]["steps"]
(False, 5)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip, init, optim, plotting
from gradwatch._validation import Array
from gradwatch.experiments import (
    Progress,
    Result,
    activation,
    no_progress,
    non_negative,
    positive,
    require,
)
from gradwatch.network import MLP
from gradwatch.training import History, train

#: The clipping methods of :func:`train_clipped`, with the meaning of their ``threshold``.
METHODS = {
    "none": "no clipping",
    "global_norm": "clip_by_global_norm, threshold = max_norm",
    "value": "clip_by_value, threshold = clip_value",
    "adaptive": "adaptive_clip, threshold = clipping (ratio to the weights' norm)",
}

#: How the page names the three methods compared, in its prose and in its figure's legend.
METHOD_NAMES = {
    "global_norm": "clipping by global norm",
    "value": "clipping by value",
    "adaptive": "adaptive clipping",
}

ClipFunction = Callable[[list[Array]], Any]


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
    max_norm : float
        Threshold :math:`\theta` of clipping by global norm: the rescued run, and that method
        in the comparison.
    thresholds : list of float
        The thresholds of the sweep, tiny to large.
    clip_value : float
        Bound :math:`c` of clipping by value in the comparison.
    adaptive_clipping : float
        Ratio :math:`\lambda` of adaptive clipping in the comparison.
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
    max_norm: float = 10.0
    thresholds: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0])
    clip_value: float = 1.0
    adaptive_clipping: float = 0.05
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
        positive("max_norm", self.max_norm)
        positive("thresholds", self.thresholds)
        positive("clip_value", self.clip_value)
        positive("adaptive_clipping", self.adaptive_clipping)
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


def clip_function(net: MLP, method: str, threshold: float) -> ClipFunction | None:
    """Return the clipping function of ``method`` for :func:`gradwatch.train` (None for "none").

    Parameters
    ----------
    net : MLP
        The network trained (adaptive clipping compares each unit's gradient with its weights).
    method : {"none", "global_norm", "value", "adaptive"}
        :func:`~gradwatch.clip.clip_by_global_norm`, :func:`~gradwatch.clip.clip_by_value` or
        :func:`~gradwatch.clip.adaptive_clip`, or none.
    threshold : float
        ``max_norm``, ``clip_value`` or ``clipping`` of that function (unused for "none").

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
    if method == "adaptive":
        return functools.partial(clip.adaptive_clip, net.params(), clipping=threshold)
    return None


def train_clipped(settings: Settings, method: str = "none", threshold: float = math.inf) -> History:
    """Train the network of :func:`problem` with plain SGD and one clipping method.

    Every call builds a fresh copy of the network (same seed, same weights).

    Parameters
    ----------
    settings : Settings
    method : {"none", "global_norm", "value", "adaptive"}
        See :func:`clip_function`.
    threshold : float, default inf
        ``max_norm``, ``clip_value`` or ``clipping`` of that function (unused for "none").

    Returns
    -------
    History
        ``diverged`` is True if the loss overflowed; the run then stopped there.

    Raises
    ------
    ValueError
        For an unknown ``method``.

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
        optimizer=optim.SGD(lr=settings.lr),
        steps=settings.steps,
        clip=clip_function(net, method, threshold),
        seed=settings.seed,
        progress=False,
    )


def threshold_sweep(settings: Settings, progress: Progress = no_progress) -> dict[float, History]:
    """Train once per threshold in ``settings.thresholds``, clipping by global norm.

    Parameters
    ----------
    settings : Settings
    progress : callable, optional
        Called as ``progress("threshold sweep", done, total)`` after each run.

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
    {'global_norm': 10.0, 'value': 1.0, 'adaptive': 0.05}
    """
    return {
        "global_norm": settings.max_norm,
        "value": settings.clip_value,
        "adaptive": settings.adaptive_clipping,
    }


def compare_methods(settings: Settings) -> dict[str, History]:
    """Train the same network, data and seed with each clipping method of the settings.

    Parameters
    ----------
    settings : Settings
        ``max_norm``, ``clip_value`` and ``adaptive_clipping`` are the three thresholds.

    Returns
    -------
    dict of str to History
        Keys ``"global_norm"``, ``"value"`` and ``"adaptive"``.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16, lr=0.05, steps=5,
    ...                              max_norm=1.0, clip_value=0.1)
    >>> runs = clipping.compare_methods(settings)
    >>> {name: run.steps for name, run in runs.items()}
    {'global_norm': 5, 'value': 5, 'adaptive': 5}
    """
    thresholds = method_thresholds(settings)
    return {method: train_clipped(settings, method, t) for method, t in thresholds.items()}


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
        Degrees, by method: ``"global_norm"``, ``"value"``, ``"adaptive"``.

    Examples
    --------
    >>> from gradwatch.experiments import clipping
    >>> settings = clipping.Settings(sizes=[4, 8, 1], n_samples=16)
    >>> net, x, y = clipping.problem(settings)
    >>> _, grads = net.loss_and_grads(x, y)
    >>> angles = clipping.first_update_angles(settings, net, grads)
    >>> list(angles), round(angles["global_norm"], 6)
    (['global_norm', 'value', 'adaptive'], 0.0)
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


def summarise(
    settings: Settings,
    net: MLP,
    grads: Sequence[Array],
    geo: Geometry,
    unclipped: History,
    clipped: History,
    sweep: Mapping[float, History],
    methods: Mapping[str, History],
    angles: Mapping[str, float],
) -> dict[str, Any]:
    """Turn the steps' results into the numbers of the page, JSON-ready.

    Parameters
    ----------
    settings : Settings
    net, grads
        The untrained network of :func:`problem` and its gradients.
    geo : Geometry
        From :func:`geometry`.
    unclipped, clipped : History
        :func:`train_clipped` without clipping and by global norm at ``max_norm``.
    sweep : dict of float to History
        From :func:`threshold_sweep`.
    methods : dict of str to History
        From :func:`compare_methods`.
    angles : dict of str to float
        From :func:`first_update_angles`.

    Returns
    -------
    dict
        ``theta`` and ``lr`` (from the settings), ``start`` (the first gradients),
        ``geometry``, ``unclipped``, ``clipped``, ``sweep`` and ``methods``; a value that is
        not finite is None.

    Examples
    --------
    >>> import dataclasses
    >>> from gradwatch.experiments import clipping
    >>> settings = dataclasses.replace(clipping.Settings(), steps=5, thresholds=[0.1, 10.0])
    >>> numbers = clipping.run(settings, figures=False).numbers
    >>> sorted(numbers)
    ['clipped', 'geometry', 'lr', 'methods', 'start', 'sweep', 'theta', 'unclipped']
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

    method_finals = {m: _final(run) for m, run in methods.items()}
    order = sorted(method_finals, key=lambda m: method_finals[m])
    lowest, highest = order[0], order[-1]
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
        },
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
                    "final_loss": _finite(method_finals[m]),
                    "percent_clipped": 100 * float(np.mean(run.clipped)),
                    "first_angle": angles[m],
                }
                for m, run in methods.items()
            },
            "lowest": METHOD_NAMES[lowest],
            "highest": METHOD_NAMES[highest],
            "spread": _finite(method_finals[highest] / method_finals[lowest]),
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
        limit = 1.15 * max(float(np.max(np.abs(g))), max_norm, clip_value)
        ax.set_xlim(-0.35 * limit, limit)
        ax.set_ylim(-0.35 * limit, limit)
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
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> from gradwatch.experiments import clipping
    >>> run = gw.History(loss=np.array([4.0, 2.0]), grad_norm=np.array([3.0, 2.0]))
    >>> fig = clipping.figure_methods({"value": run, "adaptive": run})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['by value', 'adaptive']
    """
    labels = {"global_norm": "by global norm", "value": "by value", "adaptive": "adaptive"}
    return plotting.training_curves({labels[m]: h for m, h in methods.items()})


# ---------------------------------------------------------------------------------------------
# The whole experiment.
# ---------------------------------------------------------------------------------------------


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the steps in the page's order; return the numbers and (optionally) the figures.

    Parameters
    ----------
    settings : Settings
    progress : callable, default :func:`gradwatch.experiments.no_progress`
    figures : bool, default True
        Draw the figures ``clipping_geometry``, ``clipping_divergence``, ``clipping_sweep``
        and ``clipping_methods``.

    Returns
    -------
    Result

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
    sweep = threshold_sweep(settings, progress)
    methods = compare_methods(settings)
    angles = first_update_angles(settings, net, grads)
    progress("methods", 1, 1)
    numbers = summarise(settings, net, grads, geo, unclipped, clipped, sweep, methods, angles)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "clipping_geometry": figure_geometry(settings, geo),
            "clipping_divergence": figure_divergence(settings, unclipped, clipped),
            "clipping_sweep": figure_sweep(settings, sweep),
            "clipping_methods": figure_methods(methods),
        },
    )
