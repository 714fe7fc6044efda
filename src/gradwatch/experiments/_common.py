r"""Pieces shared by several experiments.

- The gradient against depth, over weight scales: the pages on vanishing
  (``docs/vanishing_math.md``) and exploding gradients (``docs/exploding_math.md``) measure the
  same thing in different networks: for every weight scale :math:`s` of their settings, the
  size of the backpropagated gradient after each number of layers, next to a prediction
  (:func:`depth_profiles`, drawn by :func:`figure_depth_profiles`), from settings checked by
  :func:`check_sweep`; :func:`normal_batches` draws a network's inputs and output gradient.
- The regression task of the page "Diagnosing a network" (:func:`sine_task`), which other pages
  train on too.
- The batch the recurrent pages (``docs/rnn.md``, ``docs/gates.md``) backpropagate through time
  at initialisation (:func:`sequence_probe`).
- Numbers as the pages print them, and summaries over seeds (:func:`range_text`,
  :func:`number_text`, :func:`seed_summary`, :func:`spread`, :func:`geometric_mean`, ...).

This module is private: the experiments import from it, and the pages show its code where a
reader should read it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from gradwatch import diagnostics, plotting
from gradwatch._validation import Array
from gradwatch.experiments import Progress, distinct, no_progress, non_negative, positive, require
from gradwatch.training import History

# ---------------------------------------------------------------------------------------------
# The gradient against depth, over weight scales.
# ---------------------------------------------------------------------------------------------

#: Gradients are kept within [1e-100, 1e100] of their output value, far from under- and overflow.
LOG_RANGE = 100 * math.log(10.0)


class ScaleSweep(Protocol):
    """Settings of a sweep over weight scales: what :func:`depth_profiles` reads."""

    @property
    def depth(self) -> int:
        """Layers of every network."""

    @property
    def width(self) -> int:
        """Width of every layer."""

    @property
    def scales(self) -> list[float]:
        r"""Weight scales :math:`s`: weights drawn from :math:`\mathcal N(0, s^2/\text{width})`."""

    @property
    def seeds(self) -> list[int]:
        """One network, input batch and output gradient per seed."""

    @property
    def n_samples(self) -> int:
        """Inputs per batch."""


def check_sweep(settings: ScaleSweep, scale_ok: Callable[[float], bool], expected: str) -> None:
    """Check the settings of a sweep over weight scales (from a ``Settings.__post_init__``).

    ``depth``, ``width``, ``n_samples`` and the scales must be positive, the scales distinct
    (they key the results), the seeds at least 0, and then ``scale_ok(s)`` true for every scale.

    Parameters
    ----------
    settings : ScaleSweep
    scale_ok : callable
        ``scale_ok(s)``: whether the gradients of ``depth`` layers at scale ``s`` stay far from
        under- and overflow (within :data:`LOG_RANGE`, say).
    expected : str
        What ``scale_ok`` asks, in words; the error adds the depth.

    Raises
    ------
    gradwatch.experiments.SettingError
        Naming the first setting out of range.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from gradwatch.experiments._common import check_sweep
    >>> settings = SimpleNamespace(depth=3, width=8, scales=[1.0, 3.0], seeds=[0], n_samples=4)
    >>> check_sweep(settings, lambda s: s < 2, "s < 2")
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'scales[1]' = 3.0: expected s < 2 (depth = 3)
    """
    positive("depth", settings.depth)
    positive("width", settings.width)
    positive("scales", settings.scales)
    distinct("scales", settings.scales)
    non_negative("seeds", settings.seeds)
    positive("n_samples", settings.n_samples)
    for i, s in enumerate(settings.scales):
        require(scale_ok(s), f"scales[{i}]", s, f"{expected} (depth = {settings.depth})")


def normal_batches(seed: int, n_samples: int, width: int) -> tuple[Array, Array]:
    """Two standard normal batches of shape ``(n_samples, width)``, drawn in turn from ``seed``.

    The experiments feed the first to a network as its input and take the second as the
    gradient arriving at its output, or as its targets.

    Examples
    --------
    >>> from gradwatch.experiments._common import normal_batches
    >>> x, dy = normal_batches(0, 2, 3)
    >>> x.shape, dy.shape, bool((x != dy).all())
    ((2, 3), (2, 3), True)
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_samples, width)), rng.standard_normal((n_samples, width))


