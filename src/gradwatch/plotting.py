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
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "COLORS",
    "figure",
    "layer_histograms",
    "layer_shades",
    "line_by_layer",
    "lines_with_range",
    "norms_against_depth",
    "readable",
    "smallest_text_px",
    "style",
    "training_curves",
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


def _check_series(series: object, name: str) -> None:
    """Raise unless ``series`` is a non-empty mapping of labels to what is drawn for them."""
    if not isinstance(series, Mapping):
        raise TypeError(
            f"{name} must be a mapping of labels to values, got {type(series).__name__}"
        )
    if not series:
        raise ValueError(f"{name} is empty: there is nothing to draw")


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
        The figure of ``ax``, or the new figure.

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.line_by_layer({"w=1": [1.0, 1.0, 1.0]}, ylabel="norm")
    >>> fig.axes[0].get_ylabel()
    'norm'
    """
    _check_series(series, "series")
    fig, ax = _own_axes(ax)
    with style():
        _measured_and_theory(
            ax, series, theory, start=1, fmt="o-", ms=3.5, theory_fmt="--", lw=1.3, alpha=0.9
        )
        if logy:
            ax.set_yscale("log")
        _name_axes(ax, xlabel, ylabel, title)
        ax.legend()
    return fig


def _measured_and_theory(
    ax: Any,
    measured: Mapping[str, Sequence[float] | np.ndarray[Any, Any]],
    theory: Mapping[str, Sequence[float] | np.ndarray[Any, Any]] | None,
    *,
    start: int,
    fmt: str,
    ms: float,
    theory_fmt: str,
    lw: float,
    alpha: float,
) -> None:
    """Plot each measured series, entry ``d`` at ``x = start + d``, and its theory in its colour.

    The measured values are drawn in the format ``fmt`` with markers of size ``ms``; the
    predicted ones in ``theory_fmt``, ``lw`` wide, with opacity ``alpha``.
    """
    for i, (label, values) in enumerate(measured.items()):
        color = COLORS[i % 7]
        y = np.asarray(values, dtype=float)
        ax.plot(np.arange(start, start + y.size), y, fmt, ms=ms, color=color, label=label)
        if theory is not None and label in theory:
            y = np.asarray(theory[label], dtype=float)
            x = np.arange(start, start + y.size)
            ax.plot(x, y, theory_fmt, color=color, lw=lw, alpha=alpha)


def _name_axes(ax: Any, xlabel: str, ylabel: str, title: str | None) -> None:
    """Label both axes, and title them unless ``title`` is empty."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


# ---------------------------------------------------------------------------------------------
# Plots shared by several pages (a page's own figures live in its experiment module).
# ---------------------------------------------------------------------------------------------

# --- per-layer histograms (Glorot and Bengio, 2010): diagnosing, initialisation ---


def layer_shades(n_layers: int) -> list[Any]:
    """One colour per layer, from the first (light) to the last (dark), along viridis.

    Parameters
    ----------
    n_layers : int

    Returns
    -------
    list of RGBA tuples

    Examples
    --------
    >>> import gradwatch as gw
    >>> shades = gw.plotting.layer_shades(3)
    >>> len(shades), shades[0] != shades[-1]
    (3, True)
    """
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis_r"]
    return [cmap(0.15 + 0.85 * i / max(n_layers - 1, 1)) for i in range(n_layers)]


def layer_histograms(
    ax: Any,
    values: Sequence[np.ndarray[Any, Any]],
    labels: Sequence[str],
    *,
    value_range: tuple[float, float],
    bins: int,
    lw: float = 1.5,
) -> None:
    """Draw one outline histogram per layer into ``ax``, shaded by :func:`layer_shades`.

    Parameters
    ----------
    ax : Axes
    values : sequence of ndarray
        One array per layer (any shape; flattened), first layer first.
    labels : sequence of str
        The legend entry of each layer.
    value_range : (float, float)
        The lowest and the highest bin edge.
    bins : int
        Bins of equal width between them.
    lw : float, default 1.5
        Width of the outlines.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> fig, ax = gw.plotting.figure()
    >>> values = [np.zeros(4), np.ones(4)]
    >>> gw.plotting.layer_histograms(ax, values, ["layer 1", "layer 2"], value_range=(0, 1), bins=2)
    >>> [patch.get_label() for patch in ax.patches]
    ['layer 1', 'layer 2']
    """
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    shades = layer_shades(len(values))
    for v, shade, label in zip(values, shades, labels, strict=True):
        counts, _ = np.histogram(np.ravel(v), bins=edges)
        ax.stairs(counts, edges, color=shade, lw=lw, label=label)


# --- a line over runs with their range shaded, per layer or per step: optimisers, precision ---


