"""Matplotlib helpers that draw the site's figures (``pip install gradwatch[plot]``).

Every helper returns a :class:`matplotlib.figure.Figure` built without pyplot's global state,
drawn in one house style that reads on both the light and the dark theme of the site: an
opaque white face, dark text, and the colour-blind-safe Okabe-Ito palette. matplotlib is
imported inside the functions, so ``import gradwatch`` needs NumPy alone.

Examples
--------
>>> import gradwatch as gw
>>> fig, ax = gw.plotting.figure()
>>> _ = ax.plot([0, 1], [0, 1])
>>> fig.get_facecolor()
(1.0, 1.0, 1.0, 1.0)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "COLORS",
    "activation_grid",
    "chi_1_map",
    "cliff_figure",
    "clip_geometry",
    "clip_sweep",
    "decision_boundary",
    "descent_paths",
    "diagnosis_grid",
    "figure",
    "gradcheck_scatter",
    "histogram_grid",  # initialisation, rnn
    "layer_histograms",
    "line_by_layer",
    "loss_curve",
    "norms_against_depth",
    "spectrum_histograms",
    "style",
    "training_curves",
    "update_ratio_lines",  # signal_propagation, diagnosing
]

#: Okabe & Ito's palette, distinguishable with every common colour-vision deficiency.
COLORS = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (for fills only: too light for lines on white)
)

_RC: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#111111",
    "text.color": "#111111",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10.5,
    "axes.titlesize": 11.5,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "svg.hashsalt": "gradwatch",  # identical SVG files from identical runs
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures and artists take the house style.

    Examples
    --------
    >>> import gradwatch as gw
    >>> with gw.plotting.style():
    ...     fig, ax = gw.plotting.figure()
    >>> ax.xaxis.get_gridlines()[0].get_color()
    '#dddddd'
    """
    import matplotlib as mpl
    from cycler import cycler

    settings: dict[str, Any] = {**_RC, "axes.prop_cycle": cycler(color=COLORS[:7])}
    with mpl.rc_context(settings):  # type: ignore[arg-type]
        yield


_FIGURE_CLASS: Any = None


def _figure_class() -> Any:
    """Return a Figure class that shows itself as a PNG in Jupyter, whatever the backend.

    Returning the figure at the end of a cell then displays it once, with no pyplot state and
    no ``%matplotlib inline``; the PNG is drawn in the house style at ``savefig.dpi``.
    """
    global _FIGURE_CLASS  # noqa: PLW0603  (built once, on first use, so matplotlib stays optional)
    if _FIGURE_CLASS is None:
        import io

        from matplotlib.figure import Figure

        class HouseFigure(Figure):
            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                with style():
                    self.savefig(buffer, format="png")
                return buffer.getvalue()

        _FIGURE_CLASS = HouseFigure
    return _FIGURE_CLASS


def figure(
    nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **subplots: Any
) -> tuple[Any, Any]:
    """Create a figure and its axes in the house style, outside pyplot's global state.

    Parameters
    ----------
    nrows, ncols : int, default 1
    width, height : float
        Size in inches of the whole figure.
    **subplots
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``sharex``, ``squeeze``, ...).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes or ndarray of Axes

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig, axes = gw.plotting.figure(1, 2)
    >>> axes.shape
    (2,)
    """
    with style():
        fig = _figure_class()(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, **subplots)
    return fig, axes


def _own_axes(ax: Any, *, width: float = 6.4, height: float = 4.0) -> tuple[Any, Any]:
    """Return ``(figure, axes)``: the given axes and their figure, or a new figure of that size."""
    if ax is None:
        return figure(width=width, height=height)
    return ax.figure, ax


def line_by_layer(
    series: Mapping[str, Sequence[float] | np.ndarray[Any, Any]],
    *,
    ylabel: str,
    xlabel: str = "layer",
    title: str | None = None,
    logy: bool = True,
    theory: Mapping[str, Sequence[float] | np.ndarray[Any, Any]] | None = None,
    ax: Any = None,
) -> Any:
    """Plot one line per setting against the layer index (or depth), optionally with theory.

    Parameters
    ----------
    series : mapping of label to sequence
        Measured values, one sequence per setting; drawn as markers joined by lines.
    ylabel, xlabel : str
    title : str, optional
    logy : bool, default True
        Logarithmic y axis, where exponential growth and decay are straight lines.
    theory : mapping of label to sequence, optional
        Predicted values for the same labels, drawn as dashed lines of the same colour.
    ax : Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.line_by_layer({"w=1": [1.0, 1.0, 1.0]}, ylabel="norm")
    >>> fig.axes[0].get_ylabel()
    'norm'
    """
    fig, ax = _own_axes(ax)
    with style():
        for i, (label, values) in enumerate(series.items()):
            color = COLORS[i % 7]
            measured = np.asarray(values, dtype=float)
            ax.plot(
                np.arange(1, measured.size + 1), measured, "o-", ms=3.5, color=color, label=label
            )
            if theory is not None and label in theory:
                predicted = np.asarray(theory[label], dtype=float)
                ax.plot(
                    np.arange(1, predicted.size + 1),
                    predicted,
                    "--",
                    color=color,
                    lw=1.3,
                    alpha=0.9,
                )
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend()
    return fig