@dataclass(frozen=True)
class DepthProfiles:
    r"""Gradient sizes against depth for several weight scales, each keyed by its scale.

    Attributes
    ----------
    measured : dict of float to ndarray, shape (depth + 1,)
        Entry ``d``: the RMS ratio of the gradient's size after ``d`` layers to its size at the
        output, measured (:func:`gradwatch.diagnostics.measured_gradient_norms`).
    predicted : dict of float to ndarray, shape (depth + 1,)
        The same ratio predicted by theory.
    factors : dict of float to float
        The per-layer factor fitted to the measured ratios
        (:func:`gradwatch.diagnostics.fit_per_layer_factor`).

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments._common import DepthProfiles
    >>> profiles = DepthProfiles({2.0: np.ones(3)}, {2.0: np.ones(3)}, {2.0: 1.5})
    >>> profiles.factors, profiles.squared_factors
    ({2.0: 1.5}, {2.0: 2.25})
    """

    measured: dict[float, Array]
    predicted: dict[float, Array]
    factors: dict[float, float]

    @property
    def squared_factors(self) -> dict[float, float]:
        r"""The per-layer factors of the squared norm, :math:`\chi`: each factor squared."""
        return {s: factor**2 for s, factor in self.factors.items()}


def depth_profiles(
    settings: ScaleSweep,
    activation: str,
    predict: Callable[[int, float], Array],
    progress: Progress = no_progress,
    *,
    label: str = "weight scales",
) -> DepthProfiles:
    r"""Gradient size against depth in square networks, measured and predicted, for every scale.

    For every scale :math:`s`, builds one network of ``depth`` layers of ``activation`` per
    seed (weights :math:`\mathcal N(0, s^2/\text{width})`, zero biases), backpropagates a
    standard normal output gradient, averages the squared ratios over the seeds and fits the
    per-layer factor; the prediction is ``predict(depth, s)``.

    Parameters
    ----------
    settings : Settings
        Uses ``depth``, ``width``, ``scales``, ``seeds`` and ``n_samples``.
    activation : str
        Activation of every layer, the output layer included.
    predict : callable
        ``predict(depth, s)``: the predicted ratios, shape ``(depth + 1,)``, such as
        :func:`gradwatch.theory.linear_gradient_norms`.
    progress : callable, optional
        Called as ``progress(label, done, len(scales))`` after each scale.
    label : str, default "weight scales"

    Returns
    -------
    DepthProfiles

    Examples
    --------
    >>> from gradwatch import theory
    >>> from gradwatch.experiments import vanishing_math
    >>> from gradwatch.experiments._common import depth_profiles
    >>> settings = vanishing_math.Settings(depth=10, width=64, scales=[0.5], seeds=[0, 1])
    >>> profiles = depth_profiles(settings, "identity", theory.linear_gradient_norms)
    >>> round(profiles.factors[0.5], 1), profiles.measured[0.5].shape
    (0.5, (11,))
    """
    measured, predicted, factors = {}, {}, {}
    for i, s in enumerate(settings.scales):
        measured[s] = diagnostics.measured_gradient_norms(
            settings.depth,
            settings.width,
            s,
            activation,
            seeds=settings.seeds,
            n_samples=settings.n_samples,
        )
        predicted[s] = predict(settings.depth, s)
        factors[s] = diagnostics.fit_per_layer_factor(measured[s])
        progress(label, i + 1, len(settings.scales))
    return DepthProfiles(measured, predicted, factors)


def figure_depth_profiles(profiles: DepthProfiles, *, title: str) -> Any:
    """Gradient size against depth, one colour per scale: measured points, predicted lines.

    Parameters
    ----------
    profiles : DepthProfiles
        From :func:`depth_profiles`.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Drawn by :func:`gradwatch.plotting.norms_against_depth`, each scale labelled
        ``s = 1.41`` (three significant digits).

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments._common import DepthProfiles, figure_depth_profiles
    >>> profiles = DepthProfiles({2**0.5: np.ones(3)}, {2**0.5: np.ones(3)}, {2**0.5: 1.0})
    >>> fig = figure_depth_profiles(profiles, title="ReLU networks")
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    's = 1.41'
    """
    return plotting.norms_against_depth(
        {f"s = {s:.3g}": ratios for s, ratios in profiles.measured.items()},
        {f"s = {s:.3g}": ratios for s, ratios in profiles.predicted.items()},
        title=title,
    )


# ---------------------------------------------------------------------------------------------
# The regression task of the page "Diagnosing a network".
# ---------------------------------------------------------------------------------------------