def lines_with_range(
    ax: Any,
    series: Mapping[str, np.ndarray[Any, Any]],
    *,
    centre: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]] | None = None,
    colors: Sequence[str] | None = None,
    fmts: str | Sequence[str] = "o-",
    **line: Any,
) -> None:
    """Draw each series' mean over its runs as a line, with the runs' range shaded around it.

    Parameters
    ----------
    ax : Axes
    series : mapping of label to ndarray, shape (n_runs, n_points)
        One row per run (a seed, say); point ``j`` is drawn at ``x = j + 1``, the layer or
        the step it belongs to.
    centre : callable, optional
        ``centre(values)`` gives the line, shape (n_points,), from the rows; by default their
        mean (a geometric mean suits ratios on a logarithmic axis).
    colors : sequence of str, optional
        One colour per series; by default :data:`COLORS` in order.
    fmts : str or sequence of str, default "o-"
        The matplotlib format of every line (markers joined by lines by default), or one
        format per series.
    **line
        Passed to ``ax.plot`` for every line (``ms``, ``lw``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> fig, ax = gw.plotting.figure()
    >>> gw.plotting.lines_with_range(ax, {"SGD": np.array([[1.0, 2.0], [3.0, 4.0]])})
    >>> ax.lines[0].get_ydata().tolist(), ax.get_legend_handles_labels()[1]
    ([2.0, 3.0], ['SGD'])
    """
    _check_series(series, "series")
    for i, (label, runs) in enumerate(series.items()):
        values = np.asarray(runs, dtype=float)
        x = np.arange(1, values.shape[1] + 1)
        color = COLORS[i % 7] if colors is None else colors[i]
        mid = values.mean(axis=0) if centre is None else centre(values)
        ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2)
        fmt = fmts if isinstance(fmts, str) else fmts[i]
        ax.plot(x, mid, fmt, color=color, label=label, **line)


# --- gradient norm against depth: vanishing_math, exploding_math, concepts, rnn ---


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
    crossed from the output (as returned by :func:`gradwatch.diagnostics.depth_profile` and the
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
        As for :func:`line_by_layer`, and so is the figure returned.

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig = gw.plotting.norms_against_depth({"s=1": [1.0, 1.1, 0.9]}, {"s=1": [1.0, 1.0, 1.0]})
    >>> len(fig.axes[0].lines)
    3
    """
    _check_series(measured, "measured")
    fig, ax = _own_axes(ax)
    with style():
        _measured_and_theory(
            ax, measured, theory, start=0, fmt="o", ms=4, theory_fmt="-", lw=1.4, alpha=0.85
        )
        if theory:
            ax.plot([], [], "-", color="#555555", lw=1.4, label=theory_label)
        if threshold is not None:
            ax.axhline(threshold, color="#555555", ls=":", lw=1.2, label=threshold_label)
        ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        _name_axes(ax, xlabel, ylabel, title)
        ax.legend(fontsize=9)
    return fig


# --- loss and gradient norm per step: clipping, rnn, initialisation ---


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
    _check_series(histories, "histories")
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


# ---------------------------------------------------------------------------------------------
# Readable at the page width.
# ---------------------------------------------------------------------------------------------

#: Width in CSS pixels of the site's text column, to which a wider figure is scaled down.
PAGE_WIDTH_PX = 700.0
#: The smallest text a figure may show on the page, in CSS pixels.
MIN_TEXT_PX = 9.0


def _shown(texts: Any) -> list[Any]:
    return [t for t in texts if t.get_visible() and t.get_text()]


def _texts(fig: Any) -> list[Any]:
    """Return every text ``fig`` shows, found by drawing it (without rendering)."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    return _shown(fig.findobj(Text))


def _texts_before_drawing(fig: Any) -> list[Any]:
    """Return the texts ``fig`` will show, tick labels included, without laying it out.

    A figure makes its tick labels when it is drawn; asking each axis for them makes them
    (for the axis's current limits) without the layout pass that a draw costs. A tick made
    later copies the size of the first, so enlarging these enlarges every tick label.
    """
    from matplotlib.text import Text

    for ax in fig.axes:
        for name in ("xaxis", "yaxis", "zaxis"):
            axis = getattr(ax, name, None)
            if axis is not None:
                axis.get_ticklabels(which="both")
    return _shown(fig.findobj(Text))


def smallest_text_px(fig: Any, page_width_px: float = PAGE_WIDTH_PX) -> float:
    r"""Return the height in screen pixels of the smallest text of ``fig`` shown on a page.

    The figure is shown ``page_width_px`` wide; a label of :math:`s` points on a figure
    :math:`w` inches wide is then :math:`s/72 \cdot \text{page\_width\_px}/w` pixels high.
    The pages keep it at ``MIN_TEXT_PX`` or more.

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig, ax = gw.plotting.figure(width=7.0, height=3.0)
    >>> _ = ax.set_xlabel("step", fontsize=9)
    >>> round(gw.plotting.smallest_text_px(fig), 1)
    12.5
    """
    sizes = [t.get_fontsize() for t in _texts(fig)]
    return float(min(sizes)) / 72.0 * page_width_px / float(fig.get_figwidth())


def readable(fig: Any, min_px: float = MIN_TEXT_PX, page_width_px: float = PAGE_WIDTH_PX) -> Any:
    """Enlarge every text of ``fig`` that would show below ``min_px`` pixels; return ``fig``.

    For wide multi-panel figures, whose tick labels and legends would otherwise be scaled below
    what a reader can read at the page width. The layout engine makes room for the larger text.

    Examples
    --------
    >>> import gradwatch as gw
    >>> fig, ax = gw.plotting.figure(width=10.0, height=3.0)
    >>> _ = ax.set_xlabel("step", fontsize=7)
    >>> gw.plotting.smallest_text_px(gw.plotting.readable(fig)) >= 9
    True
    """
    points = min_px * 72.0 * float(fig.get_figwidth()) / page_width_px
    for text in _texts_before_drawing(fig):
        if text.get_fontsize() < points:
            text.set_fontsize(points)
    return fig