# ---------------------------------------------------------------------------------------------
# Helpers of the individual pages, one block each (keep each block's names in __all__).
# ---------------------------------------------------------------------------------------------

# --- vanishing_math, exploding_math ---


def norms_against_depth(
    measured: Mapping[str, Sequence[float] | np.ndarray[Any, Any]],
    theory: Mapping[str, Sequence[float] | np.ndarray[Any, Any]] | None = None,
    *,
    ylabel: str = "gradient norm / norm at the output",
    xlabel: str = "layers crossed from the output",
    title: str | None = None,
    theory_label: str = "theory",
    threshold: float | None = None,
    threshold_label: str | None = None,
    ax: Any = None,
) -> Any:
    """Measured gradient sizes as points and their predictions as lines, against depth.

    Entry ``d`` of every sequence is drawn at ``x = d``, the number of layers the gradient has
    crossed from the output (as returned by :func:`gradwatch.theory.depth_profile` and the
    prediction functions of :mod:`gradwatch.theory`). The y axis is logarithmic, where a
    constant per-layer factor is a straight line.

    Parameters
    ----------
    measured : mapping of label to sequence
        Drawn as markers, one colour per label.
    theory : mapping of label to sequence, optional
        Drawn as lines in the colour of the same label in ``measured``.
    ylabel, xlabel, title : str
    theory_label : str, default "theory"
        What the lines are, for the legend ("theory", "upper bound", ...).
    threshold : float, optional
        A horizontal reference line at this height.
    threshold_label : str, optional
        The reference line's legend entry.
    ax : Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.norms_against_depth({"s=1": [1.0, 1.1, 0.9]}, {"s=1": [1.0, 1.0, 1.0]})
    >>> len(fig.axes[0].lines)
    3
    """
    fig, ax = _own_axes(ax)
    with style():
        for i, (label, values) in enumerate(measured.items()):
            color = COLORS[i % 7]
            points = np.asarray(values, dtype=float)
            ax.plot(np.arange(points.size), points, "o", ms=4, color=color, label=label)
            if theory is not None and label in theory:
                line = np.asarray(theory[label], dtype=float)
                ax.plot(np.arange(line.size), line, "-", color=color, lw=1.4, alpha=0.85)
        if theory:
            ax.plot([], [], "-", color="#555555", lw=1.4, label=theory_label)
        if threshold is not None:
            ax.axhline(threshold, color="#555555", ls=":", lw=1.2, label=threshold_label)
        ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(fontsize=9)
    return fig


# --- clipping ---


