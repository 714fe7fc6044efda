r"""Normalisation layers: BatchNorm and LayerNorm, their gradients, and what they cure.

The experiment of the page "Normalisation layers" (``docs/normalisation.md``), with its
settings in ``conf/normalisation.toml``. Each step holds a derivation against a measurement:

1. :func:`gradient_check`: the backward pass of :class:`gradwatch.BatchNorm` and
   :class:`gradwatch.LayerNorm` against finite differences, and the naive gradient that treats
   the batch statistics as constants;
2. :func:`scale_invariance`: a dense layer followed by BatchNorm computes the same function
   for weights :math:`cW` and :math:`W`, and its weight gradient is divided by :math:`c`;
3. :func:`small_batches`: in training mode the batch statistics make each output depend on
   the rest of the batch; the gap to evaluation mode against :math:`\sqrt{3/(2B)}`;
4. :func:`diagnose`: a deep tanh network whose weights are too large, with and without
   BatchNorm: per-layer activations, saturation, gradients and update:data ratios, over seeds.

Every step takes the :class:`Settings`. The figures (``figure_*``, each returning a matplotlib
figure) and :func:`summarise` take the steps' results under one name throughout: ``errors``
from :func:`gradient_check`, ``invariance`` from :func:`scale_invariance`, ``batches`` from
:func:`small_batches`, ``runs`` from :func:`diagnose` and ``large`` from :func:`large_weights`.

Examples
--------
>>> from gradwatch.experiments import normalisation
>>> normalisation.Settings().weight_scale
0.3
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import activations, losses, optim, plotting, theory
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import _common, at_least, at_most, non_negative, positive, require
from gradwatch.layers import Dense, Layer
from gradwatch.network import MLP
from gradwatch.norm import BatchNorm, LayerNorm
from gradwatch.training import History, train


@dataclass(frozen=True)
class Settings:
    r"""Settings of the normalisation experiment (``conf/normalisation.toml``).

    Attributes
    ----------
    check_samples, check_features : int
        Batch of the gradient check (at least 2 samples).
    step : float
        Step of the central finite differences.
    scales : list of float
        Factors :math:`c` by which the weights are multiplied in the scale-invariance check.
    batch_sizes : list of int
        Batch sizes of the small-batch measurement (each at least 2).
    n_batches : int
        Batches drawn per batch size.
    n_in : int
        Input features of the regression task.
    width, depth : int
        Width and number of hidden layers of the diagnosed network.
    weight_scale : float
        Its weights are :math:`\mathcal N(0, s^2/n_\text{in})` with this :math:`s` (too small).
    large_scale : float
        A second, too large :math:`s`, whose networks are measured at initialisation.
    n_samples : int
        Size of the data set.
    lr, momentum : float
        SGD with momentum (momentum in [0, 1)).
    steps, batch_size : int
        Training steps and mini-batch size (2 to ``n_samples``).
    seeds : list of int
        One task, network and mini-batch order per seed; the first one is drawn.

    Examples
    --------
    >>> Settings(batch_sizes=[1, 4])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'batch_sizes[0]' = 1: expected a number >= 2
    """

    check_samples: int = 6
    check_features: int = 4
    step: float = 1e-6
    scales: list[float] = field(default_factory=lambda: [0.1, 1.0, 10.0])
    batch_sizes: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32, 64, 128])
    n_batches: int = 400
    n_in: int = 16
    width: int = 64
    depth: int = 8
    weight_scale: float = 0.3
    large_scale: float = 3.0
    n_samples: int = 512
    lr: float = 0.02
    momentum: float = 0.9
    steps: int = 150
    batch_size: int = 64
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])

    def __post_init__(self) -> None:
        at_least("check_samples", self.check_samples, 2)
        positive("check_features", self.check_features)
        positive("step", self.step)
        positive("scales", self.scales)
        at_least("batch_sizes", self.batch_sizes, 2)
        positive("n_batches", self.n_batches)
        positive("n_in", self.n_in)
        positive("width", self.width)
        positive("depth", self.depth)
        positive("weight_scale", self.weight_scale)
        positive("large_scale", self.large_scale)
        at_least("n_samples", self.n_samples, 2)
        positive("lr", self.lr)  # SGD refuses lr = 0: reject it when the file loads
        non_negative("momentum", self.momentum)
        require(self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        positive("steps", self.steps)
        at_least("batch_size", self.batch_size, 2)
        at_most("batch_size", self.batch_size, self.n_samples, limit="n_samples")
        non_negative("seeds", self.seeds)


# ---------------------------------------------------------------------------------------------
# The backward pass, checked.
# ---------------------------------------------------------------------------------------------


def naive_backward(norm: BatchNorm | LayerNorm, x: Array, dy: Array) -> Array:
    r"""Compute the naive gradient, :math:`\gamma \odot (\partial L/\partial y) / \sigma`.

    What one gets by treating :math:`\mu` and :math:`\sigma^2` as constants; it keeps the two
    terms of the true gradient that flow through them out.

    Parameters
    ----------
    norm : BatchNorm or LayerNorm
    x : ndarray, shape (n_samples, n)
    dy : ndarray, shape (n_samples, n)

    Returns
    -------
    ndarray, shape (n_samples, n)

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])
    >>> naive_backward(BatchNorm(1), x, np.array([[1.0], [1.0]])).round(4).tolist()
    [[1.0], [1.0]]
    """
    axis = 0 if isinstance(norm, BatchNorm) else 1
    variance = x.var(axis=axis, keepdims=True)
    result: Array = norm.gamma * dy / np.sqrt(variance + norm.eps)
    return result


def finite_difference_input_gradient(norm: Layer, x: Array, dy: Array, step: float) -> Array:
    r"""Central differences of :math:`L = \sum (\partial L/\partial y) \odot y(x)` in ``x``.

    Parameters
    ----------
    norm : Layer
        Its forward pass, in its current mode.
    x : ndarray, shape (n_samples, n)
    dy : ndarray, shape (n_samples, n)
        The fixed output gradient that defines the scalar :math:`L`.
    step : float

    Returns
    -------
    ndarray, shape (n_samples, n)

    Examples
    --------
    >>> x = np.array([[1.0, 2.0], [3.0, 5.0]])
    >>> finite_difference_input_gradient(LayerNorm(2), x, np.ones_like(x), 1e-6).round(6)
    array([[0., 0.],
           [0., 0.]])
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        grad[index] = np.sum(dy * (norm.forward(up) - norm.forward(down))) / (2 * step)
    return grad


