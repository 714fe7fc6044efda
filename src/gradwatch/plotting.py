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

__all__ = ["COLORS", "figure", "line_by_layer", "style"]

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

    with mpl.rc_context({**_RC, "axes.prop_cycle": cycler(color=COLORS[:7])}):
        yield


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
    # Importing pyplot registers matplotlib's display hooks in a Jupyter kernel, so a returned
    # Figure shows as an image; the figure itself is never handed to pyplot.
    import matplotlib.pyplot  # noqa: F401
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, **subplots)
    return fig, axes


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
    if ax is None:
        fig, ax = figure()
    else:
        fig = ax.figure
    with style():
        for i, (label, values) in enumerate(series.items()):
            color = COLORS[i % 7]
            values = np.asarray(values, dtype=float)
            ax.plot(np.arange(1, values.size + 1), values, "o-", ms=3.5, color=color, label=label)
            if theory is not None and label in theory:
                predicted = np.asarray(theory[label], dtype=float)
                ax.plot(
                    np.arange(1, predicted.size + 1), predicted, "--", color=color, lw=1.3, alpha=0.9
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
