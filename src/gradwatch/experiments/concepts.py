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

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import activations, diagnostics, plotting, theory
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import activation, at_least, finite, increasing, positive, require
from gradwatch.experiments._common import geometric_mean, spread
from gradwatch.optim import SGD

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
    sweep_depths : list of int
        Increasing depths of the networks whose input-to-output gradient ratio is measured for
        each scale (:func:`depth_sweep`), at least three.
    weight_depth : int
        Layers of the networks whose weight gradients are measured (:func:`weight_gradients`).
    weight_scale : float
        Weight scale ``s`` of the zero-centred (tanh) and of the not-centred (sigmoid) network
        of :func:`weight_gradients`, the same draws for both.
    bias_scale : float
        Bias standard deviation of the saturated tanh network of :func:`weight_gradients`
        (weights at ``s = 1``).
    lr : float
        Learning rate of the one SGD step whose update:data ratio is measured.

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
    sweep_depths: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32, 64, 128])
    weight_depth: int = 10
    weight_scale: float = 0.5
    bias_scale: float = 2.0
    lr: float = 0.1

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
        at_least("seeds", self.seeds, 0)
        positive("n_samples", self.n_samples)
        positive("sweep_depths", self.sweep_depths)
        require(
            len(self.sweep_depths) >= 3
            and all(a < b for a, b in itertools.pairwise(self.sweep_depths)),
            "sweep_depths",
            self.sweep_depths,
            "at least three increasing depths",
        )
        at_least("weight_depth", self.weight_depth, 2)
        positive("weight_scale", self.weight_scale)
        positive("bias_scale", self.bias_scale)
        positive("lr", self.lr)


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


def mean_field_profiles(settings: Settings) -> dict[str, Array]:
    r"""Predict each scale's gradient profile by iterating the variance map layer by layer.

    :func:`gradwatch.theory.mean_field_layers` gives, for every layer,
    the pre-activation variance :math:`q^{(l)}` of a wide network fed standard normal inputs
    and the factor :math:`\chi^{(l)} = s^2 E[g'(z^{(l)})^2]` by which crossing it backwards
    multiplies the squared gradient. The factors are constant only where :math:`q^{(l)}` has
    settled: at the critical scale of tanh (:math:`s = 1`, no biases) :math:`q^{(l)}` keeps
    falling like :math:`1/(2l)` and :math:`\chi^{(l)}` creeps up towards 1.

    Parameters
    ----------
    settings : Settings
        Uses ``depth``, ``scales`` and ``activation``.

    Returns
    -------
    dict of str to ndarray
        Keyed as :func:`gradient_profiles`; each of shape ``(depth + 1,)``, entry ``d`` the
        predicted ratio after ``d`` layers crossed from the output.

    Examples
    --------
    >>> predicted = mean_field_profiles(Settings(depth=3, activation="relu", scales=[1, 2, 3]))
    >>> predicted["s = 2"].round(6).tolist()
    [1.0, 1.414214, 2.0, 2.828427]
    """
    return {
        f"s = {scale:g}": theory.mean_field_layers(
            settings.activation, scale, settings.depth
        ).input_ratio()
        for scale in settings.scales
    }


def depth_sweep(settings: Settings, progress: Progress = no_progress) -> dict[str, Array]:
    """Measure the gradient's input-to-output ratio in networks of each of ``sweep_depths``.

    Each entry is the last value of :func:`gradwatch.diagnostics.measured_gradient_norms` for a
    network of that depth (same width, activation, seeds and batch as :func:`gradient_profiles`).

    Parameters
    ----------
    settings : Settings
        Uses ``sweep_depths`` and what :func:`gradient_profiles` uses.
    progress : callable, default :func:`gradwatch.experiments.no_progress`
        Called as ``progress("depth sweep", done, total)`` after each scale.

    Returns
    -------
    dict of str to ndarray
        Keyed as :func:`gradient_profiles`; each of shape ``(len(sweep_depths),)``.

    Examples
    --------
    >>> sweep = depth_sweep(Settings(width=16, seeds=[0], sweep_depths=[1, 2, 4]))
    >>> sweep["s = 0.5"].shape
    (3,)
    """
    sweep = {}
    for i, scale in enumerate(settings.scales):
        sweep[f"s = {scale:g}"] = np.asarray(
            [
                diagnostics.measured_gradient_norms(
                    depth,
                    settings.width,
                    scale,
                    settings.activation,
                    seeds=settings.seeds,
                    n_samples=settings.n_samples,
                )[-1]
                for depth in settings.sweep_depths
            ]
        )
        progress("depth sweep", i + 1, len(settings.scales))
    return sweep


