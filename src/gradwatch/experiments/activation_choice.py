r"""Choosing an activation: saturation, dead units, self-normalisation and gradient decay.

The experiment of the page "Choosing an activation" (``docs/activation_choice.md``), with its
settings in ``conf/activation_choice.toml``. Each step holds a prediction against a measurement:

1. :func:`saturation`: the fraction of saturated :math:`\tanh` and sigmoid units, and their mean
   slope, in wide random networks at the fixed point :math:`q^*` of the variance map, against
   the Gaussian prediction;
2. :func:`bias_shift`: ReLU units that never activate over a data set when their bias is pushed
   down, against :math:`\Phi(\beta)^N`; :func:`learning_rates`: the dead units that training with
   a large learning rate leaves behind, over several seeds;
3. :func:`selu_fixed_point`: the layer-by-layer mean and variance of SELU activations, which
   settle at (0, 1) whatever the input's scale, against the variance map;
4. :func:`activation_table`: for every activation, the range of its derivative, the weight scale
   that keeps unit variance, the mean slope there, and the per-layer gradient factor predicted
   and measured.

Every step takes the :class:`Settings`. The figures (``figure_*``, each returning a matplotlib
figure) and :func:`summarise` take the steps' results under one name throughout:
``saturations`` from :func:`saturation`, ``edge`` from :func:`sigmoid_edge`, ``shifts`` from
:func:`bias_shift`, ``runs`` from :func:`learning_rates`, ``trajectories`` from
:func:`selu_fixed_point` and ``rows`` from :func:`activation_table`.

Examples
--------
>>> from gradwatch.experiments import activation_choice
>>> activation_choice.Settings().saturating
['tanh', 'sigmoid']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import activations, diagnostics, optim, plotting, theory
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import SettingError, activation, at_least, at_most, non_negative

# isort: split
from gradwatch.experiments import _common, positive, require
from gradwatch.network import MLP
from gradwatch.training import train


@dataclass(frozen=True)
class Settings:
    r"""Settings of the activation-choice experiment (``conf/activation_choice.toml``).

    Attributes
    ----------
    activations : list of str
        Activations of the table, each with a finite weight scale of unit variance.
    saturating : list of str
        Activations whose saturation is measured (each must have a saturation interval).
    sigma_ws : list of float
        Weight scales :math:`\sigma_w` of the saturation measurement.
    sigma_b : float
        Bias scale of the saturation measurement (positive, so that :math:`q^*` exists).
    width, depth : int
        Width and number of layers of the random networks.
    saturation_depth : int
        Number of layers of the networks whose saturation is measured (every layer is at the
        fixed point, so a few suffice).
    n_samples : int
        Inputs per batch of the random networks.
    seeds : list of int
        One random network (and batch) per seed.
    tolerance : float
        Largest relative error between predicted and measured per-layer gradient factor.
    bias_shifts : list of float
        Downward shifts :math:`\beta` of the ReLU biases, in standard deviations of the
        pre-activation.
    bias_n_in, bias_width, bias_n_samples : int
        Inputs, units and data set size of the bias-shift measurement.
    n_in : int
        Input features of the regression task that is trained.
    train_width, train_depth : int
        Hidden width and number of hidden layers of the trained ReLU network.
    train_samples : int
        Size of its data set.
    lr_small, lr_large : float
        The two learning rates of plain SGD compared (``lr_small < lr_large``).
    steps, batch_size : int
        Training steps and mini-batch size (at most ``train_samples``).
    train_seeds : list of int
        One task, network and mini-batch order per seed.
    selu_depth : int
        Layers of the network whose activation statistics are followed.
    selu_starts : list of float
        Second moments of the inputs fed to it.

    Examples
    --------
    >>> Settings(saturating=["relu"])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'saturating[0]' = 'relu': expected an activation ...
    """

    activations: list[str] = field(
        default_factory=lambda: ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]
    )
    saturating: list[str] = field(default_factory=lambda: ["tanh", "sigmoid"])
    sigma_ws: list[float] = field(default_factory=lambda: [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0])
    sigma_b: float = 0.05
    width: int = 256
    depth: int = 20
    saturation_depth: int = 5
    n_samples: int = 32
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    tolerance: float = 0.03
    bias_shifts: list[float] = field(
        default_factory=lambda: [0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    )
    bias_n_in: int = 16
    bias_width: int = 500
    bias_n_samples: int = 256
    n_in: int = 16
    train_width: int = 64
    train_depth: int = 3
    train_samples: int = 512
    lr_small: float = 0.01
    lr_large: float = 0.07
    steps: int = 200
    batch_size: int = 64
    train_seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    selu_depth: int = 30
    selu_starts: list[float] = field(default_factory=lambda: [0.25, 4.0])

    def __post_init__(self) -> None:
        activation("activations", self.activations)
        activation("saturating", self.saturating)
        for i, name in enumerate(self.saturating):
            require(
                activations.get(name).saturation_interval is not None,
                f"saturating[{i}]",
                name,
                "an activation that saturates (tanh, sigmoid)",
            )
        positive("sigma_ws", self.sigma_ws)
        positive("sigma_b", self.sigma_b)
        positive("width", self.width)
        at_least("depth", self.depth, 2)
        positive("saturation_depth", self.saturation_depth)
        positive("n_samples", self.n_samples)
        non_negative("seeds", self.seeds)
        positive("tolerance", self.tolerance)
        non_negative("bias_shifts", self.bias_shifts)
        positive("bias_n_in", self.bias_n_in)
        positive("bias_width", self.bias_width)
        positive("bias_n_samples", self.bias_n_samples)
        positive("n_in", self.n_in)
        positive("train_width", self.train_width)
        positive("train_depth", self.train_depth)
        positive("train_samples", self.train_samples)
        positive("lr_small", self.lr_small)
        positive("lr_large", self.lr_large)
        require(self.lr_small < self.lr_large, "lr_large", self.lr_large, "more than lr_small")
        positive("steps", self.steps)
        positive("batch_size", self.batch_size)
        at_most("batch_size", self.batch_size, self.train_samples, limit="train_samples")
        non_negative("train_seeds", self.train_seeds)
        at_least("selu_depth", self.selu_depth, 2)
        positive("selu_starts", self.selu_starts)
        for name in self.saturating:
            for w in self.sigma_ws:
                try:
                    theory.q_fixed_point(name, w, self.sigma_b)
                except (ValueError, RuntimeError):
                    expected = f"weight scales with a finite fixed point q* for {name}"
                    raise SettingError("sigma_ws", self.sigma_ws, expected) from None


# ---------------------------------------------------------------------------------------------
# Gaussian averages, with kinks.
# ---------------------------------------------------------------------------------------------


def gaussian_mean(f: Callable[[Array], Array], q: float, n_points: int = 20_000) -> float:
    r"""Compute :math:`\mathbb E_{z \sim \mathcal N(0,1)}[f(\sqrt q\, z)]` on a fine grid.

    A midpoint rule over :math:`z \in [-10, 10]` whose cells meet at 0. It is exact enough
    (about :math:`10^{-8}`) for the derivatives of ReLU, leaky ReLU and SELU, which jump at 0,
    where a Gauss-Hermite rule with a node at 0 takes the value on one side for a whole
    neighbourhood.

    Parameters
    ----------
    f : callable
        Vectorised function of an array.
    q : float
        Variance, non-negative.
    n_points : int, default 20000
        Number of cells (even).

    Returns
    -------
    float

    Examples
    --------
    >>> relu = activations.get("relu")
    >>> round(gaussian_mean(relu.derivative, 1.0), 6)   # half of the mass is above 0
    0.5
    >>> round(gaussian_mean(np.square, 2.0), 6)
    2.0
    """
    step = 20.0 / n_points
    z = -10.0 + step * (np.arange(n_points) + 0.5)
    weights = np.exp(-0.5 * z * z)
    weights /= weights.sum()
    return float(np.asarray(f(math.sqrt(q) * z), dtype=np.float64) @ weights)


def _squared(f: Callable[[Array], Array]) -> Callable[[Array], Array]:
    r"""Return the function :math:`z \mapsto f(z)^2`."""

    def square(z: Array) -> Array:
        value = f(z)
        return value * value

    return square


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _random_traces(
    settings: Settings,
    name: str,
    sigma_w: float,
    depth: int,
    *,
    sigma_b: float = 0.0,
    input_std: float = 1.0,
    activated: bool = True,
) -> list[diagnostics.Trace]:
    r"""Trace one random network per seed: ``depth`` layers of ``name``, ``width`` wide.

    The seed draws the network (:func:`gradwatch.diagnostics.random_mlp`), then a batch
    :math:`u` of ``n_samples`` inputs :math:`\mathcal N(0, \text{input\_std}^2)`, then the
    output gradient of :func:`gradwatch.diagnostics.trace`. The network's input is
    :math:`g(u)`, as if a layer of the same kind came first, or :math:`u` itself when not
    ``activated``.
    """
    act = activations.get(name)
    traces = []
    for seed in settings.seeds:
        rng = np.random.default_rng(seed)
        net = diagnostics.random_mlp(settings.width, depth, name, sigma_w, sigma_b, seed=rng)
        x = input_std * rng.standard_normal((settings.n_samples, settings.width))
        traces.append(diagnostics.trace(net, act(x) if activated else x, seed=rng))
    return traces


# ---------------------------------------------------------------------------------------------
# Saturation.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saturation:
    r"""Saturation and mean slope of one activation over the weight scales.

    Attributes
    ----------
    sigma_w : ndarray, shape (n,)
    q_star : ndarray, shape (n,)
        Fixed point of the variance map at each :math:`\sigma_w`.
    predicted, measured : ndarray, shape (n,)
        Fraction of saturated units.
    slope_predicted, slope_measured : ndarray, shape (n,)
        Mean slope :math:`\mathbb E[g'(z)]`.
    """

    sigma_w: Array
    q_star: Array
    predicted: Array
    measured: Array
    slope_predicted: Array
    slope_measured: Array


def saturation(settings: Settings) -> dict[str, Saturation]:
    r"""Measure saturation and mean slope in wide random networks at their fixed point.

    For each saturating activation and weight scale, random networks of ``width`` and
    ``saturation_depth`` get inputs drawn at the fixed point,
    :math:`x = g(\sqrt{q^*} z)`, so that every layer is statistically alike; the fractions are
    averaged over all layers and seeds and held against
    :func:`gradwatch.theory.saturated_fraction` and the Gaussian average of :math:`g'`.

    Returns
    -------
    dict of str to Saturation
        By activation, in the order of ``settings.saturating``.

    Examples
    --------
    >>> small = Settings(saturating=["tanh"], sigma_ws=[1.0, 3.0], width=64, seeds=[0])
    >>> result = saturation(small)["tanh"]
    >>> result.predicted.round(2).tolist(), result.measured.round(2).tolist()
    ([0.0, 0.4], [0.0, 0.39])
    """
    results = {}
    for name in settings.saturating:
        act = activations.get(name)
        rows = []
        for w in settings.sigma_ws:
            q = theory.q_fixed_point(name, w, settings.sigma_b)
            depth, std = settings.saturation_depth, math.sqrt(q)
            traces = _random_traces(
                settings, name, w, depth, sigma_b=settings.sigma_b, input_std=std
            )
            saturated = [np.mean([act.saturated(a).mean() for a in t.a]) for t in traces]
            slopes = [np.mean([act.derivative(z).mean() for z in t.z]) for t in traces]
            rows.append(
                (
                    w,
                    q,
                    theory.saturated_fraction(name, q),
                    float(np.mean(saturated)),
                    gaussian_mean(act.derivative, q),
                    float(np.mean(slopes)),
                )
            )
        table = np.asarray(rows)
        results[name] = Saturation(*(table[:, i] for i in range(6)))
    return results


def sigmoid_edge(settings: Settings) -> dict[str, float]:
    r"""Where the sigmoid reaches the edge of chaos, and how saturated it is there.

    :math:`\sigma_w` with :math:`\chi_1 = 1` at ``settings.sigma_b``
    (:func:`gradwatch.theory.critical_sigma_w`), the fixed point :math:`q^*` there, the
    predicted fraction of saturated units and the mean slope.

    Returns
    -------
    dict
        ``sigma_w``, ``q_star``, ``saturated``, ``slope``.

    Examples
    --------
    >>> edge = sigmoid_edge(Settings())
    >>> round(edge["sigma_w"], 2), round(edge["saturated"], 2)
    (10.15, 0.61)
    """
    sigma_w = theory.critical_sigma_w("sigmoid", settings.sigma_b, bracket=(0.5, 30.0))
    q = theory.q_fixed_point("sigmoid", sigma_w, settings.sigma_b)
    return {
        "sigma_w": sigma_w,
        "q_star": q,
        "saturated": theory.saturated_fraction("sigmoid", q),
        "slope": gaussian_mean(activations.get("sigmoid").derivative, q),
    }


# ---------------------------------------------------------------------------------------------
# Dead ReLUs.
# ---------------------------------------------------------------------------------------------


def dead_fraction(net: MLP, x: Array) -> Array:
    r"""Fraction of each hidden layer's units that never activate over the data set ``x``.

    A unit is dead when its pre-activation is :math:`z \le 0` for every sample: on the flat side
    of a ReLU for all the data, it passes no gradient to its weights and they cannot change it.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
        The whole data set (a unit alive on a single sample is alive).

    Returns
    -------
    ndarray, shape (n_hidden_layers,)

    Examples
    --------
    >>> net = MLP([2, 3, 1], activation="relu", seed=0)
    >>> net.layers[0].b[:] = [-100.0, 0.0, 100.0]          # the first unit can never fire
    >>> dead_fraction(net, np.random.default_rng(0).normal(size=(50, 2))).round(3).tolist()
    [0.333]
    """
    passed = diagnostics.trace(net, x)
    return np.asarray([np.mean(np.all(z <= 0, axis=0)) for z in passed.z[:-1]])


def predicted_dead(shift: float, n_samples: int) -> float:
    r"""Probability that a unit with bias :math:`-\beta` standard deviations is dead on N samples.

    Its pre-activation on a Gaussian input is :math:`\mathcal N(-\beta s, s^2)`, independent
    from sample to sample, so it stays :math:`\le 0` on all of them with probability
    :math:`\Phi(\beta)^N`.

    Parameters
    ----------
    shift : float
        :math:`\beta`.
    n_samples : int
        :math:`N`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(predicted_dead(0.0, 3), 4), round(predicted_dead(3.0, 256), 3)
    (0.125, 0.708)
    """
    return _normal_cdf(shift) ** n_samples


def half_dead_shift(n_samples: int) -> float:
    r"""Bias shift :math:`\beta` at which half the units are dead: :math:`\Phi(\beta)^N = 1/2`.

    Examples
    --------
    >>> round(half_dead_shift(256), 3)
    2.782
    """
    return theory.bisect(lambda b: predicted_dead(b, n_samples) - 0.5, 0.0, 40.0)


def bias_shift(settings: Settings) -> dict[str, Array]:
    r"""Measure the dead units of a ReLU layer whose biases are pushed down.

    A layer of ``bias_width`` ReLU units with He-normal weights gets the biases
    :math:`b_j = -\beta \lVert w_j \rVert`, :math:`\beta` standard deviations of its
    pre-activation on standard normal inputs; its dead units are counted over ``bias_n_samples``
    inputs, averaged over the seeds, and held against :func:`predicted_dead`.

    Returns
    -------
    dict of str to ndarray
        ``"shift"``, ``"predicted"``, ``"measured"``, one value per shift.

    Examples
    --------
    >>> small = Settings(bias_shifts=[0.0, 3.0], bias_width=200, seeds=[0])
    >>> result = bias_shift(small)
    >>> result["predicted"].round(2).tolist(), result["measured"].round(2).tolist()
    ([0.0, 0.71], [0.0, 0.72])
    """
    measured = np.zeros((len(settings.seeds), len(settings.bias_shifts)))
    for i, seed in enumerate(settings.seeds):
        net = MLP(
            [settings.bias_n_in, settings.bias_width, 1],
            activation="relu",
            init="he_normal",
            seed=seed,
        )
        x = np.random.default_rng(seed).standard_normal(
            (settings.bias_n_samples, settings.bias_n_in)
        )
        scale = np.linalg.norm(net.layers[0].W, axis=0)  # std of each unit's z
        for j, shift in enumerate(settings.bias_shifts):
            net.layers[0].b[:] = -shift * scale
            measured[i, j] = dead_fraction(net, x)[0]
    return {
        "shift": np.asarray(settings.bias_shifts, dtype=float),
        "predicted": np.asarray(
            [predicted_dead(b, settings.bias_n_samples) for b in settings.bias_shifts]
        ),
        "measured": measured.mean(axis=0),
    }


@dataclass(frozen=True)
class TrainedRun:
    """One ReLU network trained on the regression task.

    Attributes
    ----------
    lr : float
    seed : int
    dead : ndarray, shape (train_depth,)
        :func:`dead_fraction` of each hidden layer over the data set, after training.
    loss_first, loss_peak, loss_last : float
        Mini-batch loss at the first step, its largest value and at the last step.
    diverged : bool
    flat_grad : float
        Largest norm of a dead unit's weight gradient over the data set (0 if none is dead).
    flat_grad_leaky : float
        The same with the trained weights kept and every ReLU replaced by a leaky ReLU: the
        smallest such norm (0 if no unit is dead).
    """

    lr: float
    seed: int
    dead: Array
    loss_first: float
    loss_peak: float
    loss_last: float
    diverged: bool
    flat_grad: float
    flat_grad_leaky: float


def flat_side_gradients(net: MLP, x: Array, y: Array) -> Array:
    r"""Weight-gradient norm of every unit that is on the flat side for all of ``x``.

    One :func:`gradwatch.diagnostics.trace` with the mean squared error on ``(x, y)``; for each
    hidden unit with :math:`z \le 0` on every sample, the norm of its column of
    :math:`\partial L/\partial W`.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    y : ndarray, shape (n_samples, n_out)

    Returns
    -------
    ndarray
        One norm per such unit, all hidden layers together (empty if there is none).

    Examples
    --------
    >>> net = MLP([2, 3, 1], activation="relu", seed=0)
    >>> net.layers[0].b[:] = [-100.0, 0.0, 0.0]
    >>> x = np.random.default_rng(0).normal(size=(20, 2))
    >>> flat_side_gradients(net, x, x[:, :1]).tolist()
    [0.0]
    """
    passed = diagnostics.trace(net, x, y)
    norms = [
        np.linalg.norm(dW[:, np.all(z <= 0, axis=0)], axis=0)
        for z, dW in zip(passed.z[:-1], passed.dW[:-1], strict=True)
    ]
    return np.concatenate(norms)


def train_once(settings: Settings, lr: float, seed: int) -> TrainedRun:
    r"""Train one ReLU network with plain SGD and count its units that never activate.

    The network is ``[n_in] + [train_width] * train_depth + [1]`` with He-normal weights,
    built from ``seed`` on the task of ``_common.sine_task``; after training,
    :func:`dead_fraction` runs over the whole data set, and :func:`flat_side_gradients` with
    the network as it is and with its ReLUs replaced by leaky ReLUs.

    Parameters
    ----------
    settings : Settings
    lr : float
    seed : int

    Returns
    -------
    TrainedRun

    Examples
    --------
    >>> small = Settings(train_width=16, train_samples=64, steps=5, batch_size=32)
    >>> run = train_once(small, small.lr_small, 0)
    >>> run.dead.shape, run.diverged
    ((3,), False)
    """
    x, y = _common.sine_task(settings.train_samples, settings.n_in, seed)
    sizes = [settings.n_in] + [settings.train_width] * settings.train_depth + [1]
    net = MLP(sizes, activation="relu", init="he_normal", seed=seed)
    history = train(
        net,
        x,
        y,
        optimizer=optim.SGD(lr=lr),
        steps=settings.steps,
        batch_size=settings.batch_size,
        seed=seed,
        progress=False,
    )
    dead: Array
    flat: Array
    flat_leaky: Array
    if history.diverged:
        dead = np.full(settings.train_depth, np.nan)
        flat, flat_leaky = np.zeros(0), np.zeros(0)
    else:
        dead = dead_fraction(net, x)
        flat = flat_side_gradients(net, x, y)
        for layer in net.layers[:-1]:
            layer.activation = activations.LeakyReLU()
        flat_leaky = flat_side_gradients(net, x, y)
    return TrainedRun(
        lr=lr,
        seed=seed,
        dead=dead,
        loss_first=float(history.loss[0]),
        loss_peak=float(np.max(history.loss)),
        loss_last=float(history.loss[-1]),
        diverged=history.diverged,
        flat_grad=float(flat.max(initial=0.0)),
        flat_grad_leaky=float(flat_leaky.min(initial=np.inf)) if flat_leaky.size else 0.0,
    )


def learning_rates(settings: Settings) -> dict[str, list[TrainedRun]]:
    """Train the ReLU network at both learning rates, one run per seed.

    Same task, same initial network and same mini-batches for both runs of a seed; only the
    learning rate changes.

    Returns
    -------
    dict of str to list of TrainedRun
        ``"small"`` (``lr_small``) and ``"large"`` (``lr_large``), one run per seed of
        ``train_seeds``.

    Examples
    --------
    >>> small = Settings(train_width=16, train_samples=64, steps=5, batch_size=32,
    ...                  train_seeds=[0])
    >>> [len(runs) for runs in learning_rates(small).values()]
    [1, 1]
    """
    return {
        key: [train_once(settings, lr, seed) for seed in settings.train_seeds]
        for key, lr in (("small", settings.lr_small), ("large", settings.lr_large))
    }


# ---------------------------------------------------------------------------------------------
# SELU's fixed point.
# ---------------------------------------------------------------------------------------------


def q_map_slope(name: str, sigma_w: float, q: float = 1.0) -> float:
    r"""Slope of the variance map at :math:`q`: below 1 the fixed point attracts, above it repels.

    :math:`\frac{d}{dq}\big[\sigma_w^2\,\mathbb E[g(\sqrt q z)^2]\big]`, by a central difference
    of :func:`gradwatch.theory.q_map`.

    Examples
    --------
    >>> round(q_map_slope("selu", 1.0), 3), round(q_map_slope("relu", 2 ** 0.5), 3)
    (0.783, 1.0)
    """
    h = 1e-4 * q
    up = float(theory.q_map(q + h, name, sigma_w))
    down = float(theory.q_map(q - h, name, sigma_w))
    return (up - down) / (2 * h)


def unit_variance_scale(name: str) -> float:
    r"""Find the weight scale that makes :math:`q = 1` a fixed point of the variance map.

    :math:`\sigma_w = 1/\sqrt{\mathbb E[g(z)^2]}` with :math:`z \sim \mathcal N(0, 1)`: a layer
    fed pre-activations of unit variance hands the next layer unit variance again. It is He's
    :math:`\sqrt 2` for ReLU and LeCun's 1 for SELU.

    Examples
    --------
    >>> round(unit_variance_scale("relu"), 4), round(unit_variance_scale("selu"), 4)
    (1.4142, 1.0)
    """
    act = activations.get(name)
    return 1.0 / math.sqrt(float(theory.gaussian_expectation(_squared(act), 1.0)))


@dataclass(frozen=True)
class Trajectories:
    """Mean and variance of the activations, layer by layer, from inputs of several scales.

    Attributes
    ----------
    starts : list of float
        Second moments of the inputs.
    mean, variance : dict of str to ndarray, shape (len(starts), depth)
        Measured, over all units and samples (averaged over seeds), by activation.
    mean_theory, variance_theory : dict of str to ndarray, shape (len(starts), depth)
        From the variance map.
    sigma_w : dict of str to float
    """

    starts: list[float]
    mean: dict[str, Array]
    variance: dict[str, Array]
    mean_theory: dict[str, Array]
    variance_theory: dict[str, Array]
    sigma_w: dict[str, float]


def selu_fixed_point(settings: Settings) -> Trajectories:
    r"""Follow the activations' mean and variance through a deep SELU network and a ReLU one.

    SELU with :math:`\sigma_w = 1` (LeCun) and ReLU with :math:`\sigma_w = \sqrt 2` (He), no
    bias, width ``width``, ``selu_depth`` layers; the inputs are :math:`\mathcal N(0, s)` for each
    ``s`` of ``selu_starts``. Theory iterates :func:`gradwatch.theory.q_map` from
    :math:`q^{(1)} = \sigma_w^2 s` and takes :math:`\mathbb E[g]` and
    :math:`\mathbb E[g^2] - \mathbb E[g]^2` at each :math:`q^{(l)}` (by :func:`gaussian_mean`).

    Returns
    -------
    Trajectories

    Examples
    --------
    >>> small = Settings(width=128, selu_depth=20, seeds=[0])
    >>> result = selu_fixed_point(small)
    >>> result.variance_theory["selu"][:, -1].round(2).tolist(), result.sigma_w["relu"] > 1
    ([1.0, 1.0], True)
    """
    scales = {"selu": 1.0, "relu": math.sqrt(2.0)}
    mean: dict[str, Array] = {}
    variance: dict[str, Array] = {}
    mean_theory: dict[str, Array] = {}
    variance_theory: dict[str, Array] = {}
    for name, w in scales.items():
        act = activations.get(name)
        measured_mean = np.zeros((len(settings.selu_starts), settings.selu_depth))
        measured_var = np.zeros_like(measured_mean)
        predicted_mean = np.zeros_like(measured_mean)
        predicted_var = np.zeros_like(measured_mean)
        for i, start in enumerate(settings.selu_starts):
            q = w * w * start
            for layer in range(settings.selu_depth):
                m1 = gaussian_mean(act, q)
                m2 = gaussian_mean(_squared(act), q)
                predicted_mean[i, layer] = m1
                predicted_var[i, layer] = m2 - m1 * m1
                q = float(theory.q_map(q, name, w))
            for passed in _random_traces(
                settings, name, w, settings.selu_depth, input_std=math.sqrt(start), activated=False
            ):
                measured_mean[i] += [float(a.mean()) for a in passed.a]
                measured_var[i] += [float(a.var()) for a in passed.a]
        mean[name] = measured_mean / len(settings.seeds)
        variance[name] = measured_var / len(settings.seeds)
        mean_theory[name] = predicted_mean
        variance_theory[name] = predicted_var
    return Trajectories(
        starts=list(settings.selu_starts),
        mean=mean,
        variance=variance,
        mean_theory=mean_theory,
        variance_theory=variance_theory,
        sigma_w=scales,
    )


# ---------------------------------------------------------------------------------------------
# The table: every activation at its unit-variance scale.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    r"""One activation at the weight scale that keeps unit variance.

    Attributes
    ----------
    name : str
    slope_min, slope_max : float
        Range of :math:`g'` over :math:`z \in [-10, 10]`.
    sigma_w : float
        :func:`unit_variance_scale`.
    mean_slope : float
        :math:`\mathbb E[g'(z)]`, :math:`z \sim \mathcal N(0, 1)`.
    chi : float
        :math:`\chi_1 = \sigma_w^2\,\mathbb E[g'(z)^2]`.
    q_slope : float
        :func:`q_map_slope` at :math:`q = 1`.
    measured : ndarray, shape (len(seeds),)
        Per-layer factor of the gradient norm, :math:`(\lVert\partial L/\partial x\rVert /
        \lVert\partial L/\partial y\rVert)^{1/L}`, one per seed.
    q_last : ndarray, shape (len(seeds),)
        Measured variance of the last layer's pre-activations, one per seed.
    profile : ndarray, shape (depth + 1,)
        Gradient norm at each layer over the output's, input first (geometric mean over seeds).
    """

    name: str
    slope_min: float
    slope_max: float
    sigma_w: float
    mean_slope: float
    chi: float
    q_slope: float
    measured: Array
    q_last: Array
    profile: Array

    @property
    def predicted(self) -> float:
        r"""Predicted per-layer factor of the gradient norm, :math:`\sqrt{\chi_1}`."""
        return math.sqrt(self.chi)

    @property
    def factor(self) -> float:
        """Measured per-layer factor, geometric mean over the seeds."""
        return float(_common.geometric_mean(self.measured))


def activation_table(settings: Settings) -> list[Row]:
    r"""Measure every activation of the settings at its unit-variance weight scale.

    For each activation: the range of :math:`g'`, :func:`unit_variance_scale`, the mean slope,
    :math:`\chi_1` (all at :math:`q = 1`, by :func:`gaussian_mean`), and, in random networks of
    ``width`` and ``depth`` with no bias and inputs :math:`x = g(z)` so that the first layer
    already sees unit variance, the measured per-layer factor of the gradient norm.

    Returns
    -------
    list of Row
        In the order of ``settings.activations``.

    Examples
    --------
    >>> small = Settings(activations=["relu", "tanh"], width=128, depth=10, seeds=[0])
    >>> [(row.name, round(row.predicted, 3), round(row.factor, 2)) for row in
    ...  activation_table(small)]
    [('relu', 1.0, 1.0), ('tanh', 1.085, 1.09)]
    """
    grid = np.linspace(-10.0, 10.0, 200_001)
    rows = []
    for name in settings.activations:
        act = activations.get(name)
        slopes = act.derivative(grid)
        w = unit_variance_scale(name)
        measured, q_last, logs = [], [], []
        for passed in _random_traces(settings, name, w, settings.depth):
            norms = np.asarray([np.linalg.norm(g) for g in passed.da])
            logs.append(np.log(norms / norms[-1]))
            measured.append(float((norms[0] / norms[-1]) ** (1.0 / settings.depth)))
            q_last.append(float(np.mean(passed.z[-1] ** 2)))
        rows.append(
            Row(
                name=name,
                slope_min=float(slopes.min()),
                slope_max=float(slopes.max()),
                sigma_w=w,
                mean_slope=gaussian_mean(act.derivative, 1.0),
                chi=w * w * gaussian_mean(_squared(act.derivative), 1.0),
                q_slope=q_map_slope(name, w),
                measured=np.asarray(measured),
                q_last=np.asarray(q_last),
                profile=np.exp(np.mean(logs, axis=0)),
            )
        )
    return rows


def table_markdown(numbers: dict[str, Any]) -> str:
    """Write the table of the page as Markdown, from the numbers of :func:`summarise`.

    Examples
    --------
    >>> row = {"slope_min": 0.0, "slope_max": 1.0, "sigma_w": 1.414, "mean_slope": 0.5,
    ...        "chi": 1.0, "q_slope": 1.0, "predicted": 1.0, "measured": 0.999,
    ...        "measured_min": 0.99, "measured_max": 1.01}
    >>> print(table_markdown({"table": {"relu": row}}).splitlines()[2])
    | relu | [0, 1] | 1.414 | 0.500 | 1.000 | 1.000 | 1.000 | 0.999 (0.990 to 1.010) |
    """
    lines = [
        (
            "| activation | $g'$ on $[-10, 10]$ | $\\sigma_w$ ($q^* = 1$) | mean slope $E[g']$ "
            "| $\\chi_1$ | slope of the q-map | predicted factor $\\sqrt{\\chi_1}$ "
            "| measured factor (range over seeds) |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in numbers["table"].items():
        lines.append(
            f"| {name} | [{row['slope_min']:.3g}, {row['slope_max']:.3g}] | {row['sigma_w']:.3f} "
            f"| {row['mean_slope']:.3f} | {row['chi']:.3f} | {row['q_slope']:.3f} "
            f"| {row['predicted']:.3f} | {row['measured']:.3f} "
            f"({row['measured_min']:.3f} to {row['measured_max']:.3f}) |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The numbers of the page.
# ---------------------------------------------------------------------------------------------


def summarise(
    settings: Settings,
    saturations: dict[str, Saturation],
    edge: dict[str, float],
    shifts: dict[str, Array],
    runs: dict[str, list[TrainedRun]],
    trajectories: Trajectories,
    rows: list[Row],
) -> dict[str, Any]:
    r"""Numbers the page quotes, JSON-ready.

    Each argument after ``settings`` is the return value of a step, under the name the module's
    docstring gives it (``saturations`` of :func:`saturation`, and so on).

    Returns
    -------
    dict
        ``"saturation"`` (per activation: thresholds, largest errors of the saturated
        fraction and of the mean slope, the values at the smallest and largest
        :math:`\sigma_w`), ``"edge"``, ``"dead"`` (bias shifts: largest error, the half-dead
        shift; learning rates: dead fractions per seed and their extremes, loss peaks, the
        flat-side gradients), ``"selu"`` (the fixed point, the q-map slope, the last layer's
        mean and variance from every start, ReLU's for comparison), ``"table"`` (one entry per
        activation) and the networks' sizes.

    Examples
    --------
    >>> small = Settings(activations=["relu"], saturating=["tanh"], sigma_ws=[1.0, 3.0],
    ...     width=64, depth=6, seeds=[0], bias_shifts=[0.0, 3.0], bias_width=100,
    ...     train_width=16, train_samples=64, steps=5, batch_size=32, train_seeds=[0],
    ...     selu_depth=6)
    >>> numbers = summarise(small, saturation(small), sigmoid_edge(small), bias_shift(small),
    ...     learning_rates(small), selu_fixed_point(small), activation_table(small))
    >>> sorted(numbers)[:5]
    ['dead', 'depth', 'edge', 'n_seeds', 'n_train_seeds']
    """
    saturation_numbers: dict[str, Any] = {"sigma_b": settings.sigma_b}
    for name, result in saturations.items():
        z_high = theory.saturation_thresholds(name)[1]
        high = (activations.get(name).saturation_interval or (0.0, 0.0))[1]
        saturation_numbers[name] = {
            "a_high": high,
            "z_high": z_high,
            "max_error": float(np.max(np.abs(result.measured - result.predicted))),
            "slope_max_error": float(
                np.max(np.abs(result.slope_measured - result.slope_predicted))
            ),
            "sw_first": float(result.sigma_w[0]),
            "sw_last": float(result.sigma_w[-1]),
            "first": float(result.measured[0]),
            "last": float(result.measured[-1]),
            "last_percent": 100 * float(result.measured[-1]),
            "slope_first": float(result.slope_measured[0]),
            "slope_last": float(result.slope_measured[-1]),
            "q_last": float(result.q_star[-1]),
        }

    def per_seed(key: str) -> list[float]:
        return [float(np.mean(run.dead)) for run in runs[key]]

    small, large = per_seed("small"), per_seed("large")
    peaks = [run.loss_peak / run.loss_first for run in runs["large"]]
    dead = {
        "n_samples": settings.bias_n_samples,
        "width": settings.bias_width,
        "shift_max_error": float(np.max(np.abs(shifts["measured"] - shifts["predicted"]))),
        "half_shift": half_dead_shift(settings.bias_n_samples),
        "train_width": settings.train_width,
        "train_depth": settings.train_depth,
        "lr_small": settings.lr_small,
        "lr_large": settings.lr_large,
        "steps": settings.steps,
        "small": small,
        "large": large,
        "small_max_percent": 100 * max(small),
        "large_min_percent": 100 * min(large),
        "large_max_percent": 100 * max(large),
        "large_mean_percent": 100 * float(np.mean(large)),
        "peak_min": float(min(peaks)),
        "diverged": any(run.diverged for key in runs for run in runs[key]),
        "relu_flat_grad": max(run.flat_grad for run in runs["large"]),
        "leaky_flat_grad": min(run.flat_grad_leaky for run in runs["large"]),
    }
    selu_act = activations.get("selu")
    selu_var, relu_var = trajectories.variance["selu"], trajectories.variance["relu"]
    selu = {
        "mean_fixed": gaussian_mean(selu_act, 1.0),
        "second_fixed": gaussian_mean(_squared(selu_act), 1.0),
        "q_slope": q_map_slope("selu", 1.0),
        "depth": settings.selu_depth,
        "start_low": trajectories.starts[0],
        "start_high": trajectories.starts[-1],
        "last_var_low": float(selu_var[0, -1]),
        "last_var_high": float(selu_var[-1, -1]),
        "first_var_low": float(selu_var[0, 0]),
        "first_var_high": float(selu_var[-1, 0]),
        "max_mean_dev": float(np.max(np.abs(trajectories.mean["selu"][:, -1]))),
        "max_var_dev": float(np.max(np.abs(selu_var[:, -1] - 1.0))),
        "theory_max_rel_error": float(
            np.max(np.abs(selu_var / trajectories.variance_theory["selu"] - 1.0))
        ),
        "relu_last_var_low": float(relu_var[0, -1]),
        "relu_last_var_high": float(relu_var[-1, -1]),
        "relu_ratio": float(relu_var[-1, -1] / relu_var[0, -1]),
    }
    table = {
        row.name: {
            "slope_min": row.slope_min,
            "slope_max": row.slope_max,
            "sigma_w": row.sigma_w,
            "mean_slope": row.mean_slope,
            "chi": row.chi,
            "q_slope": row.q_slope,
            "predicted": row.predicted,
            "measured": row.factor,
            "measured_min": float(row.measured.min()),
            "measured_max": float(row.measured.max()),
            "error": abs(row.factor / row.predicted - 1.0),
            "q_last_dev": float(np.max(np.abs(np.log(row.q_last)))),
            "total": row.factor**settings.depth,
        }
        for row in rows
    }
    return {
        "width": settings.width,
        "depth": settings.depth,
        "n_seeds": len(settings.seeds),
        "n_train_seeds": len(settings.train_seeds),
        "tolerance_percent": 100 * settings.tolerance,
        "saturation": saturation_numbers,
        "edge": {**edge, "saturated_percent": 100 * edge["saturated"]},
        "dead": dead,
        "selu": selu,
        "table": table,
    }


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def figure_saturation(saturations: dict[str, Saturation], edge: dict[str, float]) -> Any:
    r"""Saturated fraction and mean slope against :math:`\sigma_w`: prediction and measurement.

    Lines are the Gaussian predictions at the fixed point :math:`q^*`, markers the measurements
    in random networks; the dotted line marks the sigmoid's edge of chaos.

    Examples
    --------
    >>> small = Settings(saturating=["tanh"], sigma_ws=[1.0, 3.0], width=32, depth=3, seeds=[0])
    >>> fig = figure_saturation(saturation(small), sigmoid_edge(small))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['fraction of saturated units', "mean slope E[g'(z)]"]
    """
    fig, axes = plotting.figure(1, 2, width=10.0, height=4.0)
    with plotting.style():
        for i, (name, result) in enumerate(saturations.items()):
            color = plotting.COLORS[i % 7]
            for ax, predicted, measured in (
                (axes[0], result.predicted, result.measured),
                (axes[1], result.slope_predicted, result.slope_measured),
            ):
                ax.plot(result.sigma_w, predicted, "-", color=color, label=f"{name}: theory")
                ax.plot(result.sigma_w, measured, "o", color=color, label=f"{name}: measured")
        for ax in axes:
            ax.axvline(edge["sigma_w"], color="#555555", ls=":", lw=1.5)
            ax.set_xlabel(r"weight scale $\sigma_w$")
        axes[0].set_ylabel("fraction of saturated units")
        axes[1].set_ylabel("mean slope E[g'(z)]")
        axes[0].legend(fontsize=9)
        axes[1].text(
            edge["sigma_w"],
            0.95,
            "sigmoid's\nedge of chaos ",
            ha="right",
            va="top",
            fontsize=9,
            transform=axes[1].get_xaxis_transform(),
        )
    return plotting.readable(fig)


def figure_dead(shifts: dict[str, Array], runs: dict[str, list[TrainedRun]]) -> Any:
    r"""Dead ReLU units: against a bias shift (theory and measurement), and after training.

    Examples
    --------
    >>> small = Settings(bias_shifts=[0.0, 3.0], bias_width=50, seeds=[0], train_width=16,
    ...     train_samples=64, steps=5, batch_size=32, train_seeds=[0])
    >>> fig = figure_dead(bias_shift(small), learning_rates(small))
    >>> fig.axes[1].get_ylabel()
    'fraction of hidden units dead on the data set'
    """
    fig, axes = plotting.figure(1, 2, width=10.0, height=4.0)
    with plotting.style():
        axes[0].plot(
            shifts["shift"],
            shifts["predicted"],
            "-",
            color=plotting.COLORS[0],
            label=r"theory $\Phi(\beta)^N$",
        )
        axes[0].plot(
            shifts["shift"], shifts["measured"], "o", color=plotting.COLORS[1], label="measured"
        )
        axes[0].set_xlabel(r"bias shift $\beta$ (standard deviations of $z$)")
        axes[0].set_ylabel("fraction of dead units")
        axes[0].legend()
        for i, trained in enumerate(runs.values()):
            values = [float(np.mean(run.dead)) for run in trained]
            offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
            axes[1].plot(i + offsets, values, "o", ms=7, color=plotting.COLORS[i])
        axes[1].set_xticks(
            range(len(runs)), [f"lr = {trained[0].lr:g}" for trained in runs.values()]
        )
        axes[1].set_xlim(-0.6, len(runs) - 0.4)
        axes[1].set_ylabel("fraction of hidden units dead on the data set")
        axes[1].set_title("ReLU network after training, one dot per seed")
    return fig


def figure_selu(trajectories: Trajectories) -> Any:
    """Mean and variance of the activations layer by layer, SELU against ReLU.

    Markers are measured, dashed lines the variance map's prediction; one colour per input
    scale.

    Examples
    --------
    >>> fig = figure_selu(selu_fixed_point(Settings(width=32, selu_depth=4, seeds=[0])))
    >>> [ax.get_title() for ax in fig.axes]
    ['mean of the activations', 'variance of the activations']
    """
    from matplotlib import ticker

    fig, axes = plotting.figure(1, 2, width=10.0, height=4.0)
    with plotting.style():
        layers = np.arange(1, trajectories.mean["selu"].shape[1] + 1)
        for j, (name, marker) in enumerate((("selu", "o"), ("relu", "s"))):
            for i, start in enumerate(trajectories.starts):
                color = plotting.COLORS[2 * j + i]
                label = f"{name}, input variance {start:g}"
                for ax, measured, predicted in (
                    (axes[0], trajectories.mean[name][i], trajectories.mean_theory[name][i]),
                    (
                        axes[1],
                        trajectories.variance[name][i],
                        trajectories.variance_theory[name][i],
                    ),
                ):
                    ax.plot(layers, measured, marker, ms=3.5, color=color, label=label)
                    ax.plot(layers, predicted, "--", lw=1.2, color=color)
        axes[1].set_yscale("log")
        axes[1].yaxis.set_major_formatter(ticker.ScalarFormatter())
        axes[1].yaxis.set_minor_formatter(ticker.NullFormatter())
        axes[0].set_title("mean of the activations")
        axes[1].set_title("variance of the activations")
        for ax in axes:
            ax.set_xlabel("layer")
        axes[0].legend(fontsize=8, loc="center right")
    return plotting.readable(fig)


def figure_decay(rows: list[Row]) -> Any:
    r"""Gradient norm at every layer over the output's, each activation at its unit-variance scale.

    Markers are measured (geometric mean over seeds), dashed lines the prediction
    :math:`\sqrt{\chi_1}^{\,L-l}`.

    Examples
    --------
    >>> small = Settings(activations=["relu"], width=32, depth=4, seeds=[0])
    >>> figure_decay(activation_table(small)).axes[0].get_yscale()
    'log'
    """
    fig, ax = plotting.figure(width=7.0, height=4.4)
    with plotting.style():
        for i, row in enumerate(rows):
            color = plotting.COLORS[i % 7]
            layers = np.arange(row.profile.size)
            depth = row.profile.size - 1
            ax.plot(layers, row.profile, "o-", ms=3.5, lw=1.2, color=color, label=row.name)
            ax.plot(layers, row.predicted ** (depth - layers), "--", lw=1.0, color=color)
        ax.set_yscale("log")
        ax.set_xlabel("layer (0 = input)")
        ax.set_ylabel("gradient norm / output's")
        ax.legend(fontsize=9, ncols=2)
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: saturation, dead units, SELU's fixed point and the table.

    The figures are ``saturation``, ``dead``, ``selu`` and ``decay``; ``progress`` counts the
    five steps under the label ``"activation choice"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> small = Settings(activations=["relu"], saturating=["tanh"], sigma_ws=[1.0, 3.0],
    ...     width=32, depth=4, seeds=[0], bias_shifts=[0.0, 3.0], bias_width=50,
    ...     train_width=16, train_samples=64, steps=5, batch_size=32, train_seeds=[0],
    ...     selu_depth=4)
    >>> result = run(small, figures=False)
    >>> sorted(result.numbers["table"]), result.figures
    (['relu'], {})
    """
    total = 5
    saturations = saturation(settings)
    edge = sigmoid_edge(settings)
    progress("activation choice", 1, total)
    shifts = bias_shift(settings)
    progress("activation choice", 2, total)
    runs = learning_rates(settings)
    progress("activation choice", 3, total)
    trajectories = selu_fixed_point(settings)
    progress("activation choice", 4, total)
    rows = activation_table(settings)
    progress("activation choice", 5, total)
    numbers = summarise(settings, saturations, edge, shifts, runs, trajectories, rows)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "saturation": figure_saturation(saturations, edge),
            "dead": figure_dead(shifts, runs),
            "selu": figure_selu(trajectories),
            "decay": figure_decay(rows),
        },
    )
