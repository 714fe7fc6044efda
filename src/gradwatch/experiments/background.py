r"""Gradient descent on a quadratic bowl at a too small, a good and a too large learning rate.

The experiment of the page ``docs/background.md`` (settings ``conf/background.toml``). An
ill-conditioned two-dimensional bowl :math:`L(w) = \tfrac12 (w - w^\star)^\top H (w - w^\star)`
is built with :func:`gradwatch.landscape.quadratic` (:func:`bowl`), and gradient descent runs
from one start with three learning rates (:func:`descend`): one too small, one well inside the
stable range :math:`0 < \eta < 2/\lambda_\max` and one just beyond it. :func:`summarise` gives the
curvatures, the limit :math:`2/\lambda_\max`, and for each run its final loss, the steps it
needed to reach the tolerance and the factors :math:`1 - \eta\lambda` by which each step
multiplies the error along the flattest and the steepest direction;
:func:`figure_descent_paths` draws the three paths over the bowl's contours.

Examples
--------
>>> result = run(Settings(), figures=False)
>>> result.numbers["max_stable_lr"]
0.2
>>> [result.numbers[name]["diverged"] for name in ("small", "good", "large")]
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import landscape, plotting
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import finite, increasing, positive, require
from gradwatch.landscape import DescentRun, Quadratic

#: Names of the three runs in :func:`summarise`, in the order of ``Settings.learning_rates``.
RUN_NAMES = ("small", "good", "large")


@dataclass(frozen=True)
class Settings:
    """Settings of the background page (``conf/background.toml``).

    Attributes
    ----------
    curvatures : list of float
        The two eigenvalues of the Hessian, positive (the bowl is drawn in a plane).
    angle : float
        Rotation of the bowl's axes from the coordinate axes, in radians.
    start : list of float
        The first point :math:`w_0`, two coordinates.
    learning_rates : list of float
        Three increasing learning rates: too small, good, too large.
    steps : int
        Updates per run.
    tol : float
        Loss at which a run counts as converged.

    Examples
    --------
    >>> Settings().learning_rates
    [0.01, 0.15, 0.21]
    >>> Settings(learning_rates=[0.15, 0.01, 0.21])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'learning_rates' = [0.15, 0.01, 0.21]: \
