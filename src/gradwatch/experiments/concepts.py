r"""Activations and their slopes, and both faces of the gradient problem in one deep network.

The experiment of the page ``docs/concepts.md`` (settings ``conf/concepts.toml``). On a grid of
:math:`z` (:func:`grid`) it measures the slope of every activation (:func:`slopes`), which
bounds the sigmoid's by :math:`1/4`; then it sends a random gradient back through a deep
network whose weights are drawn from :math:`\mathcal N(0, s^2/n)` for a small, a middle and a
large scale :math:`s` and records its size after each layer (:func:`gradient_profiles`): it
vanishes for the small scale and explodes for the large one. :func:`summarise` gives the largest
slopes, and for each scale the ratio of the gradient's size at the input to its size at the
output and the fitted factor per layer; :func:`figure_activations` and :func:`figure_norms` draw
the two figures of the page.

Examples
--------
>>> result = run(Settings(), figures=False)
>>> result.numbers["sigmoid_slope_max"]
0.25
>>> result.numbers["small"]["ratio"] < 1e-3 < 10.0 < result.numbers["large"]["ratio"]
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import activations, diagnostics, plotting
from gradwatch._validation import Array
from gradwatch.experiments import (
    Progress,
    Result,
    activation,
    at_least,
    finite,
    increasing,
    no_progress,
    non_negative,
    positive,
    require,
)

#: Names of the three weight scales in :func:`summarise`, in the order of ``Settings.scales``.
SCALE_NAMES = ("small", "middle", "large")


@dataclass(frozen=True)
class Settings:
    """Settings of the concepts page (``conf/concepts.toml``).

    Attributes
    ----------
    z_min, z_max : float
        Range of ``z`` for the activation plots and the slope bound.
    n_points : int
        Grid points on that range, at least 2.
    depth : int
        Layers of the deep network.
    width : int
        Units per layer.
    scales : list of float
        Three increasing weight scales ``s`` (small, middle, large): weights ~ N(0, s^2 / width).
    activation : str
        Activation of every layer of the deep network.
    seeds : list of int
        One network, input batch and output gradient per seed.
    n_samples : int
        Inputs per batch.

    Examples
    --------
    >>> Settings().scales
    [0.5, 1.0, 2.0]
    >>> Settings(z_min=1.0, z_max=-1.0)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'z_max' = -1.0: expected a number above z_min = 1
    """

    z_min: float = -6.0
    z_max: float = 6.0
    n_points: int = 2401
    depth: int = 30
    width: int = 64
    scales: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0])
    activation: str = "tanh"
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    n_samples: int = 32

    def __post_init__(self) -> None:
        finite("z_min", self.z_min)
        require(
            math.isfinite(self.z_max) and self.z_max > self.z_min,
            "z_max",
            self.z_max,
            f"a number above z_min = {self.z_min:g}",
        )
        at_least("n_points", self.n_points, 2)
        positive("depth", self.depth)
        positive("width", self.width)
        positive("scales", self.scales)
        increasing(
            "scales", self.scales, 3, "three increasing weight scales (small, middle, large)"
        )
        activation("activation", self.activation)
        non_negative("seeds", self.seeds)
        positive("n_samples", self.n_samples)


def grid(settings: Settings) -> Array:
    """Lay out the points ``z`` on which the activations are drawn and their slopes measured.

    Parameters
    ----------
    settings : Settings
        Uses ``z_min``, ``z_max`` and ``n_points``.

    Returns
    -------
    ndarray, shape (n_points,)
        Evenly spaced from ``z_min`` to ``z_max``, both included.

    Examples
    --------
    >>> grid(Settings(z_min=-1.0, z_max=1.0, n_points=5)).tolist()
    [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    return np.linspace(settings.z_min, settings.z_max, settings.n_points)


def slopes(z: Array, names: Sequence[str] | None = None) -> dict[str, Array]:
    """Evaluate the derivative :math:`g'(z)` of each activation on the points ``z``.

    Parameters
    ----------
    z : ndarray
        From :func:`grid`.
    names : sequence of str, optional
        Activations by name; every activation of :func:`gradwatch.activations.names` by default.

    Returns
    -------
    dict of str to ndarray
        One array shaped like ``z`` per activation.

    Examples
    --------
    >>> found = slopes(np.array([-1.0, 0.0, 1.0]), ["sigmoid", "relu"])
    >>> round(float(found["sigmoid"].max()), 6), found["relu"].tolist()
    (0.25, [0.0, 0.0, 1.0])
    """
    chosen = activations.names() if names is None else names
    return {name: activations.get(name).derivative(z) for name in chosen}


def gradient_profiles(settings: Settings, progress: Progress = no_progress) -> dict[str, Array]:
    r"""Measure the backpropagated gradient's size after each layer, for each weight scale.

    For each scale ``s``, :func:`gradwatch.diagnostics.measured_gradient_norms` builds a network of
    ``depth`` layers of ``width`` units with weights drawn from :math:`\mathcal N(0, s^2/n)`,
    sends a random gradient back from the output and records its root-mean-square size at
    every layer divided by its size at the output, averaged over the seeds.

    Parameters
    ----------
    settings : Settings
        Uses ``depth``, ``width``, ``scales``, ``activation``, ``seeds`` and ``n_samples``.
    progress : callable, default :func:`gradwatch.experiments.no_progress`
        Called as ``progress("weight scales", done, total)`` after each scale.

    Returns
    -------
    dict of str to ndarray
        Keyed ``"s = 0.5"`` and so on, in the order of ``scales``; each of shape
        ``(depth + 1,)``, entry ``d`` after ``d`` layers crossed from the output (entry 0 is 1).

    Examples
    --------
    >>> profiles = gradient_profiles(Settings(depth=4, width=16, seeds=[0]))
    >>> list(profiles), profiles["s = 1"].shape
    (['s = 0.5', 's = 1', 's = 2'], (5,))
    """
    profiles = {}
    for i, scale in enumerate(settings.scales):
        profiles[f"s = {scale:g}"] = diagnostics.measured_gradient_norms(
            settings.depth,
            settings.width,
            scale,
            settings.activation,
            seeds=settings.seeds,
            n_samples=settings.n_samples,
        )
        progress("weight scales", i + 1, len(settings.scales))
    return profiles


def summarise(
    settings: Settings, z: Array, found: dict[str, Array], profiles: dict[str, Array]
) -> dict[str, Any]:
    """Collect the numbers the page quotes: the largest slopes, and each scale's gradient.

    Parameters
    ----------
    settings : Settings
    z : ndarray
        From :func:`grid`.
    found : dict of str to ndarray
        From :func:`slopes`; must hold ``"sigmoid"`` and ``"tanh"``.
    profiles : dict of str to ndarray
        From :func:`gradient_profiles`, one per scale.

    Returns
    -------
    dict
        ``z_min``, ``z_max``, ``n_points``, ``depth`` and ``width`` of the settings;
        ``sigmoid_slope_max`` and ``tanh_slope_max``, the largest slopes on the grid;
        ``sigmoid_peak_z``, where the sigmoid's slope is largest; ``sigmoid_ten_layers``, the
        tenth power of its largest slope (what ten sigmoid layers can at most leave of a
        gradient); and for each scale, under ``"small"``, ``"middle"`` and ``"large"``:
        ``scale``, ``ratio`` (the gradient's size at the input over its size at the output),
        ``factor`` (the per-layer factor fitted by
        :func:`gradwatch.diagnostics.fit_per_layer_factor`) and ``profile``, the whole profile.

    Examples
    --------
    >>> settings = Settings(n_points=5, depth=4, width=16, seeds=[0])
    >>> z = grid(settings)
    >>> numbers = summarise(settings, z, slopes(z), gradient_profiles(settings))
    >>> numbers["sigmoid_slope_max"], numbers["sigmoid_peak_z"], numbers["small"]["scale"]
    (0.25, 0.0, 0.5)
    """
    sigmoid, tanh = found["sigmoid"], found["tanh"]
    numbers: dict[str, Any] = {
        "z_min": settings.z_min,
        "z_max": settings.z_max,
        "n_points": settings.n_points,
        "depth": settings.depth,
        "width": settings.width,
        "sigmoid_slope_max": float(sigmoid.max()),
        "sigmoid_peak_z": float(z[sigmoid.argmax()]),
        "tanh_slope_max": float(tanh.max()),
        "sigmoid_ten_layers": float(sigmoid.max()) ** 10,
    }
    for name, scale, profile in zip(SCALE_NAMES, settings.scales, profiles.values(), strict=True):
        numbers[name] = {
            "scale": scale,
            "ratio": float(profile[-1]),
            "factor": diagnostics.fit_per_layer_factor(profile),
            "profile": profile.tolist(),
        }
    return numbers


def figure_activations(
    settings: Settings,
    names: Sequence[str] | None = None,
    *,
    ncols: int = 5,
    panel_size: float = 2.2,
) -> Any:
    """Draw each activation :math:`g(z)` and its derivative :math:`g'(z)` in a small panel.

    Parameters
    ----------
    settings : Settings
        The range of ``z`` is :func:`grid`'s.
    names : sequence of str, optional
        Activations by name; every activation of :func:`gradwatch.activations.names` by default.
    ncols : int, default 5
        Panels per row.
    panel_size : float, default 2.2
        Width and height in inches of one panel.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per activation, each with three lines: a grey line at zero, :math:`g` solid
        and :math:`g'` dashed.

    Raises
    ------
    ValueError
        If ``names`` is empty or ``ncols < 1``.

    Examples
    --------
    >>> fig = figure_activations(Settings(n_points=41), ["sigmoid", "relu"])
    >>> [ax.get_title() for ax in fig.axes], len(fig.axes[0].lines)
    (['sigmoid', 'relu'], 3)
    """
    chosen = list(activations.names() if names is None else names)
    if not chosen:
        raise ValueError("names must list at least one activation")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols!r}")
    z = grid(settings)
    cols = min(ncols, len(chosen))
    rows = -(-len(chosen) // cols)
    fig, axes = plotting.figure(
        rows, cols, width=panel_size * cols, height=panel_size * rows, squeeze=False, sharex=True
    )
    with plotting.style():
        for ax, name in zip(axes.ravel(), chosen, strict=False):
            act = activations.get(name)
            ax.axhline(0.0, color="#bbbbbb", lw=0.8, zorder=0)
            ax.plot(z, act(z), "-", color=plotting.COLORS[0], label="$g(z)$")
            ax.plot(z, act.derivative(z), "--", color=plotting.COLORS[1], label="$g'(z)$")
            ax.set_title(name)
        for ax in axes.ravel()[len(chosen) :]:
            ax.remove()
        for ax in axes[-1]:
            ax.set_xlabel("$z$")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=2)
    return fig