def _relative_error(a: Array, b: Array) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def gradient_check(settings: Settings) -> dict[str, dict[str, float]]:
    r"""Hold the library's backward passes and the naive gradient against finite differences.

    For BatchNorm (training mode) and LayerNorm, with random :math:`\gamma`, :math:`\beta`,
    inputs and output gradient drawn from the first seed.

    Returns
    -------
    dict
        Per layer, ``"library"`` and ``"naive"``: the relative error
        :math:`\lVert g - g_\text{fd}\rVert / \lVert g_\text{fd} \rVert`.

    Examples
    --------
    >>> errors = gradient_check(Settings())
    >>> errors["batch"]["library"] < 1e-7 < 0.1 < errors["batch"]["naive"]
    True
    """
    rng = np.random.default_rng(settings.seeds[0])
    shape = (settings.check_samples, settings.check_features)
    errors = {}
    for key, norm in (
        ("batch", BatchNorm(settings.check_features)),
        ("layer", LayerNorm(settings.check_features)),
    ):
        norm.gamma[:] = rng.uniform(0.5, 2.0, settings.check_features)
        norm.beta[:] = rng.normal(size=settings.check_features)
        x = rng.normal(1.0, 2.0, size=shape)
        dy = rng.normal(size=shape)
        reference = finite_difference_input_gradient(norm, x, dy, settings.step)
        norm.forward(x)
        errors[key] = {
            "library": _relative_error(norm.backward(dy), reference),
            "naive": _relative_error(naive_backward(norm, x, dy), reference),
        }
    return errors


# ---------------------------------------------------------------------------------------------
# Scale invariance.
# ---------------------------------------------------------------------------------------------