expected three increasing learning rates (too small, good, too large)
    """

    curvatures: list[float] = field(default_factory=lambda: [1.0, 10.0])
    angle: float = 0.5
    start: list[float] = field(default_factory=lambda: [-4.0, -1.4])
    learning_rates: list[float] = field(default_factory=lambda: [0.01, 0.15, 0.21])
    steps: int = 50
    tol: float = 1e-3

    def __post_init__(self) -> None:
        positive("curvatures", self.curvatures)
        require(
            len(self.curvatures) == 2, "curvatures", self.curvatures, "two curvatures (a plane)"
        )
        finite("angle", self.angle)
        require(len(self.start) == 2, "start", self.start, "two coordinates, like curvatures")
        finite("start", self.start)
        positive("learning_rates", self.learning_rates)
        increasing(
            "learning_rates",
            self.learning_rates,
            3,
            "three increasing learning rates (too small, good, too large)",
        )
        positive("steps", self.steps)
        positive("tol", self.tol)


def bowl(settings: Settings) -> Quadratic:
    """Build the page's quadratic bowl, its minimum at the origin.

    Parameters
    ----------
    settings : Settings
        Uses ``curvatures`` and ``angle``.

    Returns
    -------
    gradwatch.landscape.Quadratic
        The loss, callable on points, with its ``grad``, ``hessian`` and ``eigenvalues``.

    Examples
    --------
    >>> surface = bowl(Settings(curvatures=[1.0, 10.0], angle=0.5))
    >>> surface.eigenvalues.round(6).tolist(), round(surface.max_stable_lr, 6)
    ([1.0, 10.0], 0.2)
    """
    return landscape.quadratic(settings.curvatures, angle=settings.angle)


def descend(settings: Settings, surface: Quadratic) -> list[DescentRun]:
    """Run gradient descent over ``surface`` from one start, once per learning rate.

    Parameters
    ----------
    settings : Settings
        Uses ``start``, ``learning_rates``, ``steps`` and ``tol``.
    surface : gradwatch.landscape.Quadratic
        From :func:`bowl`.

    Returns
    -------
    list of gradwatch.landscape.DescentRun
        One run per learning rate, in the order of ``settings.learning_rates``.

    Examples
    --------
    >>> settings = Settings(steps=20)
    >>> runs = descend(settings, bowl(settings))
    >>> [(run.lr, len(run.path), run.diverged) for run in runs]
    [(0.01, 21, False), (0.15, 21, False), (0.21, 21, True)]
    """
    return landscape.learning_rate_sweep(
        surface,
        surface.grad,
        settings.start,
        settings.learning_rates,
        steps=settings.steps,
        tol=settings.tol,
    )


def summarise(settings: Settings, surface: Quadratic, runs: list[DescentRun]) -> dict[str, Any]:
    r"""Collect the numbers the page quotes: the bowl, and what each learning rate did.

    ``surface`` and ``runs`` are the return values of the steps :func:`bowl` and
    :func:`descend`.

    Returns
    -------
    dict
        ``lam_min``, ``lam_max``, ``condition_number`` and ``max_stable_lr`` (:math:`2 /
        \lambda_\max`) of the bowl; ``steps`` and ``tol`` of the settings; ``loss_start``, the
        loss at the common start; and for each run, under ``"small"``, ``"good"`` and
        ``"large"``: ``lr``, ``final_loss``, ``steps_to_tol`` (``None`` if the tolerance was never
        reached), ``diverged``, and ``factor_flat`` and ``factor_steep``, the factors
        :math:`1 - \eta\lambda_\min` and :math:`1 - \eta\lambda_\max` by which each step
        multiplies the error along the flattest and the steepest direction.

    Examples
    --------
    >>> settings = Settings()
    >>> surface = bowl(settings)
    >>> numbers = summarise(settings, surface, descend(settings, surface))
    >>> numbers["good"]["steps_to_tol"], numbers["small"]["steps_to_tol"]
    (28, None)
    >>> round(numbers["large"]["factor_steep"], 6)
    -1.1
    """
    lam_min, lam_max = (float(value) for value in surface.eigenvalues)
    numbers: dict[str, Any] = {
        "lam_min": lam_min,
        "lam_max": lam_max,
        "condition_number": float(surface.condition_number),
        "max_stable_lr": float(surface.max_stable_lr),
        "steps": settings.steps,
        "tol": settings.tol,
        "loss_start": float(runs[0].losses[0]),
    }
    for name, one in zip(RUN_NAMES, runs, strict=True):
        numbers[name] = {
            "lr": one.lr,
            "final_loss": one.final_loss,
            "steps_to_tol": one.steps_to_tol,
            "diverged": one.diverged,
            "factor_flat": 1.0 - one.lr * lam_min,
            "factor_steep": 1.0 - one.lr * lam_max,
        }
    return numbers


def figure_descent_paths(
    surface: Quadratic,
    runs: list[DescentRun],
    *,
    extent: tuple[float, float, float, float] | None = None,
    levels: int = 12,
    resolution: int = 200,
    height: float = 3.6,
) -> Any:
    r"""Draw the paths of gradient descent over the bowl's contours, one panel per run.

    Each panel is titled with the run's :meth:`~gradwatch.landscape.DescentRun.describe` and
    marks the start (a black square) and the minimum (a star).

    Parameters
    ----------
    surface : gradwatch.landscape.Quadratic
        A two-dimensional bowl, from :func:`bowl`.
    runs : list of gradwatch.landscape.DescentRun
        From :func:`descend`.
    extent : tuple of float, optional
        ``(w1_min, w1_max, w2_min, w2_max)`` of every panel. By default a square around the
        points of the runs whose last loss does not exceed their first (the start points if
        every run diverges) and the minimum, 1.3 times as wide as they spread; a diverging path
        leaves the panel.
    levels : int, default 12
        Number of contour lines, spaced geometrically when the loss is positive on the grid.
    resolution : int, default 200
        Grid points along each axis for the contours.
    height : float, default 3.6
        Figure height in inches; each panel is as wide.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per run, each with three lines: the path, its start and the minimum.

    Raises
    ------
    ValueError
        If ``runs`` is empty or the bowl is not two-dimensional.

    Examples
    --------
    >>> settings = Settings(steps=5)
    >>> surface = bowl(settings)
    >>> fig = figure_descent_paths(surface, descend(settings, surface))
    >>> len(fig.axes), len(fig.axes[0].lines)
    (3, 3)
    """
    if not runs:
        raise ValueError("runs must hold at least one run of gradient descent")
    if surface.minimum.shape != (2,):
        raise ValueError(f"the bowl must be two-dimensional, got {surface.minimum.size} dimensions")
    minimum = surface.minimum
    if extent is None:
        kept = [run.path for run in runs if run.final_loss <= float(run.losses[0])]
        box = np.concatenate(kept) if kept else np.stack([run.path[0] for run in runs])
        box = np.vstack([box, minimum])
        centre = 0.5 * (box.min(axis=0) + box.max(axis=0))
        half = 0.65 * max(float(np.ptp(box, axis=0).max()), 1e-3)
        extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    w1 = np.linspace(extent[0], extent[1], resolution)
    w2 = np.linspace(extent[2], extent[3], resolution)
    grid_1, grid_2 = np.meshgrid(w1, w2)
    values = np.asarray(surface(np.stack([grid_1, grid_2], axis=-1)), dtype=float)
    top, bottom = float(values.max()), float(values.min())
    if bottom > 0 or (bottom == 0 and top > 0):
        contour_levels = np.geomspace(max(bottom, top * 1e-4), top, levels)
    else:
        contour_levels = np.linspace(bottom, top, levels)
    fig, axes = plotting.figure(
        1, len(runs), width=height * len(runs), height=height, squeeze=False
    )
    with plotting.style():
        for i, (ax, one) in enumerate(zip(axes[0], runs, strict=True)):
            ax.contour(
                grid_1, grid_2, values, levels=contour_levels, colors="#9a9a9a", linewidths=0.8
            )
            points = one.path
            ax.plot(points[:, 0], points[:, 1], "o-", ms=3, lw=1.4, color=plotting.COLORS[i % 7])
            ax.plot(points[0, 0], points[0, 1], "s", ms=7, color="#000000", label="start")
            ax.plot(minimum[0], minimum[1], "*", ms=12, color="#000000", label="minimum")
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_aspect("equal", adjustable="box")
            ax.grid(False)
            ax.set_title(one.describe())
            ax.set_xlabel("$w_1$")
            if i == 0:
                ax.set_ylabel("$w_2$")
                ax.legend(loc="lower right", fontsize=8.5)
    return plotting.readable(fig)


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: the bowl and its three descents; the figure is ``descent_paths``.

    ``progress`` is called once, as ``progress("gradient descent", 1, 1)``, after the descents.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> result = run(Settings(steps=5))
    >>> sorted(result.figures), result.numbers["steps"]
    (['descent_paths'], 5)
    """
    surface = bowl(settings)
    runs = descend(settings, surface)
    progress("gradient descent", 1, 1)
    numbers = summarise(settings, surface, runs)
    if not figures:
        return Result(numbers=numbers)
    return Result(numbers=numbers, figures={"descent_paths": figure_descent_paths(surface, runs)})
