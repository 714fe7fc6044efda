r"""Diagnosing a network: the health report of a badly initialised network and of it fixed.

The experiment of the page "Diagnosing a network" (``docs/diagnosing.md``), with its settings
in ``conf/diagnosing.toml``. A deep network whose weights start too small
(:math:`\mathcal N(0, s^2)` whatever the width) and the same network with Xavier's scale are
measured layer by layer at initialisation, judged by :func:`gradwatch.diagnostics.health`, and
trained on one regression task (:func:`compare`); :func:`summarise` reads off the verdicts, the
collapse of the activations, the update:data ratios and the losses, and
:func:`figure_diagnosis` draws per-layer histograms and update:data ratios side by side.

Examples
--------
>>> from gradwatch.experiments import diagnosing
>>> small = diagnosing.Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
>>> {label: run.report.verdict for label, run in diagnosing.compare(small).items()}
{'N(0, 0.02²)': 'vanishing', 'Xavier': 'healthy'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwatch import activations, diagnostics, init, plotting
from gradwatch._validation import Array
from gradwatch.diagnostics import Diagnosis
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import activation, at_most, non_negative, positive, require
from gradwatch.experiments._common import spread


@dataclass(frozen=True)
class Settings:
    r"""Settings of the diagnosing experiment (``conf/diagnosing.toml``).

    Attributes
    ----------
    activation : str
        Activation of the hidden layers.
    n_in : int
        Input features of the regression task.
    width, depth : int
        Width and number of the hidden layers.
    bad_std : float
        Standard deviation of the bad initial weights, :math:`\mathcal N(0, s^2)`.
    n_samples : int
        Size of the data set.
    lr, momentum : float
        SGD with momentum (momentum in [0, 1)).
    steps : int
        Training steps.
    batch_size : int
        Mini-batch size, at most ``n_samples``.
    seed : int
        Seeds the data, the weights and the order of the mini-batches.

    Examples
    --------
    >>> Settings(batch_size=512)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'batch_size' = 512: expected at most n_samples = 256
    """

    activation: str = "tanh"
    n_in: int = 16
    width: int = 48
    depth: int = 8
    bad_std: float = 0.02
    n_samples: int = 256
    lr: float = 0.05
    momentum: float = 0.9
    steps: int = 100
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        activation("activation", self.activation)
        positive("n_in", self.n_in)
        positive("width", self.width)
        positive("depth", self.depth)
        positive("bad_std", self.bad_std)
        positive("n_samples", self.n_samples)
        positive("lr", self.lr)  # SGD refuses lr = 0: reject it when the file loads
        non_negative("momentum", self.momentum)
        require(self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        positive("steps", self.steps)
        positive("batch_size", self.batch_size)
        at_most("batch_size", self.batch_size, self.n_samples, limit="n_samples")
        non_negative("seed", self.seed)


def initialisations(settings: Settings) -> dict[str, Any]:
    """Label the two initialisations compared: the bad one first, then Xavier.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    dict of str to initialiser
        ``{"N(0, s²)": normal with std s, "Xavier": "xavier_normal"}``.

    Examples
    --------
    >>> list(initialisations(Settings(bad_std=0.05)))
    ['N(0, 0.05²)', 'Xavier']
    """
    return {
        f"N(0, {settings.bad_std:g}²)": init.get("normal", std=settings.bad_std),
        "Xavier": "xavier_normal",
    }


def compare(settings: Settings) -> dict[str, Diagnosis]:
    """Diagnose and train the network under both initialisations, on the same task.

    The network is ``[n_in] + [width] * depth + [1]``; for each initialisation
    :func:`gradwatch.diagnostics.compare_initialisations` builds it from ``seed``, measures
    :func:`~gradwatch.diagnostics.layer_stats` (with the first optimiser step, on copies),
    runs :func:`~gradwatch.diagnostics.health`, then trains it with SGD and momentum.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    dict of str to Diagnosis
        By label, the bad initialisation first (see :func:`initialisations`).

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
    >>> runs = compare(small)
    >>> [run.report.verdict for run in runs.values()]
    ['vanishing', 'healthy']
    """
    sizes = [settings.n_in] + [settings.width] * settings.depth + [1]
    return diagnostics.compare_initialisations(
        sizes,
        settings.activation,
        initialisations(settings),
        n_samples=settings.n_samples,
        lr=settings.lr,
        momentum=settings.momentum,
        steps=settings.steps,
        batch_size=settings.batch_size,
        seed=settings.seed,
    )


def median_update_ratios(run: Diagnosis) -> Array:
    """Median over the training steps of each layer's update:data ratio.

    Parameters
    ----------
    run : Diagnosis
        One value of :func:`compare`.

    Returns
    -------
    ndarray, shape (n_layers,)
        First layer first, output layer last.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
    >>> median_update_ratios(compare(small)["Xavier"]).shape
    (4,)
    """
    medians: Array = np.median(run.history.update_ratios, axis=0)
    return medians


def saturation_slopes(names: tuple[str, ...] = ("tanh", "sigmoid")) -> dict[str, float]:
    """Largest slope in each activation's saturated region, in per cent of its largest slope.

    :class:`~gradwatch.diagnostics.LayerStats` counts an output :math:`a` as saturated where
    :meth:`gradwatch.activations.Activation.saturated` says so; the slope :math:`g'` there is at
    most this fraction of its maximum, on a fine grid of :math:`z`.

    Parameters
    ----------
    names : tuple of str
        Activations with a saturated region.

    Returns
    -------
    dict of str to float

    Examples
    --------
    >>> {name: round(value, 1) for name, value in saturation_slopes().items()}
    {'tanh': 5.9, 'sigmoid': 11.6}
    """
    z = np.linspace(-30.0, 30.0, 600_001)
    found = {}
    for name in names:
        act = activations.get(name)
        slope = act.derivative(z)
        found[name] = 100 * float(slope[act.saturated(act(z))].max() / slope.max())
    return found


def _range(values: Array) -> dict[str, Any]:
    """Smallest and largest value, their ratio, and the range in words."""
    found = spread(values)
    return {**found, "spread": found["high"] / found["low"]}


def summarise(settings: Settings, runs: dict[str, Diagnosis]) -> dict[str, Any]:
    r"""Numbers the page quotes, JSON-ready.

    ``runs`` is the return value of the step :func:`compare`: the bad initialisation, then the
    fixed one.

    Returns
    -------
    dict
        The network (``depth``, ``width``, ``bad_std``, ``steps``), and for ``"bad"`` and
        ``"fixed"``: the ``label``, the health ``verdict``, ``depth_ratio`` (first layer's
        backpropagated gradient over the last's) and ``layer_verdicts``; the activations'
        standard deviation in the first and in the last hidden layer (``act_std_first``,
        ``act_std_last``); the largest saturation of a hidden layer (``max_saturation``,
        0 for an activation that does not saturate); the median update:data ratio of the
        first and of the output layer during training (``update_first``, ``update_output``);
        the loss at the first and at the last step (``loss_first``, ``loss_last``); the
        fitted factor by which a hidden layer multiplies the activations' standard deviation
        (``act_factor``, next to ``predicted_factor``, :math:`s\sqrt{n}`); and, over the
        hidden layers, the range (``low``, ``high``, ``spread`` = high / low, ``text``) of the
        backpropagated gradient ``delta``, of the weight gradient ``weight`` and of the median
        update:data ratio ``update``. ``saturation_slope`` is :func:`saturation_slopes`.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
    >>> numbers = summarise(small, compare(small))
    >>> numbers["bad"]["verdict"], numbers["fixed"]["label"]
    ('vanishing', 'Xavier')
    """
    bad, fixed = runs.items()
    numbers: dict[str, Any] = {
        "depth": settings.depth,
        "width": settings.width,
        "bad_std": settings.bad_std,
        "steps": settings.steps,
        "predicted_factor": settings.bad_std * float(np.sqrt(settings.width)),
        "saturation_slope": saturation_slopes(),
    }
    for key, (label, run) in (("bad", bad), ("fixed", fixed)):
        updates = median_update_ratios(run)
        saturation = [v for v in run.stats.saturation[:-1] if v is not None]
        numbers[key] = {
            "label": label,
            "verdict": run.report.verdict,
            "depth_ratio": float(run.report.depth_ratio),
            "layer_verdicts": list(run.report.layer_verdicts),
            "act_std_first": float(run.stats.act_std[0]),
            "act_std_last": float(run.stats.act_std[-2]),
            "max_saturation": float(max(saturation, default=0.0)),
            "update_first": float(updates[0]),
            "update_output": float(updates[-1]),
            "loss_first": float(run.history.loss[0]),
            "loss_last": float(run.history.loss[-1]),
            # Forward: the fitted factor by which each hidden layer (after the first, whose
            # fan-in is n_in) multiplies the activations' standard deviation.
            "act_factor": diagnostics.fit_per_layer_factor(
                run.stats.act_std[:-1] / run.stats.act_std[0]
            ),
            # Per hidden layer: the backpropagated gradient, the weight gradient and the median
            # update:data ratio, each as its range over the hidden layers.
            "delta": _range(run.stats.delta_norm[:-1]),
            "weight": _range(run.stats.grad_norm[:-1]),
            "update": _range(updates[:-1]),
        }
    return numbers


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def _layer_histograms(
    ax: Any,
    values: list[Array],
    *,
    xlabel: str,
    title: str,
    value_range: tuple[float, float] | None = None,
    bins: int = 50,
) -> None:
    """Draw one outline histogram per layer into ``ax``, in the manner of Glorot and Bengio."""
    if value_range is None:
        low = min(float(np.min(v)) for v in values)
        high = max(float(np.max(v)) for v in values)
        value_range = (low, high if high > low else low + 1.0)
    labels = [f"layer {i + 1}" for i in range(len(values))]
    plotting.layer_histograms(ax, values, labels, value_range=value_range, bins=bins)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)


def _update_ratio_lines(ax: Any, ratios: Array, *, guide: float, title: str) -> None:
    """Plot each layer's update:data ratio against the training step, with the guide line."""
    steps = np.arange(1, ratios.shape[0] + 1)
    n_layers = ratios.shape[1]
    for i, shade in enumerate(plotting.layer_shades(n_layers)):
        label = "output layer" if i == n_layers - 1 else f"layer {i + 1}"
        ax.plot(steps, ratios[:, i], "-", color=shade, lw=1.5, label=label)
    ax.axhline(guide, color="#111111", ls="--", lw=1.2, label=f"guide {guide:g}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("update:data ratio")
    ax.set_title(title)


def figure_diagnosis(runs: dict[str, Diagnosis], *, guide: float = 1e-3) -> Any:
    r"""Draw activations, gradients and update:data ratios, one column per network.

    Top: histograms of each hidden layer's activations at initialisation. Middle: histograms
    of the backpropagated gradients :math:`\partial L/\partial z` (log counts). Bottom: the
    update:data ratio of every layer during training, with the guide line (dashed). Light
    colours are the first layers, dark the last.

    Parameters
    ----------
    runs : dict of str to Diagnosis
        From :func:`compare`.
    guide : float, default 1e-3
        The update:data guide line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
    >>> [ax.get_title() for ax in figure_diagnosis(compare(small)).axes[::2]]
    ['N(0, 0.02²): activations', 'N(0, 0.02²): gradients', 'N(0, 0.02²): update:data']
    """
    labels = list(runs)
    fig, axes = plotting.figure(3, len(labels), width=4.6 * len(labels), height=11.0, squeeze=False)
    with plotting.style():
        for j, label in enumerate(labels):
            run = runs[label]
            _layer_histograms(
                axes[0, j],
                run.activations[:-1],
                xlabel="activation $a$",
                title=f"{label}: activations",
            )
            gradients = run.gradients[:-1]
            largest = max(float(np.max(np.abs(g))) for g in gradients)
            _layer_histograms(
                axes[1, j],
                gradients,
                xlabel=r"backpropagated gradient $\partial L/\partial z$",
                value_range=(-largest, largest),
                title=f"{label}: gradients",
            )
            axes[1, j].set_yscale("log")
            axes[1, j].ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
            _update_ratio_lines(
                axes[2, j],
                np.asarray(run.history.update_ratios),
                guide=guide,
                title=f"{label}: update:data",
            )
        # Every panel colours its layers alike: one legend, below the panels and off the data,
        # lists every layer (the output layer too) and the guide line.
        handles, names = axes[2, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4))
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: diagnose and train both networks; the figure is ``diagnosis``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
    >>> result = run(small, figures=False)
    >>> result.numbers["fixed"]["verdict"], result.figures
    ('healthy', {})
    """
    runs = compare(settings)
    progress("diagnosing", 1, 1)
    numbers = summarise(settings, runs)
    if not figures:
        return Result(numbers=numbers)
    return Result(numbers=numbers, figures={"diagnosis": figure_diagnosis(runs)})