def fit_depth_laws(depths: Sequence[int], ratios: Array) -> dict[str, float]:
    r"""Fit a geometric law and a power law to a gradient ratio measured at several depths.

    Geometric: :math:`\log r = L \log\rho + c`; power law: :math:`\log r = -\alpha \log L
    + c`. Each is a least-squares line, and its residual is the root-mean-square distance of
    :math:`\log r` from it: the law that describes the data leaves the smaller residual.

    Parameters
    ----------
    depths : sequence of int, shape (n,)
    ratios : ndarray, shape (n,)
        Positive.

    Returns
    -------
    dict of str to float
        ``factor`` (:math:`\rho`), ``geometric_residual``, ``alpha`` and ``power_residual``.

    Examples
    --------
    >>> laws = fit_depth_laws([2, 4, 8, 16], np.array([2, 4, 8, 16]) ** -0.5)
    >>> round(laws["alpha"], 6), round(laws["power_residual"], 6), laws["geometric_residual"] > 0.1
    (0.5, 0.0, True)
    """
    depth = np.asarray(depths, dtype=float)
    log_ratio = np.log(np.asarray(ratios, dtype=float))
    geometric = np.polyfit(depth, log_ratio, 1)
    power = np.polyfit(np.log(depth), log_ratio, 1)
    return {
        "factor": math.exp(float(geometric[0])),
        "geometric_residual": float(np.std(log_ratio - np.polyval(geometric, depth))),
        "alpha": -float(power[0]),
        "power_residual": float(np.std(log_ratio - np.polyval(power, np.log(depth)))),
    }


@dataclass(frozen=True, eq=False)
class WeightGradients:
    r"""Per-layer sizes of one network's signal and gradients, one row per seed.

    Attributes
    ----------
    input_rms : ndarray, shape (n_seeds, depth)
        Root-mean-square of each layer's input :math:`a^{(l-1)}` (:math:`a^{(0)} = x`).
    delta : ndarray, shape (n_seeds, depth)
        RMS over samples of :math:`\lVert\partial L/\partial z^{(l)}\rVert`.
    weight : ndarray, shape (n_seeds, depth)
        :math:`\lVert\partial L/\partial W^{(l)}\rVert_F =
        \lVert a^{(l-1)\top}\,\partial L/\partial z^{(l)}\rVert_F`.
    update : ndarray, shape (n_seeds, depth)
        update:data ratio :math:`\operatorname{std}(\Delta W)/\operatorname{std}(W)` of one SGD
        step.

    Examples
    --------
    >>> ones = np.ones((1, 3))
    >>> WeightGradients(ones, ones, ones, ones).first_to_last("weight").tolist()
    [1.0]
    """

    input_rms: Array
    delta: Array
    weight: Array
    update: Array

    def first_to_last(self, column: str) -> Array:
        """First layer's value of ``column`` over the last layer's, one per seed."""
        values: Array = getattr(self, column)
        return np.asarray(values[:, 0] / values[:, -1])


#: The networks of :func:`weight_gradients`: label, activation, weight scale (None for the
#: settings' ``weight_scale``) and bias scale (None for the settings' ``bias_scale``).
WEIGHT_NETWORKS = (
    ("centred", "tanh", None, 0.0),
    ("sigmoid", "sigmoid", None, 0.0),
    ("saturated", "tanh", 1.0, None),
)


