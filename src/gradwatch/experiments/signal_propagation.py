r"""Signal propagation and the edge of chaos: mean-field :math:`\chi_1` against measurement.

The experiment of the page "Signal propagation and the edge of chaos"
(``docs/signal_propagation.md``), with its settings in ``conf/signal_propagation.toml``. It

1. maps :math:`\chi_1`, the per-layer factor of the squared gradient norm predicted by
   mean-field theory, over a grid of weight and bias scales :math:`(\sigma_w, \sigma_b)`
   (:func:`phase_diagram`);
2. holds the prediction against the factor measured in wide random networks
   (:func:`compare_with_theory`, :func:`gradient_profiles`);
3. compares the singular values of the input-output Jacobian of a deep network on the edge of
   chaos for Gaussian and for orthogonal weights (:func:`jacobian_spectra`, :func:`spread`).

Examples
--------
>>> from gradwatch.experiments import signal_propagation
>>> signal_propagation.Settings().activation
'tanh'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import diagnostics, plotting, theory
from gradwatch._validation import Array
from gradwatch.experiments import (
    Progress,
    Result,
    SettingError,
    activation,
    at_least,
    no_progress,
    non_empty,
    non_negative,
    positive,
    require,
)


@dataclass(frozen=True)
class Settings:
    r"""Settings of the signal-propagation experiment (``conf/signal_propagation.toml``).

    Attributes
    ----------
    activation : str
        Activation of every layer.
    map_sigma_w, map_sigma_b : list of float
        ``[low, high]`` ranges of :math:`\sigma_w` (positive) and :math:`\sigma_b` (zero or
        more) of the phase diagram.
    map_points : int
        Grid points along each axis of the phase diagram (at least 2).
    sigma_ws : list of float
        Weight scales at which theory is held against measurement.
    sigma_b : float
        Bias scale of that comparison.
    width, depth : int
        Width and number of layers of the random networks measured.
    skip : int
        Layers left out at each end when fitting the per-layer factor (``depth > 2 * skip``).
    seeds : list of int
        One network and one batch per seed.
    n_samples : int
        Inputs per batch.
    tolerance : float
        Largest relative error between measured and predicted :math:`\chi_1` the page accepts.
    spectrum_width, spectrum_depth : int
        Size of the network whose Jacobian spectra are compared.
    spectrum_sigma_b : float
        Bias scale of that network; its :math:`\sigma_w` is the edge of chaos for it.
    spectrum_seed : int

    Examples
    --------
    >>> Settings(width=-1)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'width' = -1: expected a positive number
    """

    activation: str = "tanh"
    map_sigma_w: list[float] = field(default_factory=lambda: [0.5, 3.0])
    map_sigma_b: list[float] = field(default_factory=lambda: [0.0, 1.0])
    map_points: int = 41
    sigma_ws: list[float] = field(default_factory=lambda: [0.8, 1.0, 1.3, 1.7])
    sigma_b: float = 0.1
    width: int = 300
    depth: int = 24
    skip: int = 4
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    n_samples: int = 16
    tolerance: float = 0.05
    spectrum_width: int = 128
    spectrum_depth: int = 32
    spectrum_sigma_b: float = 0.01
    spectrum_seed: int = 0

    def __post_init__(self) -> None:
        activation("activation", self.activation)
        for key in ("map_sigma_w", "map_sigma_b"):
            values = getattr(self, key)
            require(len(values) == 2, key, values, "two numbers, [low, high]")
            require(values[0] < values[1], key, values, "[low, high] with low < high")
        positive("map_sigma_w", self.map_sigma_w)
        non_negative("map_sigma_b", self.map_sigma_b)
        at_least("map_points", self.map_points, 2)
        positive("sigma_ws", self.sigma_ws)
        non_negative("sigma_b", self.sigma_b)
        positive("width", self.width)
        positive("depth", self.depth)
        non_negative("skip", self.skip)
        require(self.depth > 2 * self.skip, "skip", self.skip, "less than depth / 2")
        non_empty("seeds", self.seeds)
        non_negative("seeds", self.seeds)
        positive("n_samples", self.n_samples)
        positive("tolerance", self.tolerance)
        positive("spectrum_width", self.spectrum_width)
        positive("spectrum_depth", self.spectrum_depth)
        non_negative("spectrum_sigma_b", self.spectrum_sigma_b)
        non_negative("spectrum_seed", self.spectrum_seed)
        self._check_mean_field()

    def _check_mean_field(self) -> None:
        """Reject scales where the q-map has no finite fixed point or no edge of chaos.

        These are the mean-field computations of the run, on a 2 x 2 grid for the map: a
        fraction of a second, so that a bad file fails when it is loaded.
        """
        act = self.activation
        fixed_point = f"a finite fixed point of the q-map for {act}"
        try:
            theory.chi_1_grid(act, self.map_sigma_w, self.map_sigma_b)
        except (ValueError, RuntimeError):
            raise SettingError(
                "map_sigma_w", self.map_sigma_w, f"weight scales with {fixed_point}"
            ) from None
        for i, w in enumerate(self.sigma_ws):
            try:
                theory.q_fixed_point(act, w, self.sigma_b)
            except (ValueError, RuntimeError):
                expected = f"a weight scale with {fixed_point} at sigma_b={self.sigma_b:g}"
                raise SettingError(f"sigma_ws[{i}]", w, expected) from None
        for key, b in (
            ("map_sigma_b", self.map_sigma_b[1]),
            ("spectrum_sigma_b", self.spectrum_sigma_b),
        ):
            try:
                edge = theory.critical_sigma_w(act, b)
                theory.q_fixed_point(act, edge, b)
            except (ValueError, RuntimeError):
                expected = (
                    f"a bias scale with an edge of chaos for {act} at sigma_w in [0.1, 10] "
                    f"and {fixed_point} there"
                )
                raise SettingError(key, getattr(self, key), expected) from None


@dataclass(frozen=True)
class PhaseDiagram:
    r""":math:`\chi_1` over a grid of :math:`(\sigma_w, \sigma_b)`.

    Attributes
    ----------
    sigma_w : ndarray, shape (map_points,)
    sigma_b : ndarray, shape (map_points,)
    chi : ndarray, shape (map_points, map_points)
        ``chi[i, j]`` at ``sigma_b[i]``, ``sigma_w[j]``.
    edge_top : float
        The edge of chaos (:math:`\chi_1 = 1`) at the largest :math:`\sigma_b` of the grid.

    Examples
    --------
    >>> diagram = phase_diagram(Settings(map_points=3))
    >>> diagram.sigma_w.tolist(), diagram.sigma_b.tolist()
    ([0.5, 1.75, 3.0], [0.0, 0.5, 1.0])
    """

    sigma_w: Array
    sigma_b: Array
    chi: Array
    edge_top: float


def phase_diagram(settings: Settings) -> PhaseDiagram:
    r"""Compute the phase diagram: :math:`\chi_1` over the grid of the settings.

    Parameters
    ----------
    settings : Settings
        Uses ``activation``, ``map_sigma_w``, ``map_sigma_b`` and ``map_points``.

    Returns
    -------
    PhaseDiagram

    Examples
    --------
    >>> diagram = phase_diagram(Settings(map_points=5))
    >>> diagram.chi.shape, bool(diagram.chi[0, 0] < 1 < diagram.chi[0, -1])
    ((5, 5), True)
    >>> round(diagram.edge_top, 3)
    1.856
    """
    (w_low, w_high), (b_low, b_high) = settings.map_sigma_w, settings.map_sigma_b
    ws = np.linspace(w_low, w_high, settings.map_points)
    bs = np.linspace(b_low, b_high, settings.map_points)
    chi = theory.chi_1_grid(settings.activation, ws, bs)
    edge_top = theory.critical_sigma_w(settings.activation, float(bs[-1]))
    return PhaseDiagram(sigma_w=ws, sigma_b=bs, chi=chi, edge_top=edge_top)


def compare_with_theory(settings: Settings) -> dict[str, Array]:
    r"""Predicted and measured :math:`\chi_1` for each weight scale of ``settings.sigma_ws``.

    Random networks of ``width`` and ``depth``, one per seed, with inputs at the fixed point;
    the measured factor is the geometric mean over the middle layers (``skip`` left out at
    each end), averaged in log over the seeds (:func:`gradwatch.diagnostics.chi_1_comparison`).

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    dict of str to ndarray
        ``"sigma_w"``, ``"predicted"``, ``"measured"`` (one value per weight scale) and
        ``"profiles"``, shape (len(sigma_ws), depth + 1): the measured squared gradient norm
        at each layer relative to the output's, input first.

    Examples
    --------
    >>> small = Settings(sigma_ws=[0.8, 1.7], width=100, depth=8, skip=2, seeds=[0])
    >>> table = compare_with_theory(small)
    >>> table["predicted"].round(3).tolist(), table["profiles"].shape
    ([0.61, 1.218], (2, 9))
    """
    table: dict[str, Array] = diagnostics.chi_1_comparison(
        settings.activation,
        settings.sigma_ws,
        settings.sigma_b,
        width=settings.width,
        depth=settings.depth,
        seeds=settings.seeds,
        n_samples=settings.n_samples,
        skip=settings.skip,
    )
    return table


def gradient_profiles(
    settings: Settings, comparison: dict[str, Array]
) -> tuple[dict[str, Array], dict[str, Array]]:
    r"""Measured and predicted squared gradient norm at every layer, relative to the output's.

    The prediction for layer :math:`l` of :math:`L` is :math:`\chi_1^{L-l}`: one factor
    :math:`\chi_1` per layer crossed on the way back from the output.

    Parameters
    ----------
    settings : Settings
    comparison : dict
        From :func:`compare_with_theory`.

    Returns
    -------
    measured, predicted : dict of str to ndarray, shape (depth + 1,)
        Keyed by a label of the weight scale, input first.

    Examples
    --------
    >>> small = Settings(sigma_ws=[1.7], width=50, depth=6, skip=1, seeds=[0])
    >>> measured, predicted = gradient_profiles(small, compare_with_theory(small))
    >>> list(predicted), predicted["$\\sigma_w$ = 1.7"][-2:].round(3).tolist()
    (['$\\sigma_w$ = 1.7'], [1.218, 1.0])
    """
    measured: dict[str, Array] = {}
    predicted: dict[str, Array] = {}
    layers_to_output = np.arange(settings.depth, -1, -1)
    for w, chi, profile in zip(
        comparison["sigma_w"], comparison["predicted"], comparison["profiles"], strict=True
    ):
        measured[f"$\\sigma_w$ = {w:g}"] = profile
        predicted[f"$\\sigma_w$ = {w:g}"] = chi**layers_to_output
    return measured, predicted


def relative_errors(comparison: dict[str, Array]) -> Array:
    r"""Relative error of the measured :math:`\chi_1`: :math:`|m/p - 1|`, measured over predicted.

    Parameters
    ----------
    comparison : dict
        From :func:`compare_with_theory`.

    Returns
    -------
    ndarray, shape (len(sigma_ws),)

    Examples
    --------
    >>> table = {"predicted": np.array([0.5, 2.0]), "measured": np.array([0.51, 1.9])}
    >>> relative_errors(table).round(3).tolist()
    [0.02, 0.05]
    """
    errors: Array = np.abs(comparison["measured"] / comparison["predicted"] - 1)
    return errors


@dataclass(frozen=True)
class Spectra:
    """Singular values of the input-output Jacobian on the edge of chaos.

    Attributes
    ----------
    sigma_w : float
        The weight scale of the edge of chaos for ``spectrum_sigma_b``.
    values : dict of str to ndarray, shape (spectrum_width,)
        ``{"gaussian": ..., "orthogonal": ...}``, in decreasing order.

    Examples
    --------
    >>> spectra = Spectra(sigma_w=1.0, values={"orthogonal": np.ones(3)})
    >>> spread(spectra)["orthogonal"]["max_over_median"]
    1.0
    """

    sigma_w: float
    values: dict[str, Array]


def jacobian_spectra(settings: Settings) -> Spectra:
    r"""Build the deep network on the edge of chaos twice and take its Jacobian's spectrum.

    The weight scale solves :math:`\chi_1(\sigma_w, \sigma_b) = 1` for
    ``settings.spectrum_sigma_b`` (:func:`gradwatch.theory.critical_sigma_w`); the weights are
    Gaussian once and orthogonal once, from the same seed
    (:func:`gradwatch.diagnostics.jacobian_spectra`).

    Parameters
    ----------
    settings : Settings
        Uses ``activation`` and the ``spectrum_*`` settings.

    Returns
    -------
    Spectra

    Examples
    --------
    >>> spectra = jacobian_spectra(Settings(spectrum_width=16, spectrum_depth=4))
    >>> round(spectra.sigma_w, 3), sorted(spectra.values)
    (1.042, ['gaussian', 'orthogonal'])
    """
    sigma_w = theory.critical_sigma_w(settings.activation, settings.spectrum_sigma_b)
    values: dict[str, Array] = diagnostics.jacobian_spectra(
        settings.spectrum_width,
        settings.spectrum_depth,
        settings.activation,
        sigma_w,
        settings.spectrum_sigma_b,
        seed=settings.spectrum_seed,
    )
    return Spectra(sigma_w=sigma_w, values=values)


def spread(spectra: Spectra) -> dict[str, dict[str, float]]:
    """Two measures of the spread of each spectrum, blind to its smallest values.

    For Gaussian weights the smallest singular values fall to the level of rounding errors, so
    the condition number (largest over smallest) would measure the arithmetic. These do not:
    the largest singular value over the median, and the share of singular values within a
    factor of ten of 1.

    Parameters
    ----------
    spectra : Spectra
        From :func:`jacobian_spectra`.

    Returns
    -------
    dict of str to dict
        For each spectrum, ``"max_over_median"`` and ``"share_within_10x"`` (a fraction).

    Examples
    --------
    >>> spectra = Spectra(sigma_w=1.0, values={"a": np.array([20.0, 1.0, 0.5])})
    >>> spread(spectra)
    {'a': {'max_over_median': 20.0, 'share_within_10x': 0.6666666666666666}}
    """
    return {
        name: {
            "max_over_median": float(values.max() / np.median(values)),
            "share_within_10x": float(np.mean((values > 0.1) & (values < 10))),
        }
        for name, values in spectra.values.items()
    }


def summarise(
    settings: Settings,
    diagram: PhaseDiagram,
    comparison: dict[str, Array],
    spectra: Spectra,
) -> dict[str, Any]:
    r"""Numbers the page quotes, JSON-ready.

    Parameters
    ----------
    settings : Settings
    diagram : PhaseDiagram
        From :func:`phase_diagram`.
    comparison : dict
        From :func:`compare_with_theory`.
    spectra : Spectra
        From :func:`jacobian_spectra`.

    Returns
    -------
    dict
        ``"map"``: the edge of chaos at the top of the phase diagram; ``"comparison"``: the
        network's size, the predicted and measured :math:`\chi_1`, the largest relative error
        and the tolerance (in %), the ends of the range; ``"spectra"``: the network, its
        :math:`\sigma_w`, and per spectrum the largest over the median singular value and
        the percentage within a factor of ten of 1.

    Examples
    --------
    >>> small = Settings(
    ...     map_points=5, sigma_ws=[0.8, 1.7], width=100, depth=8, skip=2, seeds=[0],
    ...     spectrum_width=16, spectrum_depth=4)
    >>> numbers = summarise(
    ...     small, phase_diagram(small), compare_with_theory(small), jacobian_spectra(small))
    >>> numbers["comparison"]["chi_low"] < 1 < numbers["comparison"]["chi_high"]
    True
    >>> sorted(numbers["spectra"]["gaussian"])
    ['max_over_median', 'percent_within_10x']
    """
    predicted = comparison["predicted"]
    spreads = spread(spectra)
    return {
        "map": {
            "top_sigma_b": float(diagram.sigma_b[-1]),
            "edge_top": float(diagram.edge_top),
        },
        "comparison": {
            "width": settings.width,
            "depth": settings.depth,
            "skip": settings.skip,
            "n_seeds": len(settings.seeds),
            "sigma_b": settings.sigma_b,
            "sigma_w": comparison["sigma_w"].tolist(),
            "predicted": predicted.tolist(),
            "measured": comparison["measured"].tolist(),
            "max_error_percent": 100 * float(relative_errors(comparison).max()),
            "tolerance_percent": 100 * settings.tolerance,
            "chi_low": float(predicted[0]),
            "chi_high": float(predicted[-1]),
            "sw_low": float(comparison["sigma_w"][0]),
            "sw_high": float(comparison["sigma_w"][-1]),
            "total_low": float(predicted[0] ** settings.depth),
        },
        "spectra": {
            "sigma_b": settings.spectrum_sigma_b,
            "sigma_w": float(spectra.sigma_w),
            "depth": settings.spectrum_depth,
            "width": settings.spectrum_width,
            **{
                name: {
                    "max_over_median": values["max_over_median"],
                    "percent_within_10x": 100 * values["share_within_10x"],
                }
                for name, values in spreads.items()
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def figure_chi_1_map(settings: Settings, diagram: PhaseDiagram) -> Any:
    r"""Draw the phase diagram: :math:`\log_{10}\chi_1` over :math:`(\sigma_w, \sigma_b)`.

    Blue is the ordered phase, red the chaotic one; the black contour is the edge of chaos,
    :math:`\chi_1 = 1`.

    Parameters
    ----------
    settings : Settings
    diagram : PhaseDiagram
        From :func:`phase_diagram`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> small = Settings(map_points=5)
    >>> figure_chi_1_map(small, phase_diagram(small)).axes[0].get_xlabel()
    '$\\sigma_w$'
    """
    fig, ax = plotting.figure(width=6.4, height=4.2)
    with plotting.style():
        log_chi = np.log10(diagram.chi)
        limit = float(np.max(np.abs(log_chi)))
        mesh = ax.pcolormesh(
            diagram.sigma_w,
            diagram.sigma_b,
            log_chi,
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            shading="nearest",
        )
        ax.contour(
            diagram.sigma_w,
            diagram.sigma_b,
            diagram.chi,
            levels=[1.0],
            colors="#111111",
            linewidths=2.0,
        )
        ax.grid(False)
        colorbar = fig.colorbar(mesh, ax=ax)
        colorbar.set_label(r"$\log_{10}\chi_1$")
        ax.text(0.04, 0.9, "ordered\n$\\chi_1 < 1$", transform=ax.transAxes, va="top")
        ax.text(0.96, 0.1, "chaotic\n$\\chi_1 > 1$", transform=ax.transAxes, ha="right")
        ax.set_xlabel(r"$\sigma_w$")
        ax.set_ylabel(r"$\sigma_b$")
        ax.set_title(f"{settings.activation}: per-layer factor $\\chi_1$")
    return fig


def figure_theory_vs_measurement(settings: Settings, comparison: dict[str, Array]) -> Any:
    r"""Plot the measured gradient profiles (markers) on the prediction :math:`\chi_1^{L-l}`.

    Parameters
    ----------
    settings : Settings
    comparison : dict
        From :func:`compare_with_theory`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> small = Settings(sigma_ws=[1.7], width=50, depth=6, skip=1, seeds=[0])
    >>> fig = figure_theory_vs_measurement(small, compare_with_theory(small))
    >>> fig.axes[0].get_lines()[0].get_xdata()[:2].tolist()
    [0, 1]
    """
    measured, predicted = gradient_profiles(settings, comparison)
    fig = plotting.line_by_layer(
        measured,
        theory=predicted,
        ylabel="squared gradient norm / output's",
        xlabel="layer (0 = input)",
        title=f"{settings.activation}, $\\sigma_b$ = {settings.sigma_b:g}",
    )
    # line_by_layer numbers its points from 1; the profiles start at the input, layer 0.
    for line in fig.axes[0].get_lines():
        line.set_xdata(np.arange(len(line.get_ydata())))
    fig.axes[0].relim()
    fig.axes[0].autoscale_view()
    return fig


def figure_jacobian_spectra(settings: Settings, spectra: Spectra, *, bins: int = 40) -> Any:
    """Draw histograms of the Jacobian's singular values on a logarithmic axis.

    Parameters
    ----------
    settings : Settings
    spectra : Spectra
        From :func:`jacobian_spectra`.
    bins : int, default 40

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> small = Settings(spectrum_width=16, spectrum_depth=4)
    >>> figure_jacobian_spectra(small, jacobian_spectra(small)).axes[0].get_xscale()
    'log'
    """
    fig, ax = plotting.figure()
    positive_values = {k: v[v > 0] for k, v in spectra.values.items()}
    smallest = min(float(v.min()) for v in positive_values.values())
    largest = max(float(v.max()) for v in positive_values.values())
    edges = np.geomspace(smallest / 1.5, largest * 1.5, bins + 1)
    with plotting.style():
        for i, (label, values) in enumerate(positive_values.items()):
            color = plotting.COLORS[i % 7]
            ax.hist(values, bins=edges, color=color, alpha=0.55, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("singular value of the input-output Jacobian")
        ax.set_ylabel("count")
        ax.set_title(
            f"{settings.spectrum_depth} {settings.activation} layers, "
            f"$\\sigma_w$ = {spectra.sigma_w:.3f}"
        )
        ax.legend()
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: phase diagram, theory against measurement, Jacobian spectra.

    Parameters
    ----------
    settings : Settings
    progress : callable, default :func:`gradwatch.experiments.no_progress`
    figures : bool, default True
        Draw the figures ``chi_1_map``, ``theory_vs_measurement`` and ``jacobian_spectra``.

    Returns
    -------
    Result

    Examples
    --------
    >>> small = Settings(
    ...     map_points=5, sigma_ws=[0.8, 1.7], width=60, depth=6, skip=1,
    ...     seeds=[0], spectrum_width=16, spectrum_depth=4)
    >>> result = run(small, figures=False)
    >>> sorted(result.numbers), result.figures
    (['comparison', 'map', 'spectra'], {})
    """
    diagram = phase_diagram(settings)
    progress("signal propagation", 1, 3)
    comparison = compare_with_theory(settings)
    progress("signal propagation", 2, 3)
    spectra = jacobian_spectra(settings)
    progress("signal propagation", 3, 3)
    numbers = summarise(settings, diagram, comparison, spectra)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "chi_1_map": figure_chi_1_map(settings, diagram),
            "theory_vs_measurement": figure_theory_vs_measurement(settings, comparison),
            "jacobian_spectra": figure_jacobian_spectra(settings, spectra),
        },
    )