def scale_invariance(settings: Settings) -> dict[str, Array]:
    r"""Multiply the weights before a BatchNorm by :math:`c`: same output, gradient over c.

    A :class:`gradwatch.Dense` layer (``width`` units, no activation) followed by a
    :class:`gradwatch.BatchNorm` and a tanh, on a batch of ``batch_size`` inputs from the first
    seed, with the mean squared error against random targets; its weights are multiplied by
    each ``c`` of ``settings.scales``.

    Returns
    -------
    dict of str to ndarray
        ``"scale"``; ``"output_change"``: largest change of the output from that at
        :math:`c = 1`; ``"grad_ratio"``: :math:`\lVert\partial L/\partial W\rVert` at
        :math:`cW` over that at :math:`W`; ``"alignment"``: the largest
        :math:`|\langle \partial L/\partial w_j, w_j\rangle| / (\lVert\partial L/\partial
        w_j\rVert \lVert w_j\rVert)` over units :math:`j`.

    Examples
    --------
    >>> result = scale_invariance(Settings(scales=[0.5, 2.0]))
    >>> (result["scale"] * result["grad_ratio"]).round(8).tolist()
    [1.0, 1.0]
    """
    rng = np.random.default_rng(settings.seeds[0])
    x = rng.standard_normal((settings.batch_size, settings.n_in))
    y = rng.standard_normal((settings.batch_size, settings.width))
    dense = Dense(settings.n_in, settings.width, "identity", init="xavier_normal", rng=rng)
    W = dense.W.copy()
    loss = losses.get("mse")

    def output_and_gradient(c: float) -> tuple[Array, Array]:
        dense.W[...] = c * W
        norm, act = BatchNorm(settings.width), activations.get("tanh")
        z = norm.forward(dense.forward(x))
        out = act(z)
        _, dout = loss.value_and_grad(out, y)
        dense.backward(norm.backward(dout * act.derivative(z)))
        return out, dense.dW.copy()

    base_out, base_grad = output_and_gradient(1.0)
    changes, ratios, alignments = [], [], []
    for c in settings.scales:
        out, grad = output_and_gradient(c)
        changes.append(float(np.max(np.abs(out - base_out))))
        ratios.append(float(np.linalg.norm(grad) / np.linalg.norm(base_grad)))
        cosines = np.sum(grad * W, axis=0) / (
            np.linalg.norm(grad, axis=0) * np.linalg.norm(W, axis=0)
        )
        alignments.append(float(np.max(np.abs(cosines))))
    dense.W[...] = W
    return {
        "scale": np.asarray(settings.scales, dtype=float),
        "output_change": np.asarray(changes),
        "grad_ratio": np.asarray(ratios),
        "alignment": np.asarray(alignments),
    }


# ---------------------------------------------------------------------------------------------
# Train mode, eval mode and small batches.
# ---------------------------------------------------------------------------------------------


def small_batches(settings: Settings) -> dict[str, Array]:
    r"""Gap between training-mode and evaluation-mode outputs of BatchNorm, per batch size.

    Standard normal features; the running statistics are set to the population's (mean 0,
    variance 1), so evaluation mode is the identity and the gap is due to the batch
    statistics alone. For each batch size :math:`B`, ``n_batches`` batches are normalised in
    training mode; the root-mean-square gap is held against :math:`\sqrt{3/(2B)}`.

    Returns
    -------
    dict of str to ndarray
        ``"batch_size"``, ``"gap"`` (measured), ``"predicted"``, and ``"pair_within"``: the
        fraction of outputs within 1 % of :math:`\pm 1` in batches of two samples (0 if 2 is
        not a batch size).

    Examples
    --------
    >>> result = small_batches(Settings(batch_sizes=[2, 64], n_batches=200))
    >>> result["gap"].round(2).tolist(), result["predicted"].round(2).tolist()
    ([0.94, 0.16], [0.87, 0.15])
    """
    rng = np.random.default_rng(settings.seeds[0])
    n = settings.check_features
    gaps: list[float] = []
    pair: list[float] = []
    for size in settings.batch_sizes:
        norm = BatchNorm(n)
        squares = []
        for _ in range(settings.n_batches):
            x = rng.standard_normal((size, n))
            y = norm.forward(x)
            squares.append(np.mean((y - x) ** 2))
            if size == 2:
                pair.append(float(np.mean(np.abs(np.abs(y) - 1.0) < 0.01)))
        norm.running_mean[:] = 0.0
        norm.running_var[:] = 1.0
        norm.eval()
        assert np.allclose(norm.forward(x), x / math.sqrt(1 + norm.eps))  # eval: identity
        gaps.append(math.sqrt(float(np.mean(squares))))
    sizes = np.asarray(settings.batch_sizes, dtype=float)
    return {
        "batch_size": sizes,
        "gap": np.asarray(gaps),
        "predicted": np.sqrt(1.5 / sizes),
        "pair_within": np.asarray(np.mean(pair) if pair else 0.0),
    }