def weight_gradients(settings: Settings) -> dict[str, WeightGradients]:
    r"""Measure, layer by layer, the backpropagated gradient, the weight gradient and the update.

    Three networks of ``weight_depth`` layers of ``width`` units (every layer, the output one
    included, with the same activation), from :func:`gradwatch.diagnostics.random_mlp`:

    - ``"centred"``: tanh, weights at ``weight_scale``, no biases: zero-centred activations
      that shrink layer after layer, as the gradient shrinks going back;
    - ``"sigmoid"``: the same weights (same seeds) with the sigmoid, whose activations sit
      near 1/2, not around zero;
    - ``"saturated"``: tanh with weights at ``s = 1`` and biases of standard deviation
      ``bias_scale``, which push many units into tanh's flat tails.

    Each network, per seed, reads one batch of ``n_samples`` standard normal inputs and
    standard normal targets under the squared error; :func:`gradwatch.diagnostics.layer_stats`
    gives the per-layer sizes and the update:data ratio of one ``SGD(lr)`` step.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    dict of str to WeightGradients
        Keyed ``"centred"``, ``"sigmoid"``, ``"saturated"``.

    Examples
    --------
    >>> found = weight_gradients(Settings(width=16, weight_depth=4, seeds=[0], n_samples=8))
    >>> list(found), found["centred"].weight.shape
    (['centred', 'sigmoid', 'saturated'], (1, 4))
    """
    found = {}
    for label, name, weight_scale, bias_scale in WEIGHT_NETWORKS:
        rows: dict[str, list[Array]] = {"input_rms": [], "delta": [], "weight": [], "update": []}
        for seed in settings.seeds:
            net = diagnostics.random_mlp(
                settings.width,
                settings.weight_depth,
                name,
                sigma_w=settings.weight_scale if weight_scale is None else weight_scale,
                sigma_b=settings.bias_scale if bias_scale is None else bias_scale,
                seed=seed,
            )
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((settings.n_samples, settings.width))
            y = rng.standard_normal((settings.n_samples, settings.width))
            stats = diagnostics.layer_stats(net, x, y, optimizer=SGD(lr=settings.lr))
            rms = np.sqrt(stats.act_std**2 + stats.act_mean**2)
            rows["input_rms"].append(np.concatenate([[np.sqrt(np.mean(x * x))], rms[:-1]]))
            rows["delta"].append(stats.delta_norm)
            rows["weight"].append(stats.grad_norm)
            rows["update"].append(np.asarray(stats.update_data, dtype=float))
        found[label] = WeightGradients(**{k: np.asarray(v) for k, v in rows.items()})
    return found


@dataclass(frozen=True, eq=False)
class Measurements:
    """Everything the page measures, as returned by the steps; :func:`summarise` reads it.

    Attributes
    ----------
    z : ndarray
        From :func:`grid`.
    slopes : dict of str to ndarray
        From :func:`slopes`; holds ``"sigmoid"`` and ``"tanh"``.
    profiles, predicted : dict of str to ndarray
        From :func:`gradient_profiles` and :func:`mean_field_profiles`.
    sweep : dict of str to ndarray
        From :func:`depth_sweep`.
    weights : dict of str to WeightGradients
        From :func:`weight_gradients`.
    """

    z: Array
    slopes: dict[str, Array]
    profiles: dict[str, Array]
    predicted: dict[str, Array]
    sweep: dict[str, Array]
    weights: dict[str, WeightGradients]


def measure(settings: Settings, progress: Progress = no_progress) -> Measurements:
    """Run every step of the page, in its order.

    Examples
    --------
    >>> small = Settings(n_points=5, depth=4, width=16, seeds=[0], sweep_depths=[1, 2, 4],
    ...                  weight_depth=3, n_samples=8)
    >>> sorted(measure(small).weights)
    ['centred', 'saturated', 'sigmoid']
    """
    z = grid(settings)
    return Measurements(
        z=z,
        slopes=slopes(z),
        profiles=gradient_profiles(settings, progress),
        predicted=mean_field_profiles(settings),
        sweep=depth_sweep(settings, progress),
        weights=weight_gradients(settings),
    )


def _sweep_prediction(settings: Settings, scale: float) -> Array:
    """Mean-field input-to-output ratio of a network of each of ``sweep_depths``."""
    layers = theory.mean_field_layers(settings.activation, scale, max(settings.sweep_depths))
    ratios = np.sqrt(np.cumprod(layers.chi))
    return np.asarray([ratios[depth - 1] for depth in settings.sweep_depths])