def figure_norms(settings: Settings, profiles: dict[str, Array]) -> Any:
    """Draw the gradient's size against the number of layers crossed, one series per scale.

    Parameters
    ----------
    settings : Settings
        Its ``activation``, ``depth`` and ``width`` title the figure.
    profiles : dict of str to ndarray
        From :func:`gradient_profiles`.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn by :func:`gradwatch.plotting.norms_against_depth`, on a logarithmic axis, with a
        dotted line at a ratio of one.

    Examples
    --------
    >>> settings = Settings(depth=4, width=16, seeds=[0])
    >>> fig = figure_norms(settings, gradient_profiles(settings))
    >>> fig.axes[0].get_title(), fig.axes[0].get_yscale()
    ('tanh, 4 layers of width 16', 'log')
    """
    return plotting.norms_against_depth(
        profiles,
        threshold=1.0,
        threshold_label="no change",
        title=f"{settings.activation}, {settings.depth} layers of width {settings.width}",
    )


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Measure the slopes and the gradient profiles, summarise them, and draw the two figures.

    Parameters
    ----------
    settings : Settings
    progress : callable, default :func:`gradwatch.experiments.no_progress`
        Called as ``progress("weight scales", done, total)`` after each scale.
    figures : bool, default True
        Draw the figures ``activations`` and ``weight_scale_norms``.

    Returns
    -------
    gradwatch.experiments.Result
        The numbers of :func:`summarise`, and the figures by file stem.

    Examples
    --------
    >>> result = run(Settings(n_points=41, depth=4, width=16, seeds=[0]))
    >>> sorted(result.figures), result.numbers["depth"]
    (['activations', 'weight_scale_norms'], 4)
    """
    z = grid(settings)
    found = slopes(z)
    profiles = gradient_profiles(settings, progress)
    numbers = summarise(settings, z, found, profiles)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "activations": figure_activations(settings),
            "weight_scale_norms": figure_norms(settings, profiles),
        },
    )