# ---------------------------------------------------------------------------------------------
# The diagnosis: a deep tanh network with and without BatchNorm.
# ---------------------------------------------------------------------------------------------


def build(settings: Settings, norm: str | None, seed: int, scale: float | None = None) -> MLP:
    r"""Build the diagnosed network: ``depth`` tanh layers, weights :math:`\mathcal N(0, s^2/n)`.

    Parameters
    ----------
    settings : Settings
    norm : {None, "batch", "layer"}
        Normalisation after each hidden dense layer, before the tanh.
    seed : int
        The same seed gives the same weights with and without normalisation.
    scale : float, optional
        The weight scale :math:`s`; by default ``settings.weight_scale``.

    Returns
    -------
    MLP

    Examples
    --------
    >>> plain, batch = build(Settings(), None, 0), build(Settings(), "batch", 0)
    >>> bool(np.array_equal(plain.params()[0], batch.params()[0]))
    True
    """
    scale = settings.weight_scale if scale is None else scale

    def weights(shape: tuple[int, ...], *, rng: Any = None, dtype: Any = np.float64) -> Array:
        generator = np.random.default_rng(rng)
        draw: Array = generator.normal(0.0, scale / math.sqrt(shape[0]), size=shape)
        return draw.astype(dtype)

    sizes = [settings.n_in] + [settings.width] * settings.depth + [1]
    return MLP(sizes, activation="tanh", init=weights, seed=seed, norm=norm)


@dataclass(frozen=True)
class LayerValues:
    r"""Every hidden layer's activations and backpropagated gradients on one batch.

    Attributes
    ----------
    activations : list of ndarray, shape (n_samples, width) each
        The tanh outputs, first hidden layer first.
    gradients : list of ndarray, shape (n_samples, width) each
        :math:`\partial L/\partial a` at the same places.
    """

    activations: list[Array]
    gradients: list[Array]

    @property
    def saturation(self) -> Array:
        """Fraction of saturated tanh outputs in each hidden layer."""
        tanh = activations.get("tanh")
        return np.asarray([tanh.saturated(a).mean() for a in self.activations])


def layer_values(net: MLP, x: Array, y: Array) -> LayerValues:
    r"""Run ``net`` forward and backward block by block, keeping each hidden block's output.

    Works for plain and normalised networks alike: every block of ``net.layers`` but the last
    ends with the tanh, so its output is a layer's activations, and the gradient that its
    backward pass receives is :math:`\partial L/\partial a`.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    y : ndarray, shape (n_samples, 1)

    Returns
    -------
    LayerValues

    Examples
    --------
    >>> small = Settings(depth=3, width=8)
    >>> x, y = _common.sine_task(small.n_samples, small.n_in, 0)
    >>> values = layer_values(build(small, "batch", 0), x, y)
    >>> len(values.activations), values.gradients[0].shape
    (3, (512, 8))
    """
    outputs = []
    a = x
    for block in net.layers:
        a = block.forward(a)
        outputs.append(a)
    _, grad = losses.get("mse").value_and_grad(a, y)
    gradients = []
    for block in reversed(net.layers):
        gradients.append(grad)
        grad = block.backward(grad)
    return LayerValues(activations=outputs[:-1], gradients=gradients[::-1][:-1])