def clip_geometry(
    gradient: Sequence[float] | np.ndarray[Any, Any],
    max_norm: float,
    clip_value: float,
    *,
    ax: Any = None,
) -> Any:
    r"""Draw a 2-D gradient, its global-norm-clipped and its value-clipped versions.

    The circle of radius ``max_norm`` holds every vector that clipping by global norm can
    return; the square :math:`[-c, c]^2` every vector that clipping by value can return. The
    first keeps the gradient's direction, the second in general turns it.

    Parameters
    ----------
    gradient : sequence of 2 floats
        The gradient :math:`g`.
    max_norm : float
        The threshold :math:`\theta` of :func:`gradwatch.clip.clip_by_global_norm`.
    clip_value : float
        The bound :math:`c` of :func:`gradwatch.clip.clip_by_value`.
    ax : Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``gradient`` does not have two entries.

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.clip_geometry([3.0, 1.0], max_norm=1.5, clip_value=1.0)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][-3:]
    ['gradient g', 'clipped by global norm', 'clipped by value']
    """
    from matplotlib.patches import Circle, Rectangle

    from gradwatch import clip

    g = np.asarray(gradient, dtype=np.float64)
    if g.shape != (2,):
        raise ValueError(f"gradient must have 2 entries, got shape {g.shape}")
    (by_norm,), _ = clip.clip_by_global_norm([g], max_norm)
    (by_value,) = clip.clip_by_value([g], clip_value)
    fig, ax = _own_axes(ax, width=7.0, height=4.4)
    with style():
        ax.add_patch(
            Circle(
                (0, 0),
                max_norm,
                fill=False,
                color=COLORS[0],
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
                color=COLORS[1],
                ls=":",
                lw=1.5,
                label=f"[-c, c]², c = {clip_value:g}",
            )
        )
        vectors = [
            (g, COLORS[6], "gradient g"),
            (by_norm, COLORS[0], "clipped by global norm"),
            (by_value, COLORS[1], "clipped by value"),
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


def training_curves(
    histories: Mapping[str, Any], *, title: str | None = None, logy: bool = True
) -> Any:
    """Loss and gradient norm :math:`G` (before clipping) per step, one line per run.

    Parameters
    ----------
    histories : mapping of str to History
        Runs of :func:`gradwatch.train` by label. A run that diverged ends with a cross at its
        last finite value; the view then stops three decades above the largest value of the
        runs that did not diverge, and a cross beyond it is drawn at the top edge.
    title : str, optional
        Title over both panels.
    logy : bool, default True
        Logarithmic y axes.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: loss (left) and :math:`G` (right).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> run = gw.History(loss=np.array([4.0, 2.0, 1.0]), grad_norm=np.array([3.0, 2.0, 1.0]))
    >>> fig = gw.plotting.training_curves({"run": run})
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['loss', 'G before clipping']
    """
    fig, axes = figure(1, 2, width=9.0, height=3.6)
    # When a run diverges, its values reach ~1e300 and would flatten every other curve: the view
    # stops three decades above the largest value of the runs that did not diverge.
    stable = [h for h in histories.values() if not h.diverged]
    tops = [
        max(float(np.nanmax(h.loss)) for h in stable) * 1e3 if stable else None,
        max(float(np.nanmax(h.grad_norm)) for h in stable) * 1e3 if stable else None,
    ]
    with style():
        for i, (label, history) in enumerate(histories.items()):
            color = COLORS[i % 7]
            for ax, series, top in zip(axes, (history.loss, history.grad_norm), tops, strict=True):
                values = np.asarray(series, dtype=float)
                steps = np.arange(values.size)
                finite = np.isfinite(values)
                ax.plot(steps[finite], values[finite], color=color, lw=1.6, label=label)
                if history.diverged and finite.any():
                    last = int(np.flatnonzero(finite)[-1])
                    y = values[last] if top is None else min(values[last], top)
                    ax.plot(steps[last], y, "x", color=color, ms=9, mew=2.5, clip_on=False)
        for ax, ylabel, top in zip(axes, ("loss", "G before clipping"), tops, strict=True):
            if logy:
                ax.set_yscale("log")
            if top is not None and any(h.diverged for h in histories.values()):
                ax.set_ylim(top=top)
            ax.set_xlabel("step")
            ax.set_ylabel(ylabel)
        axes[0].legend(fontsize=9)
        if title:
            fig.suptitle(title)
    return fig


def clip_sweep(histories: Mapping[float, Any], *, lr: float) -> Any:
    r"""Plot the final loss, gradient norm and step length against the clipping threshold.

    Parameters
    ----------
    histories : mapping of float to History
        One run clipped by global norm per threshold :math:`\theta`, as returned by
        :func:`gradwatch.experiments.clip_threshold_sweep`.
    lr : float
        The SGD learning rate :math:`\eta`: a step has length :math:`\eta \min(G, \theta)`.

    Returns
    -------
    matplotlib.figure.Figure
        Left: final loss against :math:`\theta` (a diverged run as a cross at the top). Right:
        the median over the steps of :math:`G` before clipping and of the step length.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> runs = {t: gw.History(loss=np.array([2.0, 1.0]), grad_norm=np.array([5.0, 4.0]))
    ...         for t in (0.1, 1.0)}
    >>> fig = gw.plotting.clip_sweep(runs, lr=0.1)
    >>> fig.axes[0].get_xscale(), fig.axes[1].get_ylabel()
    ('log', 'median over the steps')
    """
    thresholds = np.asarray(list(histories), dtype=float)
    runs = list(histories.values())
    final = np.array([np.inf if h.diverged else float(h.loss[-1]) for h in runs])
    grad = np.array([float(np.median(h.grad_norm[np.isfinite(h.grad_norm)])) for h in runs])
    step = np.array(
        [
            float(np.median(lr * np.minimum(h.grad_norm[np.isfinite(h.grad_norm)], t)))
            for t, h in zip(thresholds, runs, strict=True)
        ]
    )
    fig, axes = figure(1, 2, width=9.0, height=3.6)
    with style():
        ax = axes[0]
        ok = np.isfinite(final)
        ax.plot(thresholds[ok], final[ok], "o-", color=COLORS[0], label="final loss")
        if (~ok).any():
            top = float(np.max(final[ok])) * 3.0 if ok.any() else 1.0
            ax.plot(
                thresholds[~ok],
                np.full(int((~ok).sum()), top),
                "x",
                color=COLORS[1],
                ms=9,
                mew=2.5,
                label="diverged",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("threshold θ")
        ax.set_ylabel("final loss")
        ax.legend(fontsize=9)
        ax = axes[1]
        ax.plot(thresholds, grad, "o-", color=COLORS[2], label="G before clipping")
        ax.plot(thresholds, step, "s--", color=COLORS[3], label="step length η·min(G, θ)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("threshold θ")
        ax.set_ylabel("median over the steps")
        ax.legend(fontsize=9)
    return fig


# --- backpropagation, project_xor ---


def gradcheck_scatter(report: Any, *, title: str | None = None) -> Any:
    """Backpropagated against finite-difference gradients, and the relative error of each entry.

    Parameters
    ----------
    report : GradCheckReport
        From :func:`gradwatch.gradcheck`.
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure
        Left: one point per parameter entry, backpropagated value against the finite-difference
        one, on the diagonal when they agree. Right: each entry's relative error (log scale) with
        the tolerance ``rtol`` as a dashed line.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], seed=0)
    >>> x, y = np.ones((2, 2)), np.zeros((2, 1))
    >>> fig = gw.plotting.gradcheck_scatter(gw.gradcheck(net, x, y))
    >>> len(fig.axes)
    2
    """
    fig, (left, right) = figure(1, 2, width=8.0, height=3.6)
    floor = report.atol / report.rtol
    start = 0
    lowest = report.rtol
    with style():
        for i, name in enumerate(report.analytic):
            analytic = np.ravel(report.analytic[name])
            numeric = np.ravel(report.numeric[name])
            color = COLORS[i % 7]
            left.plot(numeric, analytic, "o", ms=5, color=color, label=name, alpha=0.85)
            scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
            errors = np.abs(analytic - numeric) / scale
            shown = np.maximum(errors, 1e-17)  # an exact match would have no place on a log axis
            index = np.arange(start, start + shown.size)
            right.plot(index, shown, "o", ms=5, color=color)
            start += shown.size
            lowest = min(lowest, float(shown.min()))
        everything = np.concatenate([np.ravel(g) for g in report.numeric.values()])
        low, high = float(everything.min()), float(everything.max())
        pad = 0.05 * max(high - low, 1e-12)
        left.plot([low - pad, high + pad], [low - pad, high + pad], "--", color="#555555", lw=1.0)
        left.set_xlabel("finite-difference gradient")
        left.set_ylabel("backpropagated gradient")
        left.legend(fontsize=8.5)
        rtol_label = f"rtol = {report.rtol:g}"
        right.axhline(report.rtol, ls="--", color=COLORS[1], lw=1.2, label=rtol_label)
        right.set_yscale("log")
        right.set_ylim(min(lowest, report.rtol) / 10.0, max(report.max_rel_error, report.rtol) * 10)
        right.set_xlabel("parameter entry")
        right.set_ylabel("relative error")
        right.legend(fontsize=8.5, loc="upper left")
        if title:
            fig.suptitle(title)
    return fig


def loss_curve(
    histories: Mapping[str, Any],
    *,
    logy: bool = True,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Plot the loss per step of one or more training runs on shared axes.

    Parameters
    ----------
    histories : mapping of label to History or sequence of float
        A :class:`~gradwatch.History` (its ``loss`` is drawn) or the losses themselves.
    logy : bool, default True
        Logarithmic y axis.
    title : str, optional
    ax : Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.loss_curve({"run": [1.0, 0.5, 0.25]})
    >>> fig.axes[0].get_ylabel(), len(fig.axes[0].get_lines())
    ('loss', 1)
    """
    fig, ax = _own_axes(ax, height=3.6)
    with style():
        for i, (label, run) in enumerate(histories.items()):
            values = np.asarray(getattr(run, "loss", run), dtype=float)
            ax.plot(np.arange(1, values.size + 1), values, color=COLORS[i % 7], label=label)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        if title:
            ax.set_title(title)
        ax.legend()
    return fig


def decision_boundary(
    nets: Any,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    *,
    resolution: int = 101,
    margin: float = 0.5,
) -> Any:
    """Draw what a two-input network outputs over the plane, with its 0.5 level and the data.

    Parameters
    ----------
    nets : MLP or mapping of str to MLP
        One network (one panel) or several, one labelled panel each; two inputs, one output.
    x : ndarray, shape (n_samples, 2)
    y : ndarray, shape (n_samples,) or (n_samples, 1)
        Binary labels: class 1 is drawn as filled triangles, class 0 as open circles.
    resolution : int, default 101
        Grid points per axis.
    margin : float, default 0.5
        Space around the data.

    Returns
    -------
    matplotlib.figure.Figure
        The output as a shaded map between 0 and 1, the level 0.5 as a black line.

    Raises
    ------
    ValueError
        If ``x`` does not have two columns.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid")
    >>> x, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0.0, 1.0])
    >>> fig = gw.plotting.decision_boundary(net, x, y)
    >>> fig.axes[0].get_xlabel()
    '$x_1$'
    """
    points = np.asarray(x, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"x must have shape (n_samples, 2), got {points.shape}")
    labels = np.asarray(y).reshape(-1) > 0.5
    panels = dict(nets) if isinstance(nets, Mapping) else {"": nets}
    fig, axes = figure(1, len(panels), width=3.6 * len(panels) + 0.9, height=3.5, squeeze=False)
    u = np.linspace(points[:, 0].min() - margin, points[:, 0].max() + margin, resolution)
    v = np.linspace(points[:, 1].min() - margin, points[:, 1].max() + margin, resolution)
    grid_u, grid_v = np.meshgrid(u, v)
    grid = np.column_stack([grid_u.ravel(), grid_v.ravel()])
    image = None
    with style():
        for ax, (label, net) in zip(axes[0], panels.items(), strict=True):
            output = np.asarray(net.forward(grid), dtype=float).reshape(grid_u.shape)
            image = ax.contourf(grid_u, grid_v, output, levels=np.linspace(0, 1, 11), cmap="PuOr_r")
            ax.contour(grid_u, grid_v, output, levels=[0.5], colors="black", linewidths=1.5)
            ax.scatter(*points[~labels].T, s=70, facecolors="white", edgecolors="black", zorder=3)
            ax.scatter(*points[labels].T, s=80, marker="^", color="black", zorder=3)
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
            ax.set_aspect("equal")
            ax.grid(False)
            if label:
                ax.set_title(label)
        fig.colorbar(image, ax=list(axes[0]), label="network output", shrink=0.9)
    return fig


# --- background, concepts ---


def descent_paths(
    loss: Any,
    paths: Mapping[str, Sequence[Sequence[float]] | np.ndarray[Any, Any]],
    *,
    extent: tuple[float, float, float, float] | None = None,
    minimum: Sequence[float] | np.ndarray[Any, Any] | None = None,
    levels: int = 12,
    resolution: int = 200,
    width: float | None = None,
    height: float = 3.6,
) -> Any:
    r"""Paths of gradient descent over the contours of a 2-D loss, one panel per path.

    Parameters
    ----------
    loss : callable
        Vectorised loss: maps points of shape ``(..., 2)`` to values of shape ``(...)``, such as
        a :class:`gradwatch.landscape.Quadratic`.
    paths : mapping of label to ndarray, each of shape (n_points, 2)
        The points visited (from :func:`gradwatch.landscape.descent_path`); the label titles the
        panel.
    extent : tuple of float, optional
        ``(w1_min, w1_max, w2_min, w2_max)`` of every panel. By default a square around the
        points of the paths whose last loss does not exceed their first (the start points if
        every path diverges) and ``minimum``, 1.3 times as wide as they spread; a diverging path
        leaves the panel.
    minimum : sequence of float, length 2, optional
        Marked with a star.
    levels : int, default 12
        Number of contour lines, spaced geometrically when the loss is positive on the grid.
    resolution : int, default 200
        Grid points along each axis for the contours.
    width, height : float
        Figure size in inches; the width defaults to 3.6 per panel.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per path, each with two lines (the path, its start point) and a third (the
        star) if ``minimum`` is given.

    Raises
    ------
    ValueError
        If ``paths`` is empty or a path is not of shape ``(n_points, 2)``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> bowl = gw.landscape.quadratic([1.0, 5.0])
    >>> path = gw.landscape.descent_path(bowl.grad, [2.0, 1.0], lr=0.1, steps=20)
    >>> fig = gw.plotting.descent_paths(bowl, {"lr = 0.1": path}, minimum=[0.0, 0.0])
    >>> len(fig.axes), len(fig.axes[0].lines)
    (1, 3)
    """
    if not paths:
        raise ValueError("paths must hold at least one path")
    arrays = {label: np.asarray(points, dtype=float) for label, points in paths.items()}
    for label, points in arrays.items():
        if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < 1:
            raise ValueError(f"path {label!r} must have shape (n_points, 2), got {points.shape}")
    if extent is None:
        kept = [p for p in arrays.values() if float(loss(p[-1])) <= float(loss(p[0]))]
        box = np.concatenate(kept) if kept else np.stack([p[0] for p in arrays.values()])
        if minimum is not None:
            box = np.vstack([box, np.asarray(minimum, dtype=float)])
        centre = 0.5 * (box.min(axis=0) + box.max(axis=0))
        half = 0.65 * max(float(np.ptp(box, axis=0).max()), 1e-3)
        extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    w1 = np.linspace(extent[0], extent[1], resolution)
    w2 = np.linspace(extent[2], extent[3], resolution)
    grid_1, grid_2 = np.meshgrid(w1, w2)
    values = np.asarray(loss(np.stack([grid_1, grid_2], axis=-1)), dtype=float)
    top, bottom = float(values.max()), float(values.min())
    if bottom > 0 or (bottom == 0 and top > 0):
        contour_levels = np.geomspace(max(bottom, top * 1e-4), top, levels)
    else:
        contour_levels = np.linspace(bottom, top, levels)
    n = len(arrays)
    fig, axes = figure(
        1, n, width=3.6 * n if width is None else width, height=height, squeeze=False
    )
    with style():
        for i, (ax, (label, points)) in enumerate(zip(axes[0], arrays.items(), strict=True)):
            ax.contour(
                grid_1, grid_2, values, levels=contour_levels, colors="#9a9a9a", linewidths=0.8
            )
            color = COLORS[i % 7]
            ax.plot(points[:, 0], points[:, 1], "o-", ms=3, lw=1.4, color=color)
            ax.plot(points[0, 0], points[0, 1], "s", ms=7, color="#000000", label="start")
            if minimum is not None:
                ax.plot(minimum[0], minimum[1], "*", ms=12, color="#000000", label="minimum")
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_aspect("equal", adjustable="box")
            ax.grid(False)
            ax.set_title(label)
            ax.set_xlabel("$w_1$")
            if i == 0:
                ax.set_ylabel("$w_2$")
                ax.legend(loc="lower right", fontsize=8.5)
    return fig


def activation_grid(
    names: Sequence[str] | None = None,
    *,
    z_min: float = -4.0,
    z_max: float = 4.0,
    n_points: int = 401,
    ncols: int = 5,
    panel_size: float = 2.2,
) -> Any:
    r"""Each activation :math:`g(z)` and its derivative :math:`g'(z)` in a small panel.

    Parameters
    ----------
    names : sequence of str, optional
        Activations by name (see :func:`gradwatch.activations.names`, which is the default).
    z_min, z_max : float, default -4.0 and 4.0
        Range of :math:`z`.
    n_points : int, default 401
        Points on the range.
    ncols : int, default 5
        Panels per row.
    panel_size : float, default 2.2
        Width and height in inches of one panel.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per activation, each with three lines: :math:`g` solid, :math:`g'` dashed and
        a grey line at zero.

    Raises
    ------
    ValueError
        If ``names`` is empty, ``z_max <= z_min``, ``n_points < 2`` or ``ncols < 1``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.activation_grid(["sigmoid", "relu"])
    >>> [ax.get_title() for ax in fig.axes], len(fig.axes[0].lines)
    (['sigmoid', 'relu'], 3)
    """
    from gradwatch import activations

    chosen = list(activations.names() if names is None else names)
    if not chosen:
        raise ValueError("names must list at least one activation")
    if not z_max > z_min:
        raise ValueError(f"z_max must exceed z_min, got z_min={z_min!r}, z_max={z_max!r}")
    if n_points < 2 or ncols < 1:
        raise ValueError(f"need n_points >= 2 and ncols >= 1, got {n_points!r} and {ncols!r}")
    z = np.linspace(z_min, z_max, n_points)
    cols = min(ncols, len(chosen))
    rows = -(-len(chosen) // cols)
    fig, axes = figure(
        rows, cols, width=panel_size * cols, height=panel_size * rows, squeeze=False, sharex=True
    )
    with style():
        for ax, name in zip(axes.ravel(), chosen, strict=False):
            act = activations.get(name)
            ax.axhline(0.0, color="#bbbbbb", lw=0.8, zorder=0)
            ax.plot(z, act(z), "-", color=COLORS[0], label="$g(z)$")
            ax.plot(z, act.derivative(z), "--", color=COLORS[1], label="$g'(z)$")
            ax.set_title(name)
        for ax in axes.ravel()[len(chosen) :]:
            ax.remove()
        for ax in axes[-1]:
            ax.set_xlabel("$z$")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=2)
    return fig


# --- signal_propagation, diagnosing ---


def chi_1_map(
    sigma_w: Sequence[float] | np.ndarray[Any, Any],
    sigma_b: Sequence[float] | np.ndarray[Any, Any],
    chi: np.ndarray[Any, Any],
    *,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    r"""Draw the phase diagram: :math:`\log_{10}\chi_1` over :math:`(\sigma_w, \sigma_b)`.

    The black contour is the edge of chaos, :math:`\chi_1 = 1`.

    Parameters
    ----------
    sigma_w : sequence of float, shape (n_w,)
    sigma_b : sequence of float, shape (n_b,)
    chi : ndarray, shape (n_b, n_w)
        As returned by :func:`gradwatch.theory.chi_1_grid`.
    title : str, optional
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> w, b = np.array([0.5, 1.0, 2.0]), np.array([0.0, 0.5])
    >>> fig = gw.plotting.chi_1_map(w, b, np.array([[0.3, 1.0, 2.0], [0.2, 0.8, 1.5]]))
    >>> fig.axes[0].get_xlabel()
    '$\\sigma_w$'
    """
    ws = np.asarray(sigma_w, dtype=float)
    bs = np.asarray(sigma_b, dtype=float)
    values = np.asarray(chi, dtype=float)
    if values.shape != (bs.size, ws.size):
        raise ValueError(f"chi must have shape (len(sigma_b), len(sigma_w)) = {(bs.size, ws.size)}")
    fig, ax = _own_axes(ax, width=6.4, height=4.2)
    with style():
        log_chi = np.log10(values)
        limit = float(np.max(np.abs(log_chi)))
        mesh = ax.pcolormesh(
            ws, bs, log_chi, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="nearest"
        )
        ax.contour(ws, bs, values, levels=[1.0], colors="#111111", linewidths=2.0)
        ax.grid(False)
        colorbar = fig.colorbar(mesh, ax=ax)
        colorbar.set_label(r"$\log_{10}\chi_1$")
        ax.text(0.04, 0.9, "ordered\n$\\chi_1 < 1$", transform=ax.transAxes, va="top")
        ax.text(0.96, 0.1, "chaotic\n$\\chi_1 > 1$", transform=ax.transAxes, ha="right")
        ax.set_xlabel(r"$\sigma_w$")
        ax.set_ylabel(r"$\sigma_b$")
        if title:
            ax.set_title(title)
    return fig


def spectrum_histograms(
    spectra: Mapping[str, np.ndarray[Any, Any]],
    *,
    bins: int = 40,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Draw histograms of singular values on a logarithmic axis, one per label.

    Parameters
    ----------
    spectra : mapping of label to ndarray
        Positive singular values, e.g. from :func:`gradwatch.theory.jacobian_spectra`.
    bins : int, default 40
    title : str, optional
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> fig = gw.plotting.spectrum_histograms({"a": np.array([0.5, 1.0, 2.0])})
    >>> fig.axes[0].get_xscale()
    'log'
    """
    fig, ax = _own_axes(ax)
    positive = {k: np.asarray(v, dtype=float) for k, v in spectra.items()}
    smallest = min(float(v[v > 0].min()) for v in positive.values())
    largest = max(float(v.max()) for v in positive.values())
    edges = np.geomspace(smallest / 1.5, largest * 1.5, bins + 1)
    with style():
        for i, (label, values) in enumerate(positive.items()):
            ax.hist(values[values > 0], bins=edges, color=COLORS[i % 7], alpha=0.55, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("singular value of the input-output Jacobian")
        ax.set_ylabel("count")
        if title:
            ax.set_title(title)
        ax.legend()
    return fig


def layer_histograms(
    values: Sequence[np.ndarray[Any, Any]],
    *,
    xlabel: str,
    bins: int = 50,
    value_range: tuple[float, float] | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Draw one outline histogram per layer, from the first layer (light) to the last (dark).

    In the manner of Glorot and Bengio (2010), for activations or backpropagated gradients.

    Parameters
    ----------
    values : sequence of ndarray
        One array per layer, first layer first; flattened.
    xlabel : str
    bins : int, default 50
    value_range : (float, float), optional
        Range of the bins; by default that of all values.
    title : str, optional
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> fig = gw.plotting.layer_histograms([np.zeros(3), np.ones(3)], xlabel="a")
    >>> len(fig.axes[0].patches)
    2
    """
    import matplotlib as mpl

    if not values:
        raise ValueError("values must hold at least one layer")
    fig, ax = _own_axes(ax)
    flat = [np.ravel(np.asarray(v, dtype=float)) for v in values]
    if value_range is None:
        low = min(float(v.min()) for v in flat)
        high = max(float(v.max()) for v in flat)
        value_range = (low, high if high > low else low + 1.0)
    cmap = mpl.colormaps["viridis_r"]
    with style():
        edges = np.linspace(value_range[0], value_range[1], bins + 1)
        for i, v in enumerate(flat):
            shade = cmap(0.15 + 0.85 * i / max(len(flat) - 1, 1))
            counts, _ = np.histogram(v, bins=edges)
            ax.stairs(counts, edges, color=shade, lw=1.5, label=f"layer {i + 1}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8, ncols=2)
    return fig


def update_ratio_lines(
    ratios: np.ndarray[Any, Any],
    *,
    guide: float = 1e-3,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Plot the update:data ratio of each layer against the training step, with the guide line.

    Parameters
    ----------
    ratios : ndarray, shape (steps, n_layers)
        ``History.update_ratios`` from :func:`gradwatch.train`.
    guide : float, default 1e-3
        Drawn as a dashed horizontal line.
    title : str, optional
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> fig = gw.plotting.update_ratio_lines(np.full((5, 2), 1e-3))
    >>> fig.axes[0].get_yscale()
    'log'
    """
    import matplotlib as mpl

    array = np.asarray(ratios, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"ratios must be 2-D (steps, n_layers), got shape {array.shape}")
    fig, ax = _own_axes(ax)
    cmap = mpl.colormaps["viridis_r"]
    n_layers = array.shape[1]
    with style():
        steps = np.arange(1, array.shape[0] + 1)
        for i in range(n_layers):
            shade = cmap(0.15 + 0.85 * i / max(n_layers - 1, 1))
            ax.plot(steps, array[:, i], "-", color=shade, lw=1.5, label=f"layer {i + 1}")
        ax.axhline(guide, color="#111111", ls="--", lw=1.2, label=f"guide {guide:g}")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("update:data ratio")
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8, ncols=2)
    return fig


def diagnosis_grid(diagnoses: Mapping[str, Any], *, guide: float = 1e-3) -> Any:
    """Draw activations, gradients and update:data ratios side by side, one column per network.

    Parameters
    ----------
    diagnoses : mapping of label to Diagnosis
        From :func:`gradwatch.diagnostics.compare_initialisations`.
    guide : float, default 1e-3
        The update:data guide line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import gradwatch as gw
    >>> runs = gw.diagnostics.compare_initialisations(
    ...     [4, 8, 8, 1], "tanh", {"a": "xavier_normal", "b": "he_normal"}, n_samples=32,
    ...     steps=3, batch_size=16, lr=0.01)
    >>> gw.plotting.diagnosis_grid(runs).axes[0].get_title()
    'a: activations'
    """
    labels = list(diagnoses)
    fig, axes = figure(3, len(labels), width=4.6 * len(labels), height=10.0, squeeze=False)
    for j, label in enumerate(labels):
        result = diagnoses[label]
        hidden = result.activations[:-1]
        layer_histograms(
            hidden, xlabel="activation $a$", title=f"{label}: activations", ax=axes[0, j]
        )
        grads = result.gradients[:-1]
        largest = max(float(np.max(np.abs(g))) for g in grads)
        layer_histograms(
            grads,
            xlabel=r"backpropagated gradient $\partial L/\partial z$",
            value_range=(-largest, largest),
            title=f"{label}: gradients",
            ax=axes[1, j],
        )
        axes[1, j].set_yscale("log")
        axes[1, j].ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
        update_ratio_lines(
            result.history.update_ratios,
            guide=guide,
            title=f"{label}: update:data",
            ax=axes[2, j],
        )
        # Every panel colours its layers alike: one legend of layers is enough, and the
        # update:data panels only name the guide line.
        for i, ax in enumerate(axes[:, j]):
            if (i, j) != (0, 0):
                ax.get_legend().remove()
        with style():
            guide_line = axes[2, j].get_lines()[-1]
            axes[2, j].legend([guide_line], [f"guide {guide:g}"], loc="lower right")
    return fig


# --- initialisation, rnn ---


def histogram_grid(
    values: Mapping[str, Mapping[str, Sequence[np.ndarray[Any, Any]]]],
    layers: Sequence[int],
    *,
    xlabel: str,
    symmetric: bool = False,
    bins: int = 60,
    panel_size: tuple[float, float] = (3.1, 2.5),
) -> Any:
    """Per-layer histograms in a grid: one row per outer key, one column per inner key.

    Each panel draws the chosen layers as outline histograms, shaded from the first layer
    (light) to the last (dark), in the manner of Glorot and Bengio (2010), on a logarithmic count
    axis so that a spike at zero and the tails both show.

    Parameters
    ----------
    values : mapping of str to mapping of str to sequence of ndarray
        ``values[row][column][l]`` holds layer ``l + 1``'s values (any shape; flattened).
    layers : sequence of int
        The layers to draw, numbered from 1.
    xlabel : str
    symmetric : bool, default False
        Bins symmetric about zero (for gradients).
    bins : int, default 60
    panel_size : (float, float)
        Width and height in inches of one panel.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``values`` or ``layers`` is empty or a layer is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> data = {"tanh": {"a": [np.zeros(4), np.ones(4)], "b": [np.ones(4), np.ones(4)]}}
    >>> fig = gw.plotting.histogram_grid(data, [1, 2], xlabel="a")
    >>> len(fig.axes), fig.axes[1].get_title()
    (2, 'tanh, b')
    """
    import matplotlib as mpl

    rows = list(values)
    if not rows or not layers:
        raise ValueError("values and layers must not be empty")
    columns = list(values[rows[0]])
    fig, axes = figure(
        len(rows),
        len(columns),
        width=panel_size[0] * len(columns),
        height=panel_size[1] * len(rows) + 0.4,
        squeeze=False,
    )
    cmap = mpl.colormaps["viridis_r"]
    with style():
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                ax = axes[i, j]
                per_layer = values[row][column]
                if min(layers) < 1 or max(layers) > len(per_layer):
                    raise ValueError(f"layers must lie in 1..{len(per_layer)}, got {list(layers)}")
                flat = [np.ravel(np.asarray(per_layer[k - 1], dtype=float)) for k in layers]
                high = max(float(np.max(np.abs(v))) for v in flat) or 1.0
                low = -high if symmetric else min(float(v.min()) for v in flat)
                for k, (layer, v) in enumerate(zip(layers, flat, strict=True)):
                    shade = cmap(0.15 + 0.85 * k / max(len(flat) - 1, 1))
                    counts, edges = np.histogram(v, bins=bins, range=(low, high))
                    ax.stairs(counts, edges, color=shade, lw=1.4, label=f"layer {layer}")
                ax.set_yscale("log")
                ax.minorticks_off()  # minor log ticks cost most of the drawing time here
                ax.set_title(f"{row}, {column}")
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
                if i == len(rows) - 1:
                    ax.set_xlabel(xlabel)
                if j == 0:
                    ax.set_ylabel("count")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncols=len(layers), fontsize=9)
    return fig


def cliff_figure(
    loss: Any,
    paths: Mapping[str, np.ndarray[Any, Any]],
    grad_norms: Mapping[str, np.ndarray[Any, Any]],
    *,
    extent: Sequence[float],
    resolution: int = 240,
    labels: tuple[str, str] = ("$w$", "$b$"),
) -> Any:
    """Draw a 2-D loss surface with descent paths over it, and each path's gradient norm per step.

    Parameters
    ----------
    loss : callable
        Maps points of shape ``(..., 2)`` to losses of shape ``(...)``.
    paths : mapping of str to ndarray, shape (n_points, 2)
    grad_norms : mapping of str to ndarray, shape (n_points,)
        :math:`G` at each point of the path of the same label.
    extent : (x_min, x_max, y_min, y_max)
    resolution : int, default 240
    labels : (str, str)
        Axis labels of the two parameters.

    Returns
    -------
    matplotlib.figure.Figure
        Left: the loss as colours with the paths; right: :math:`G` per step, logarithmic.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> bowl = lambda p: (np.asarray(p) ** 2).sum(axis=-1)
    >>> path = np.array([[1.0, 1.0], [0.5, 0.5]])
    >>> fig = gw.plotting.cliff_figure(bowl, {"gd": path}, {"gd": np.array([2.8, 1.4])},
    ...                                extent=(-1, 1, -1, 1))
    >>> fig.axes[1].get_yscale()
    'log'
    """
    x0, x1, y0, y1 = (float(v) for v in extent)
    grid_x, grid_y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    surface = np.asarray(loss(np.stack([grid_x, grid_y], axis=-1)), dtype=float)
    fig, (left, right) = figure(1, 2, width=10.0, height=4.2, width_ratios=[1.15, 1.0])
    with style():
        mesh = left.pcolormesh(grid_x, grid_y, surface, cmap="Greys", shading="auto")
        fig.colorbar(mesh, ax=left, label="loss")
        left.grid(False)
        for i, (label, points) in enumerate(paths.items()):
            color = COLORS[(i + 1) % 7]
            p = np.asarray(points, dtype=float)
            left.plot(p[:, 0], p[:, 1], "o-", ms=2.5, lw=1.2, color=color, label=label)
            left.plot(p[-1, 0], p[-1, 1], "X", ms=9, color=color, mec="white")
            steps = np.arange(p.shape[0])
            right.plot(
                steps, np.asarray(grad_norms[label], dtype=float), color=color, lw=1.4, label=label
            )
        left.plot(
            *np.asarray(next(iter(paths.values())))[0], "s", ms=7, color="#000000", label="start"
        )
        left.set_xlim(x0, x1)
        left.set_ylim(y0, y1)
        left.set_xlabel(labels[0])
        left.set_ylabel(labels[1])
        left.legend(loc="lower left", fontsize=8.5, facecolor="white", frameon=True)
        right.set_yscale("log")
        right.set_xlabel("step")
        right.set_ylabel("G before clipping")
        right.legend(fontsize=9)
    return fig