def _listed(values: Sequence[int]) -> str:
    """Write numbers as an English list: ``"2, 4 and 8"``."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def summarise(settings: Settings, measured: Measurements) -> dict[str, Any]:
    """Collect the numbers the page quotes.

    ``measured`` is the return value of :func:`measure`, which runs every step.

    Returns
    -------
    dict
        ``z_min``, ``z_max``, ``n_points``, ``depth``, ``width``, ``weight_depth``,
        ``weight_scale``, ``bias_scale`` and ``lr`` of the settings; ``sweep_max``, the deepest
        network of the sweep, and ``sweep_depth_text``, its depths in words;
        ``sigmoid_slope_max`` and ``tanh_slope_max``, the largest slopes on the grid;
        ``sigmoid_peak_z``, where the sigmoid's slope is largest; ``sigmoid_ten_layers``, the
        tenth power of its largest slope (what ten sigmoid layers can at most leave of a
        gradient).

        For each scale, under ``"small"``, ``"middle"`` and ``"large"``: ``scale``; ``ratio``
        (the gradient's size at the input over its size at the output) and ``predicted_ratio``
        (mean field's); ``factor``, the per-layer factor fitted by
        :func:`gradwatch.diagnostics.fit_per_layer_factor`; ``profile`` and ``predicted``, the
        whole profiles; ``sweep`` and ``sweep_predicted``, the ratio at each of
        ``sweep_depths`` (``sweep_last`` at the deepest); ``laws``, :func:`fit_depth_laws` of
        the sweep, and
        ``predicted_alpha``, the power-law exponent fitted to mean field's sweep.

        Under ``"weights"``, for each network of :func:`weight_gradients`, the first layer's
        value over the last layer's, over the seeds (``low``, ``high`` and ``text``, the range
        in words) of ``delta``, ``weight`` and ``update``; and ``signal``, the last layer's input
        size over the first's.

    Examples
    --------
    >>> settings = Settings(n_points=5, depth=4, width=16, seeds=[0], sweep_depths=[1, 2, 4],
    ...                     weight_depth=3, n_samples=8)
    >>> numbers = summarise(settings, measure(settings))
    >>> numbers["sigmoid_slope_max"], numbers["sigmoid_peak_z"], numbers["small"]["scale"]
    (0.25, 0.0, 0.5)
    >>> sorted(numbers["weights"]["centred"])
    ['delta', 'signal', 'update', 'weight']
    """
    sigmoid, tanh, z = measured.slopes["sigmoid"], measured.slopes["tanh"], measured.z
    numbers: dict[str, Any] = {
        "z_min": settings.z_min,
        "z_max": settings.z_max,
        "n_points": settings.n_points,
        "depth": settings.depth,
        "width": settings.width,
        "weight_depth": settings.weight_depth,
        "sweep_max": max(settings.sweep_depths),
        "sweep_depth_text": _listed(settings.sweep_depths),
        "weight_scale": settings.weight_scale,
        "bias_scale": settings.bias_scale,
        "lr": settings.lr,
        "sigmoid_slope_max": float(sigmoid.max()),
        "sigmoid_peak_z": float(z[sigmoid.argmax()]),
        "tanh_slope_max": float(tanh.max()),
        "sigmoid_ten_layers": float(sigmoid.max()) ** 10,
    }
    for name, scale in zip(SCALE_NAMES, settings.scales, strict=True):
        label = f"s = {scale:g}"
        profile, predicted = measured.profiles[label], measured.predicted[label]
        sweep_predicted = _sweep_prediction(settings, scale)
        numbers[name] = {
            "scale": scale,
            "ratio": float(profile[-1]),
            "predicted_ratio": float(predicted[-1]),
            "factor": diagnostics.fit_per_layer_factor(profile),
            "profile": profile.tolist(),
            "predicted": predicted.tolist(),
            "sweep": measured.sweep[label].tolist(),
            "sweep_last": float(measured.sweep[label][-1]),
            "sweep_predicted": sweep_predicted.tolist(),
            "laws": fit_depth_laws(settings.sweep_depths, measured.sweep[label]),
            "predicted_alpha": fit_depth_laws(settings.sweep_depths, sweep_predicted)["alpha"],
        }
    numbers["weights"] = {
        label: {
            "signal": spread(1.0 / found.first_to_last("input_rms")),
            **{
                column: spread(found.first_to_last(column))
                for column in ("delta", "weight", "update")
            },
        }
        for label, found in measured.weights.items()
    }
    return numbers


def weight_table(found: WeightGradients) -> str:
    r"""One network's per-layer sizes as a Markdown table, geometric means over the seeds.

    Examples
    --------
    >>> ones = np.ones((2, 2))
    >>> print(weight_table(WeightGradients(ones, ones, ones, ones)).splitlines()[2])
    | 1 | 1 | 1 | 1 | 1 |
    """
    header = "| layer $l$ | size of $a^{(l-1)}$ | $\\partial L/\\partial z^{(l)}$ | "
    header += "$\\partial L/\\partial W^{(l)}$ | update:data |"
    lines = [header, "|---|---|---|---|---|"]
    columns = [found.input_rms, found.delta, found.weight, found.update]
    means = [geometric_mean(c, axis=0) for c in columns]
    for layer in range(found.weight.shape[1]):
        cells = " | ".join(f"{m[layer]:.2g}" for m in means)
        lines.append(f"| {layer + 1} | {cells} |")
    return "\n".join(lines)


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


def figure_norms(
    settings: Settings, profiles: dict[str, Array], predicted: dict[str, Array] | None = None
) -> Any:
    """Draw the gradient's size against the number of layers crossed, one series per scale.

    Parameters
    ----------
    settings : Settings
        Its ``activation``, ``depth`` and ``width`` title the figure.
    profiles : dict of str to ndarray
        From :func:`gradient_profiles`.
    predicted : dict of str to ndarray, optional
        From :func:`mean_field_profiles`, drawn as lines.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn by :func:`gradwatch.plotting.norms_against_depth`, on a logarithmic axis, with a
        dotted line at a ratio of one.

    Examples
    --------
    >>> settings = Settings(depth=4, width=16, seeds=[0])
    >>> fig = figure_norms(settings, gradient_profiles(settings), mean_field_profiles(settings))
    >>> fig.axes[0].get_title(), fig.axes[0].get_yscale(), len(fig.axes[0].lines)
    ('tanh, 4 layers of width 16', 'log', 8)
    """
    return plotting.norms_against_depth(
        profiles,
        predicted,
        theory_label="mean field",
        threshold=1.0,
        threshold_label="no change",
        title=f"{settings.activation}, {settings.depth} layers of width {settings.width}",
    )


def figure_depth_laws(settings: Settings, sweep: dict[str, Array]) -> Any:
    """Input-to-output ratio against depth at the middle and the small scale, with both fits.

    Left, the middle scale on logarithmic axes, where a power law is a straight line; right,
    the small scale with a linear depth axis, where a geometric law is one. Each panel draws
    the measured points, mean field's prediction and the two fitted laws.

    Parameters
    ----------
    settings : Settings
    sweep : dict of str to ndarray
        From :func:`depth_sweep`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> settings = Settings(width=16, seeds=[0], sweep_depths=[1, 2, 4])
    >>> fig = figure_depth_laws(settings, depth_sweep(settings))
    >>> [ax.get_xscale() for ax in fig.axes], len(fig.axes[0].lines)
    (['log', 'linear'], 4)
    """
    depths = np.asarray(settings.sweep_depths, dtype=float)
    fine = np.geomspace(depths[0], depths[-1], 200)
    fig, axes = plotting.figure(1, 2, width=9.0, height=3.9)
    panels = ((settings.scales[1], "log", "critical"), (settings.scales[0], "linear", "ordered"))
    with plotting.style():
        for ax, (scale, xscale, phase) in zip(axes, panels, strict=True):
            label = f"s = {scale:g}"
            measured = sweep[label]
            laws = fit_depth_laws(settings.sweep_depths, measured)
            log_ratio = np.log(measured)
            geometric = np.polyfit(depths, log_ratio, 1)
            power = np.polyfit(np.log(depths), log_ratio, 1)
            ax.plot(depths, measured, "o", ms=6, color=plotting.COLORS[0], label="measured")
            ax.plot(
                depths,
                _sweep_prediction(settings, scale),
                "-",
                color="#555555",
                lw=1.4,
                label="mean field",
            )
            ax.plot(
                fine,
                np.exp(np.polyval(power, np.log(fine))),
                "--",
                color=plotting.COLORS[1],
                label=f"power law, $\\alpha$ = {laws['alpha']:.2f}",
            )
            ax.plot(
                fine,
                np.exp(np.polyval(geometric, fine)),
                ":",
                color=plotting.COLORS[2],
                lw=2.2,
                label=f"geometric, {laws['factor']:.3f} per layer",
            )
            ax.set_xscale(xscale)
            ax.set_yscale("log")
            ax.set_ylim(float(measured.min()) / 4, float(measured.max()) * 4)
            ax.set_xlabel("depth $L$ (layers)")
            ax.set_title(f"{settings.activation}, {label} ({phase})")
            ax.legend(loc="lower left")
        axes[0].set_ylabel("gradient at input / at output")
    return fig


def figure_weight_gradients(settings: Settings, found: dict[str, WeightGradients]) -> Any:
    r"""Draw each layer's signal and gradients relative to the last layer's, a panel per network.

    Per layer: the input's size, :math:`\partial L/\partial z`, :math:`\partial L/\partial W`
    and the update:data ratio, geometric means over the seeds. The panels are stacked so that
    each is as wide as the page.

    Parameters
    ----------
    settings : Settings
    found : dict of str to WeightGradients
        From :func:`weight_gradients`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> settings = Settings(width=16, weight_depth=3, seeds=[0], n_samples=8)
    >>> fig = figure_weight_gradients(settings, weight_gradients(settings))
    >>> [ax.get_title() for ax in fig.axes][:1]
    ['tanh, s = 0.5: zero-centred activations']
    """
    titles = {
        "centred": f"tanh, s = {settings.weight_scale:g}: zero-centred activations",
        "sigmoid": f"sigmoid, s = {settings.weight_scale:g}: activations near 1/2",
        "saturated": f"tanh, s = 1, bias std {settings.bias_scale:g}: saturated",
    }
    series = (
        ("input_rms", "size of the input $a^{(l-1)}$", "s", "-"),
        ("delta", "backpropagated $\\partial L/\\partial z^{(l)}$", "o", "-"),
        ("weight", "weight gradient $\\partial L/\\partial W^{(l)}$", "D", "-"),
        ("update", "update:data ratio", "x", ""),
    )
    fig, axes = plotting.figure(len(found), 1, width=7.0, height=2.6 * len(found) + 0.9)
    with plotting.style():
        for ax, (label, values) in zip(np.atleast_1d(axes), found.items(), strict=True):
            layers = np.arange(1, values.weight.shape[1] + 1)
            for i, (column, name, marker, line) in enumerate(series):
                data = getattr(values, column)
                mean = geometric_mean(data / data[:, -1:], axis=0)
                ax.plot(
                    layers,
                    mean,
                    marker=marker,
                    ls=line,
                    ms=7 if marker == "x" else 5,
                    mew=2,
                    color=plotting.COLORS[i],
                    label=name,
                )
            ax.set_yscale("log")
            ax.set_title(titles.get(label, label))
            ax.set_ylabel("relative to layer " + str(layers[-1]))
            ax.xaxis.get_major_locator().set_params(integer=True)
        np.atleast_1d(axes)[-1].set_xlabel("layer $l$")
        handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=2)
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: every step of the page (:func:`measure`), then its summary.

    The figures are ``activations``, ``weight_scale_norms``, ``depth_laws`` and
    ``weight_gradients``; ``progress`` is called after each scale, with the label
    ``"weight scales"`` and then ``"depth sweep"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> result = run(Settings(n_points=41, depth=4, width=16, seeds=[0], sweep_depths=[1, 2, 4],
    ...                       weight_depth=3, n_samples=8))
    >>> sorted(result.figures), result.numbers["depth"]
    (['activations', 'depth_laws', 'weight_gradients', 'weight_scale_norms'], 4)
    """
    measured = measure(settings, progress)
    numbers = summarise(settings, measured)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "activations": figure_activations(settings),
            "weight_scale_norms": figure_norms(settings, measured.profiles, measured.predicted),
            "depth_laws": figure_depth_laws(settings, measured.sweep),
            "weight_gradients": figure_weight_gradients(settings, measured.weights),
        },
    )