@dataclass(frozen=True)
class Run:
    r"""One network of the diagnosis: its values at initialisation and its training.

    Attributes
    ----------
    seed : int
    values : LayerValues
        At initialisation, on the whole data set (training mode).
    saturation : ndarray, shape (depth,)
        Fraction of saturated tanh outputs per hidden layer.
    grad_rms : ndarray, shape (depth,)
        Root-mean-square of :math:`\partial L/\partial a` per hidden layer.
    history : History
    """

    seed: int
    values: LayerValues
    saturation: Array
    grad_rms: Array
    history: History


def diagnose(settings: Settings) -> dict[str, list[Run]]:
    r"""Measure and train the deep tanh network with and without BatchNorm, for every seed.

    Same data, same initial weights, same mini-batches and same optimiser (SGD with momentum)
    for both networks of a seed.

    Returns
    -------
    dict of str to list of Run
        ``"plain"`` and ``"batch"``, one run per seed.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=64, steps=3, batch_size=32, seeds=[0])
    >>> runs = diagnose(small)
    >>> runs["plain"][0].saturation.shape, runs["batch"][0].history.steps
    ((3,), 3)
    """
    runs: dict[str, list[Run]] = {"plain": [], "batch": []}
    for seed in settings.seeds:
        x, y = _common.sine_task(settings.n_samples, settings.n_in, seed)
        for key, norm in (("plain", None), ("batch", "batch")):
            net = build(settings, norm, seed)
            values = layer_values(net, x, y)
            history = train(
                net,
                x,
                y,
                optimizer=optim.SGD(lr=settings.lr, momentum=settings.momentum),
                steps=settings.steps,
                batch_size=settings.batch_size,
                seed=seed,
                progress=False,
            )
            runs[key].append(
                Run(
                    seed=seed,
                    values=values,
                    saturation=values.saturation,
                    grad_rms=np.asarray(
                        [math.sqrt(float(np.mean(g * g))) for g in values.gradients]
                    ),
                    history=history,
                )
            )
    return runs


def median_update_ratios(run: Run) -> Array:
    """Median over the training steps of each weight matrix's update:data ratio.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=64, steps=3, batch_size=32, seeds=[0])
    >>> median_update_ratios(diagnose(small)["batch"][0]).shape
    (4,)
    """
    medians: Array = np.median(run.history.update_ratios, axis=0)
    return medians


def large_weights(settings: Settings) -> dict[str, float]:
    r"""Measure the same networks with the too large scale ``large_scale``, at initialisation.

    Without normalisation the tanh units saturate; with BatchNorm, scale invariance makes the
    network compute what it computes at ``weight_scale``: the largest difference of any
    activation is reported.

    Returns
    -------
    dict
        ``"plain_saturation"`` and ``"batch_saturation"`` (fractions, mean over layers and
        seeds) and ``"batch_difference"``.

    Examples
    --------
    >>> numbers = large_weights(Settings(depth=3, width=16, n_samples=64, seeds=[0]))
    >>> numbers["plain_saturation"] > 0.2 > numbers["batch_saturation"]
    True
    """
    plain, batch, difference = [], [], 0.0
    for seed in settings.seeds:
        x, y = _common.sine_task(settings.n_samples, settings.n_in, seed)
        large = layer_values(build(settings, None, seed, settings.large_scale), x, y)
        plain.append(np.mean(large.saturation))
        normed = layer_values(build(settings, "batch", seed, settings.large_scale), x, y)
        small = layer_values(build(settings, "batch", seed), x, y)
        batch.append(np.mean(normed.saturation))
        for a, b in zip(normed.activations, small.activations, strict=True):
            difference = max(difference, float(np.max(np.abs(a - b))))
    return {
        "plain_saturation": float(np.mean(plain)),
        "batch_saturation": float(np.mean(batch)),
        "batch_difference": difference,
    }


# ---------------------------------------------------------------------------------------------
# The numbers of the page.
# ---------------------------------------------------------------------------------------------