def sine_task(n_samples: int, n_in: int, seed: int) -> tuple[Array, Array]:
    r"""Draw the data set :math:`y = \sin(x v)`, with Gaussian :math:`x` and :math:`v`.

    Parameters
    ----------
    n_samples, n_in : int
        Rows and columns of ``x``.
    seed : int
        Seed of the draws, ``x`` first and then :math:`v \sim \mathcal N(0, I / n_{in})`.

    Returns
    -------
    x : ndarray, shape (n_samples, n_in)
    y : ndarray, shape (n_samples, 1)

    Examples
    --------
    >>> from gradwatch.experiments._common import sine_task
    >>> x, y = sine_task(8, 16, seed=0)
    >>> x.shape, y.shape, bool(abs(y).max() <= 1)
    ((8, 16), (8, 1), True)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_in))
    v = rng.standard_normal((n_in, 1)) / math.sqrt(n_in)
    return x, np.sin(x @ v)


# ---------------------------------------------------------------------------------------------
# The gradient through time at initialisation.
# ---------------------------------------------------------------------------------------------


def sequence_probe(
    seed: int, n_samples: int, n_steps: int, input_std: float
) -> tuple[Array, Array]:
    r"""Draw sequences with one input, :math:`x_t \sim \mathcal N(0, \sigma^2)`, and a gradient.

    The pages on recurrent networks feed ``x`` to networks with one input and one output and
    backpropagate ``dy`` from the output at the last step, to see how the gradient shrinks or
    grows on its way back through time.

    Parameters
    ----------
    seed : int
        Seed of the draws, ``x`` first and then ``dy``.
    n_samples, n_steps : int
        Sequences and their length.
    input_std : float
        Standard deviation :math:`\sigma` of the inputs.

    Returns
    -------
    x : ndarray, shape (n_samples, n_steps, 1)
    dy : ndarray, shape (n_samples, 1)
        Standard normal.

    Examples
    --------
    >>> from gradwatch.experiments._common import sequence_probe
    >>> x, dy = sequence_probe(0, n_samples=4, n_steps=3, input_std=0.01)
    >>> x.shape, dy.shape, bool(abs(x).max() < 0.1)
    ((4, 3, 1), (4, 1), True)
    """
    rng = np.random.default_rng(seed)
    x = input_std * rng.standard_normal((n_samples, n_steps, 1))
    return x, rng.standard_normal((n_samples, 1))


# ---------------------------------------------------------------------------------------------
# Numbers as the pages print them, and summaries over seeds.
# ---------------------------------------------------------------------------------------------

#: The multiplication sign of numbers written as powers of ten.
TIMES = "\u00d7"


def range_text(low: float, high: float, fmt: str = ".0f") -> str:
    """Write the range from ``low`` to ``high`` in words, one number when both read the same.

    Examples
    --------
    >>> from gradwatch.experiments._common import range_text
    >>> range_text(37.8, 74.4), range_text(1.049, 1.051, ".2f")
    ('38 to 74', '1.05')
    """
    first, last = format(low, fmt), format(high, fmt)
    return first if first == last else f"{first} to {last}"


RunT = TypeVar("RunT")


@dataclass(frozen=True)
class StepSizeControl(Generic[RunT]):
    """The runs that ask whether clipping is only a smaller step, each once per seed.

    The clipping and RNN pages both hold a clipped run against plain SGD: over a sweep of
    learning rates, and at each clipped run's average learning rate (:func:`effective_lr`).

    Attributes
    ----------
    plain : dict of float to dict of int to run
        Plain SGD at each learning rate of the sweep, by seed.
    clipped : dict of int to run
        Clipped by global norm, by seed.
    matched : dict of int to run
        Plain SGD at the average learning rate of that seed's clipped run.
    """

    plain: dict[float, dict[int, RunT]]
    clipped: dict[int, RunT]
    matched: dict[int, RunT]


def matched_summary(finals: Sequence[float], lrs: Sequence[float]) -> dict[str, Any]:
    """Summarise the matched runs over the seeds, with the learning rates they ran at.

    Parameters
    ----------
    finals : sequence of float
        Final loss of each seed's matched run (nan or inf if it diverged).
    lrs : sequence of float
        The average learning rate of each seed's clipped run, which its matched run used.

    Returns
    -------
    dict
        :func:`seed_summary` of ``finals``, plus ``"lr"`` (the rates' median and range in
        words), ``"lr_low"`` and ``"lr_high"``.

    Examples
    --------
    >>> from gradwatch.experiments._common import matched_summary
    >>> found = matched_summary([0.1, 0.2, 0.3], [0.02, 0.03, 0.05])
    >>> found["lr"], found["lr_high"]
    ('0.03 (0.02 to 0.05)', 0.05)
    """
    return {
        **seed_summary(finals),
        "lr": median_range_text(float(np.median(lrs)), min(lrs), max(lrs)),
        "lr_low": min(lrs),
        "lr_high": max(lrs),
    }


def effective_lr(history: History, lr: float, max_norm: float) -> float:
    r"""Average learning rate of a run of SGD clipped by global norm.

    Clipping at :math:`\theta` turns a step :math:`\eta g` into
    :math:`\eta \min(1, \theta/G)\, g`: the same as plain SGD with the learning rate
    :math:`\eta \min(1, \theta/G)`. This is its mean over the steps.

    Parameters
    ----------
    history : History
        The clipped run (its :math:`G` before clipping, step by step).
    lr, max_norm : float
        Its learning rate :math:`\eta` and threshold :math:`\theta`.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> from gradwatch.experiments import _common
    >>> run = gw.History(loss=np.ones(2), grad_norm=np.array([40.0, 5.0]))
    >>> _common.effective_lr(run, lr=0.03, max_norm=10.0)
    0.01875
    """
    G = history.grad_norm[np.isfinite(history.grad_norm)]
    return float(np.mean(lr * np.minimum(1.0, max_norm / G)))


def median_range_text(median: float, low: float, high: float, fmt: str = ".2g") -> str:
    """Write a median and its range as printed: one number when the ends agree.

    Examples
    --------
    >>> from gradwatch.experiments import _common
    >>> _common.median_range_text(0.0083, 0.0064, 0.0138)
    '0.0083 (0.0064 to 0.014)'
    >>> _common.median_range_text(1.0, 1.0, 1.001)
    '1'
    """
    # rounded to fmt, then printed without a needless exponent: 99.8 reads "100", not "1e+02"
    mid, first, last = (format(float(format(v, fmt)), "g") for v in (median, low, high))
    return mid if first == last else f"{mid} ({first} to {last})"


def seed_summary(finals: Sequence[float]) -> dict[str, Any]:
    """Summarise one run per seed by its final loss (inf for a run that diverged).

    Parameters
    ----------
    finals : sequence of float
        Final losses, one per seed.

    Returns
    -------
    dict
        ``seeds`` and ``diverged`` (counts); ``median``, ``low`` and ``high`` of the runs that
        did not diverge (None if none); ``loss`` (the median and range as text) and
        ``diverged_text`` ("none", "2 of 5", "all 5"), as the page's tables print them.

    Examples
    --------
    >>> from gradwatch.experiments import _common
    >>> summary = _common.seed_summary([0.5, float("inf"), 0.1, 0.2])
    >>> summary["loss"], summary["diverged_text"], summary["median"]
    ('0.2 (0.1 to 0.5)', '1 of 4', 0.2)
    >>> _common.seed_summary([float("inf")] * 3)["diverged_text"]
    'all 3'
    """
    values = np.asarray(finals, dtype=float)
    ok = np.sort(values[np.isfinite(values)])
    n, diverged = values.size, int(values.size - ok.size)
    named = {0: "none", n: f"all {n}" if n > 1 else "yes"}
    summary: dict[str, Any] = {
        "seeds": n,
        "diverged": diverged,
        "diverged_text": named.get(diverged, f"{diverged} of {n}"),
        "median": None,
        "low": None,
        "high": None,
        "loss": "no run converged",
    }
    if ok.size:
        median, low, high = float(np.median(ok)), float(ok[0]), float(ok[-1])
        summary.update(median=median, low=low, high=high, loss=median_range_text(median, low, high))
    return summary


def number_text(value: float) -> str:
    """Write a positive number with two significant digits, as a power of ten when small or large.

    Examples
    --------
    >>> from gradwatch.experiments._common import number_text
    >>> number_text(0.0123), number_text(4.3e-9) == f"4.3 {TIMES} 10⁻⁹"
    ('0.012', True)
    """
    if 1e-4 <= value < 100:
        return f"{value:.2g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} {TIMES} 10{superscript}"


def spread(values: ArrayLike) -> dict[str, Any]:
    """Smallest and largest of ``values``, and the range in words (one number if they agree).

    Examples
    --------
    >>> from gradwatch.experiments._common import spread
    >>> spread([0.5, 2.0])["text"], spread([0.5, 0.5])["text"]
    ('0.5 to 2', '0.5')
    """
    low, high = float(np.min(values)), float(np.max(values))
    first, last = number_text(low), number_text(high)
    return {"low": low, "high": high, "text": first if first == last else f"{first} to {last}"}


def geometric_mean(values: ArrayLike, axis: int = -1) -> Array:
    """Geometric mean of positive ``values`` along ``axis``: the mean of ratios on a log scale.

    Examples
    --------
    >>> from gradwatch.experiments._common import geometric_mean
    >>> float(geometric_mean(np.array([1.0, 100.0])))
    10.0
    """
    return np.asarray(np.exp(np.mean(np.log(values), axis=axis)))
