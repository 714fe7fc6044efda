r"""The mathematics of vanishing gradients: depth, weight scale and the sigmoid bound.

The experiment of the page ``docs/vanishing_math.md``, with its settings in
``conf/vanishing_math.toml``. It measures how the backpropagated gradient of a deep network
changes with depth and holds the measurements against theory:

- the norms of the powers of one repeated matrix, against its spectral radius and its largest
  singular value (:func:`matrix_powers`), and the largest singular value of one random weight
  matrix (:func:`random_matrix_norm`);
- deep linear networks with Gaussian weights :math:`\mathcal N(0, s^2/n)`, measured against the
  prediction :math:`s^{d}` after :math:`d` layers (:func:`linear_networks`);
- a deep sigmoid network, measured against the bound :math:`(1/4)^{d}` times the product of
  the weights' largest singular values (:func:`sigmoid_network`, :func:`sigmoid_profile`,
  :func:`sigmoid_bound`).

Examples
--------
>>> from gradwatch.experiments import vanishing_math
>>> numbers = vanishing_math.run(vanishing_math.Settings(), figures=False).numbers
>>> numbers["matrix"]["steps"], numbers["sigmoid"]["depth"]
(60, 20)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import diagnostics, plotting, theory
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, _common, no_progress

# isort: split
from gradwatch.experiments import at_least, between, non_negative, positive

# isort: split
from gradwatch.experiments import finite, non_empty, require
from gradwatch.network import MLP

#: The largest slope of the logistic sigmoid, :math:`\sigma'(0) = 1/4`.
SIGMOID_MAX_SLOPE = 0.25


@dataclass(frozen=True)
class Settings:
    r"""The settings of the experiment (``[settings]`` of ``conf/vanishing_math.toml``).

    Attributes
    ----------
    depth, width, scales, seeds, n_samples
        The linear networks: ``depth`` layers of ``width`` units, with weights
        :math:`\mathcal N(0, s^2/\text{width})` for each scale :math:`s` (distinct, with
        :math:`s^{\text{depth}}` in :math:`[10^{-100}, 10^{100}]`); per seed, one network, a
        batch of ``n_samples`` inputs and an output gradient. The width and the first seed also
        draw the random matrix of :func:`random_matrix_norm`; ``n_samples`` is the sigmoid
        network's batch too.
    repeated_matrix : list of list of float
        A square matrix :math:`A`, multiplied by itself in :func:`matrix_powers`.
    repeated_steps : int
        Number of powers :math:`A^1, \dots, A^k` to compute, at least 2, with
        :math:`\lVert A \rVert^k \le 10^{100}`.
    sigmoid_depth : int
        Layers of the sigmoid network (output layer included), from 1 to 50.
    sigmoid_width : int
        Width of the sigmoid network.
    sigmoid_scale : float
        Weight scale of the sigmoid network, from 0.1 to 4 (the gradient stays above
        :math:`10^{-100}` of its output value).
    sigmoid_seed : int
        Seed of the sigmoid network, its inputs and its output gradient.
    threshold : float
        The fraction of its output value (in (0, 1)) below which the gradient counts as
        vanished.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> vanishing_math.Settings().depth
    30
    >>> vanishing_math.Settings(threshold=2.0)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'threshold' = 2.0: expected a number in (0, 1)
    """

    depth: int = 30
    width: int = 128
    scales: list[float] = field(default_factory=lambda: [0.8, 1.0, 1.25])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    n_samples: int = 32
    repeated_matrix: list[list[float]] = field(default_factory=lambda: [[0.9, 1.0], [0.0, 0.9]])
    repeated_steps: int = 60
    sigmoid_depth: int = 20
    sigmoid_width: int = 128
    sigmoid_scale: float = 1.0
    sigmoid_seed: int = 0
    threshold: float = 1e-6

    def __post_init__(self) -> None:
        # the gradient after `depth` layers, s**depth, must stay far from under- and overflow
        _common.check_sweep(
            self,
            lambda s: self.depth * abs(math.log(s)) <= _common.LOG_RANGE,
            "a scale s with s**depth in [1e-100, 1e100]",
        )
        non_empty("repeated_matrix", self.repeated_matrix)
        rows = self.repeated_matrix
        require(
            all(len(row) == len(rows) for row in rows), "repeated_matrix", rows, "a square matrix"
        )
        for i, row in enumerate(rows):
            finite(f"repeated_matrix[{i}]", row)
        at_least("repeated_steps", self.repeated_steps, 2)
        largest = float(np.linalg.norm(np.asarray(rows, dtype=np.float64), 2))
        require(
            largest == 0 or self.repeated_steps * math.log(largest) <= _common.LOG_RANGE,
            "repeated_steps",
            self.repeated_steps,
            f"a number of powers that keeps ||A||**repeated_steps <= 1e100 (||A|| = {largest:.3g})",
        )
        between("sigmoid_depth", self.sigmoid_depth, 1, 50)
        positive("sigmoid_width", self.sigmoid_width)
        between("sigmoid_scale", self.sigmoid_scale, 0.1, 4.0)
        non_negative("sigmoid_seed", self.sigmoid_seed)
        require(0 < self.threshold < 1, "threshold", self.threshold, "a number in (0, 1)")


# ---------------------------------------------------------------------------------------------
# The steps, in the order of the page.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixPowers:
    r"""The repeated matrix :math:`A` and the norms of its powers.

    Attributes
    ----------
    radius : float
        The spectral radius :math:`\rho(A)`, the largest modulus of an eigenvalue.
    largest_singular_value : float
        :math:`\sigma_{\max}(A) = \lVert A \rVert_2`.
    norms : list of float
        :math:`\lVert A^k \rVert_2` for :math:`k = 1, \dots,` ``repeated_steps``.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> vanishing_math.MatrixPowers(0.5, 0.5, [0.5, 0.25]).norms
    [0.5, 0.25]
    """

    radius: float
    largest_singular_value: float
    norms: list[float]


def matrix_powers(settings: Settings) -> MatrixPowers:
    """Spectral radius, largest singular value and the norms of the powers of one matrix.

    Parameters
    ----------
    settings : Settings
        Uses ``repeated_matrix`` and ``repeated_steps``.

    Returns
    -------
    MatrixPowers

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(repeated_matrix=[[0.5, 1.0], [0.0, 0.5]],
    ...                                    repeated_steps=3)
    >>> powers = vanishing_math.matrix_powers(settings)
    >>> powers.radius, [round(n, 4) for n in powers.norms]
    (0.5, [1.2071, 1.059, 0.7703])
    """
    A = np.asarray(settings.repeated_matrix, dtype=np.float64)
    norms = [
        float(np.linalg.norm(np.linalg.matrix_power(A, k), 2))
        for k in range(1, settings.repeated_steps + 1)
    ]
    radius = float(np.max(np.abs(np.linalg.eigvals(A))))
    return MatrixPowers(radius, float(np.linalg.norm(A, 2)), norms)


def random_matrix_norm(settings: Settings) -> float:
    r"""Largest singular value of one square matrix with entries drawn from N(0, 1/width).

    Parameters
    ----------
    settings : Settings
        Uses ``width`` and the first of ``seeds``.

    Returns
    -------
    float
        :math:`\sigma_{\max}(W)`, close to 2 for a large width.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> 1.5 < vanishing_math.random_matrix_norm(vanishing_math.Settings(width=128)) < 2.5
    True
    """
    width = settings.width
    rng = np.random.default_rng(settings.seeds[0])
    W = rng.normal(0.0, 1.0 / np.sqrt(width), size=(width, width))
    return float(np.linalg.norm(W, 2))


def linear_networks(settings: Settings, progress: Progress = no_progress) -> _common.DepthProfiles:
    r"""Gradient size against depth in square linear networks, measured and predicted.

    ``_common.depth_profiles`` with linear layers and the progress label "linear networks";
    the prediction is :math:`s^{d}` after :math:`d` layers
    (:func:`gradwatch.theory.linear_gradient_norms`).

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(depth=10, width=64, scales=[0.5], seeds=[0, 1])
    >>> profiles = vanishing_math.linear_networks(settings)
    >>> round(profiles.factors[0.5], 1), profiles.predicted[0.5][2].item()
    (0.5, 0.25)
    """
    return _common.depth_profiles(
        settings, "identity", theory.linear_gradient_norms, progress, label="linear networks"
    )


def sigmoid_network(settings: Settings) -> MLP:
    r"""Build the deep sigmoid network: every layer a sigmoid layer, the output layer included.

    Parameters
    ----------
    settings : Settings
        Uses ``sigmoid_width``, ``sigmoid_depth``, ``sigmoid_scale`` and ``sigmoid_seed``.

    Returns
    -------
    MLP
        Weights :math:`\mathcal N(0, s^2/n)` with :math:`s` = ``sigmoid_scale``, zero biases
        (:func:`gradwatch.diagnostics.random_mlp`).

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> net = vanishing_math.sigmoid_network(
    ...     vanishing_math.Settings(sigmoid_depth=3, sigmoid_width=4))
    >>> net.sizes, net.layers[-1].activation.name
    ([4, 4, 4, 4], 'sigmoid')
    """
    net: MLP = diagnostics.random_mlp(
        settings.sigmoid_width,
        settings.sigmoid_depth,
        "sigmoid",
        sigma_w=settings.sigmoid_scale,
        seed=settings.sigmoid_seed,
    )
    return net


def sigmoid_profile(net: MLP, settings: Settings) -> Array:
    """Measured gradient size after each number of layers of ``net``, relative to the output.

    Parameters
    ----------
    net : MLP
        The network of :func:`sigmoid_network`.
    settings : Settings
        Uses ``n_samples`` and ``sigmoid_seed`` (inputs and output gradient).

    Returns
    -------
    ndarray, shape (sigmoid_depth + 1,)
        :func:`gradwatch.diagnostics.depth_profile`: entry 0 is 1, the last entry is the ratio at
        the input.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(sigmoid_depth=3, sigmoid_width=16)
    >>> ratios = vanishing_math.sigmoid_profile(vanishing_math.sigmoid_network(settings), settings)
    >>> ratios.shape, bool(ratios[-1] < ratios[0] == 1)
    ((4,), True)
    """
    ratios: Array = diagnostics.depth_profile(net, settings.n_samples, seed=settings.sigmoid_seed)
    return ratios


def sigmoid_bound(net: MLP) -> Array:
    """Bound the gradient size of a sigmoid network after each number of layers.

    Parameters
    ----------
    net : MLP
        A network of sigmoid layers.

    Returns
    -------
    ndarray, shape (n_layers + 1,)
        :math:`(1/4)^{d}` times the largest singular values of the last ``d`` weight
        matrices (:func:`gradwatch.theory.gradient_norm_bound` with the sigmoid's largest
        slope, 1/4).

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(sigmoid_depth=3, sigmoid_width=16)
    >>> bound = vanishing_math.sigmoid_bound(vanishing_math.sigmoid_network(settings))
    >>> bound.shape, bound[0].item()
    ((4,), 1.0)
    """
    return theory.gradient_norm_bound(
        [layer.W for layer in net.layers], max_slope=SIGMOID_MAX_SLOPE
    )


def sigmoid_weight_gradients(net: MLP, settings: Settings) -> Array:
    r"""Norms of the weight gradients :math:`\partial J/\partial W^{(l)}` of ``net``, by layer.

    One batch, ``n_samples`` standard normal inputs and output gradients drawn from
    ``sigmoid_seed`` (``_common.normal_batches``), passes through
    :func:`gradwatch.diagnostics.trace`.

    Returns
    -------
    ndarray, shape (n_layers,)
        First layer first.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(sigmoid_depth=3, sigmoid_width=16)
    >>> net = vanishing_math.sigmoid_network(settings)
    >>> norms = vanishing_math.sigmoid_weight_gradients(net, settings)
    >>> norms.shape, bool(norms[0] < norms[-1])
    ((3,), True)
    """
    seed, width = settings.sigmoid_seed, settings.sigmoid_width
    x, dy = _common.normal_batches(seed, settings.n_samples, width)
    passed = diagnostics.trace(net, x, dy=dy)
    return np.asarray([float(np.linalg.norm(dW)) for dW in passed.dW])


def first_below(ratios: Array, threshold: float) -> int:
    """First depth at which ``ratios`` is below ``threshold``, or -1 if it never is.

    Parameters
    ----------
    ratios : ndarray, shape (depth + 1,)
    threshold : float

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import vanishing_math
    >>> vanishing_math.first_below(np.array([1.0, 0.1, 0.01]), 0.05)
    2
    >>> vanishing_math.first_below(np.array([1.0, 0.1]), 0.05)
    -1
    """
    below = np.flatnonzero(np.asarray(ratios) < threshold)
    return int(below[0]) if below.size else -1


# ---------------------------------------------------------------------------------------------
# The numbers, the figures and the whole run.
# ---------------------------------------------------------------------------------------------


def summarise(
    settings: Settings,
    powers: MatrixPowers,
    random_norm: float,
    linear: _common.DepthProfiles,
    sigmoid: Array,
    bound: Array,
    weight_grads: Array,
) -> dict[str, Any]:
    r"""Turn the steps' results into the numbers of the page, JSON-ready.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`matrix_powers`, :func:`random_matrix_norm`, :func:`linear_networks`,
    :func:`sigmoid_profile`, :func:`sigmoid_bound` and :func:`sigmoid_weight_gradients`.

    Returns
    -------
    dict
        ``matrix`` (the repeated matrix: ``radius``, ``smax``, ``peak`` and ``peak_step`` of the
        norms of its powers, ``last_power``, ``last_rate`` = the last norm over the one before,
        ``last_root`` = :math:`\lVert A^k \rVert^{1/k}` at the last power, ``steps``,
        ``norms``); ``smax_random``; ``linear`` (``depth``, ``width``, ``n_seeds``, the smallest
        and the largest scale ``s_low``, ``s_high`` with their fitted per-layer factors
        ``factor_low``, ``factor_high`` and their measured and predicted ratios at the input,
        ``end_low``, ``end_low_theory``, ``end_high``, ``end_high_theory``; ``scales``,
        ``factors`` and ``measured``, one entry per scale); ``sigmoid`` (``depth``,
        ``threshold``, the first depth ``below`` the threshold, measured, and ``bound_below``,
        for the bound (-1 if never), the per-layer factors ``factor`` (fitted) and
        ``bound_factor`` (geometric mean), the measured ratio at the input ``end``, the
        profiles ``measured`` and ``bound``, and ``dW_ratio``, the first layer's weight-gradient
        norm over the last layer's).

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(depth=4, width=16, seeds=[0], repeated_steps=5,
    ...                                    sigmoid_depth=4, sigmoid_width=16)
    >>> net = vanishing_math.sigmoid_network(settings)
    >>> numbers = vanishing_math.summarise(
    ...     settings,
    ...     vanishing_math.matrix_powers(settings),
    ...     vanishing_math.random_matrix_norm(settings),
    ...     vanishing_math.linear_networks(settings),
    ...     vanishing_math.sigmoid_profile(net, settings),
    ...     vanishing_math.sigmoid_bound(net),
    ...     vanishing_math.sigmoid_weight_gradients(net, settings),
    ... )
    >>> numbers["matrix"]["peak_step"], numbers["linear"]["s_high"], numbers["sigmoid"]["below"]
    (5, 1.25, -1)
    """
    norms = powers.norms
    previous = norms[-2]
    low, high = min(settings.scales), max(settings.scales)
    sigmoid_depth = len(sigmoid) - 1
    return {
        "matrix": {
            "radius": powers.radius,
            "smax": powers.largest_singular_value,
            "peak": max(norms),
            "peak_step": int(np.argmax(norms)) + 1,
            "last_power": norms[-1],
            "last_rate": norms[-1] / previous if previous > 0 else 0.0,
            "last_root": norms[-1] ** (1 / len(norms)),
            "steps": len(norms),
            "norms": list(norms),
        },
        "smax_random": random_norm,
        "linear": {
            "depth": settings.depth,
            "width": settings.width,
            "n_seeds": len(settings.seeds),
            "s_low": low,
            "s_high": high,
            "factor_low": linear.factors[low],
            "factor_high": linear.factors[high],
            "end_low": float(linear.measured[low][-1]),
            "end_low_theory": float(linear.predicted[low][-1]),
            "end_high": float(linear.measured[high][-1]),
            "end_high_theory": float(linear.predicted[high][-1]),
            "scales": list(settings.scales),
            "factors": [linear.factors[s] for s in settings.scales],
            "measured": [linear.measured[s].tolist() for s in settings.scales],
        },
        "sigmoid": {
            "depth": sigmoid_depth,
            "threshold": settings.threshold,
            "below": first_below(sigmoid, settings.threshold),
            "bound_below": first_below(bound, settings.threshold),
            "factor": diagnostics.fit_per_layer_factor(sigmoid),
            "bound_factor": float(bound[-1] ** (1 / sigmoid_depth)),
            "end": float(sigmoid[-1]),
            "measured": sigmoid.tolist(),
            "bound": bound.tolist(),
            "dW_ratio": float(weight_grads[0] / weight_grads[-1]),
        },
    }


def figure_linear_depth(settings: Settings, linear: _common.DepthProfiles) -> Any:
    """Draw :func:`linear_networks`, points measured and lines predicted, titled by the width.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(depth=3, width=8, seeds=[0])
    >>> fig = vanishing_math.figure_linear_depth(settings, vanishing_math.linear_networks(settings))
    >>> fig.axes[0].get_title()
    'Linear networks, width 8'
    """
    return _common.figure_depth_profiles(linear, title=f"Linear networks, width {settings.width}")


def figure_sigmoid_bound(settings: Settings, sigmoid: Array, bound: Array) -> Any:
    """Gradient size against depth in the sigmoid network, under its bound and the threshold.

    Parameters
    ----------
    settings : Settings
    sigmoid, bound : ndarray
        From :func:`sigmoid_profile` and :func:`sigmoid_bound`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import vanishing_math
    >>> fig = vanishing_math.figure_sigmoid_bound(
    ...     vanishing_math.Settings(), np.array([1.0, 0.1]), np.array([1.0, 0.5]))
    >>> fig.axes[0].get_title()
    'Sigmoid network, width 128'
    """
    return plotting.norms_against_depth(
        {"sigmoid network": sigmoid},
        {"sigmoid network": bound},
        theory_label="upper bound",
        threshold=settings.threshold,
        threshold_label=f"{settings.threshold:g} of the output",
        title=f"Sigmoid network, width {settings.sigmoid_width}",
    )


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: matrices, then networks; the figures ``linear_depth``, ``sigmoid_bound``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> from gradwatch.experiments import vanishing_math
    >>> settings = vanishing_math.Settings(depth=4, width=16, seeds=[0], sigmoid_depth=4,
    ...                                    sigmoid_width=16)
    >>> sorted(vanishing_math.run(settings).figures)
    ['linear_depth', 'sigmoid_bound']
    """
    powers = matrix_powers(settings)
    random_norm = random_matrix_norm(settings)
    linear = linear_networks(settings, progress)
    net = sigmoid_network(settings)
    sigmoid = sigmoid_profile(net, settings)
    bound = sigmoid_bound(net)
    weight_grads = sigmoid_weight_gradients(net, settings)
    progress("sigmoid network", 1, 1)
    numbers = summarise(settings, powers, random_norm, linear, sigmoid, bound, weight_grads)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "linear_depth": figure_linear_depth(settings, linear),
            "sigmoid_bound": figure_sigmoid_bound(settings, sigmoid, bound),
        },
    )