def summarise(
    settings: Settings,
    errors: dict[str, dict[str, float]],
    invariance: dict[str, Array],
    batches: dict[str, Array],
    runs: dict[str, list[Run]],
    large: dict[str, float],
) -> dict[str, Any]:
    r"""Numbers the page quotes, JSON-ready.

    Each argument after ``settings`` is the return value of a step, under the name the module's
    docstring gives it (``errors`` of :func:`gradient_check`, and so on).

    Returns
    -------
    dict
        ``"check"`` (relative errors), ``"invariance"`` (largest output change, largest
        deviation of :math:`c \cdot` ratio from 1, largest alignment), ``"batches"`` (gaps,
        largest relative error for :math:`B \ge 16`), ``"plain"`` and ``"batch"`` (means over
        seeds of the saturation of the last hidden layer, the ratio of the first layer's
        gradient to the last's, the median update:data of the first layer, the final loss; and
        their spread), and the network's sizes.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=64, steps=3, batch_size=32, seeds=[0],
    ...                  n_batches=20)
    >>> numbers = summarise(small, gradient_check(small), scale_invariance(small),
    ...                     small_batches(small), diagnose(small), large_weights(small))
    >>> sorted(numbers)[:5]
    ['batches', 'check', 'check_samples', 'depth', 'invariance']
    """
    scale = invariance["scale"]
    big = batches["batch_size"] >= 16
    relative = np.abs(batches["gap"] / batches["predicted"] - 1.0)
    nets: dict[str, Any] = {}
    for key, trained in runs.items():
        saturation_last = [float(run.saturation[-1]) for run in trained]
        saturation_mean = [float(run.saturation.mean()) for run in trained]
        depth_ratio = [float(run.grad_rms[0] / run.grad_rms[-1]) for run in trained]
        update_first = [float(median_update_ratios(run)[0]) for run in trained]
        loss_last = [float(np.mean(run.history.loss[-10:])) for run in trained]
        nets[key] = {
            "saturation_percent": 100 * float(np.mean(saturation_mean)),
            "saturation_last_percent": 100 * float(np.mean(saturation_last)),
            "depth_ratio": float(_common.geometric_mean(depth_ratio)),
            "depth_ratio_min": min(depth_ratio),
            "depth_ratio_max": max(depth_ratio),
            "update_first": float(_common.geometric_mean(update_first)),
            "loss_last": float(np.mean(loss_last)),
            "loss_last_max": max(loss_last),
            "loss_last_min": min(loss_last),
            "diverged": any(run.history.diverged for run in trained),
        }
    return {
        "depth": settings.depth,
        "width": settings.width,
        "weight_scale": settings.weight_scale,
        "steps": settings.steps,
        "lr": settings.lr,
        "n_seeds": len(settings.seeds),
        "check_samples": settings.check_samples,
        "check": errors,
        "invariance": {
            "scale_low": float(scale.min()),
            "scale_high": float(scale.max()),
            "output_change": float(invariance["output_change"].max()),
            "ratio_error": float(np.max(np.abs(scale * invariance["grad_ratio"] - 1.0))),
            "alignment": float(invariance["alignment"].max()),
        },
        "batches": {
            "n_batches": settings.n_batches,
            "smallest": int(batches["batch_size"][0]),
            "gap_smallest": float(batches["gap"][0]),
            "predicted_smallest": float(batches["predicted"][0]),
            "largest": int(batches["batch_size"][-1]),
            "gap_largest": float(batches["gap"][-1]),
            "max_error_percent": 100 * float(relative[big].max()) if big.any() else 0.0,
            "pair_within_percent": 100 * float(batches["pair_within"]),
        },
        "nets": nets,
        "large": {
            "scale": settings.large_scale,
            "plain_saturation_percent": 100 * large["plain_saturation"],
            "batch_saturation_percent": 100 * large["batch_saturation"],
            "batch_difference": large["batch_difference"],
        },
        "predicted_saturation_percent": 100 * theory.saturated_fraction("tanh", 1.0),
    }


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def figure_small_batches(batches: dict[str, Array]) -> Any:
    r"""Gap between training and evaluation mode against the batch size, with the prediction.

    Examples
    --------
    >>> fig = figure_small_batches(small_batches(Settings(batch_sizes=[2, 8], n_batches=10)))
    >>> fig.axes[0].get_xscale(), fig.axes[0].get_yscale()
    ('log', 'log')
    """
    fig, ax = plotting.figure(width=6.0, height=3.8)
    with plotting.style():
        ax.plot(batches["batch_size"], batches["predicted"], "-", label=r"theory $\sqrt{3/(2B)}$")
        ax.plot(batches["batch_size"], batches["gap"], "o", label="measured")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size $B$")
        ax.set_ylabel("RMS of train-mode minus eval-mode output")
        ax.legend()
    return fig


def figure_diagnosis(runs: dict[str, list[Run]]) -> Any:
    r"""Per-layer activation histograms, gradient sizes and update:data, without and with BN.

    The first seed's networks: top, histograms of each hidden layer's tanh outputs at
    initialisation; middle, the RMS of :math:`\partial L/\partial a` per layer; bottom, the
    update:data ratio of every weight matrix during training, with the 1e-3 guide line.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=64, steps=3, batch_size=32, seeds=[0])
    >>> [ax.get_title() for ax in figure_diagnosis(diagnose(small)).axes[:2]]
    ['without BatchNorm: activations', 'with BatchNorm: activations']
    """
    import matplotlib as mpl

    titles = {"plain": "without BatchNorm", "batch": "with BatchNorm"}
    fig, axes = plotting.figure(3, 2, width=10.0, height=10.0, squeeze=False)
    cmap = mpl.colormaps["viridis_r"]
    with plotting.style():
        for j, (key, trained) in enumerate(runs.items()):
            run = trained[0]
            depth = len(run.values.activations)
            shades = [cmap(0.15 + 0.85 * i / max(depth - 1, 1)) for i in range(depth)]
            edges = np.linspace(-1.0, 1.0, 51)
            for i, a in enumerate(run.values.activations):
                counts, _ = np.histogram(a, bins=edges)
                axes[0, j].stairs(counts, edges, color=shades[i], lw=1.5, label=f"layer {i + 1}")
            axes[0, j].set_xlabel("activation $a$")
            axes[0, j].set_ylabel("count")
            axes[0, j].set_title(f"{titles[key]}: activations")
            layers = np.arange(1, depth + 1)
            for other in trained:
                axes[1, j].plot(layers, other.grad_rms, "o-", ms=4, color=plotting.COLORS[0])
            axes[1, j].set_yscale("log")
            axes[1, j].set_xlabel("hidden layer")
            axes[1, j].set_ylabel(r"RMS of $\partial L/\partial a$")
            axes[1, j].set_title(f"{titles[key]}: gradients (one line per seed)")
            ratios = np.asarray(run.history.update_ratios)
            steps = np.arange(1, ratios.shape[0] + 1)
            matrix_shades = [
                cmap(0.15 + 0.85 * i / max(ratios.shape[1] - 1, 1)) for i in range(ratios.shape[1])
            ]
            for i in range(ratios.shape[1]):
                axes[2, j].plot(steps, ratios[:, i], "-", lw=1.2, color=matrix_shades[i])
            axes[2, j].axhline(1e-3, color="#111111", ls="--", lw=1.2)
            axes[2, j].set_yscale("log")
            axes[2, j].set_xlabel("training step")
            axes[2, j].set_ylabel("update:data ratio")
            axes[2, j].set_title(f"{titles[key]}: update:data")
        axes[0, 0].legend(fontsize=8, ncols=2)
    return plotting.readable(fig)


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: gradient check, scale invariance, small batches, diagnosis.

    The figures are ``small_batches`` and ``diagnosis``; ``progress`` counts three stages under
    the label ``"normalisation"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> small = Settings(depth=3, width=16, n_samples=64, steps=3, batch_size=32, seeds=[0],
    ...                  n_batches=20)
    >>> result = run(small, figures=False)
    >>> sorted(result.numbers["nets"]), result.figures
    (['batch', 'plain'], {})
    """
    errors = gradient_check(settings)
    invariance = scale_invariance(settings)
    progress("normalisation", 1, 3)
    batches = small_batches(settings)
    progress("normalisation", 2, 3)
    runs = diagnose(settings)
    large = large_weights(settings)
    progress("normalisation", 3, 3)
    numbers = summarise(settings, errors, invariance, batches, runs, large)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "small_batches": figure_small_batches(batches),
            "diagnosis": figure_diagnosis(runs),
        },
    )
