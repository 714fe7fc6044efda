r"""The mathematics of exploding gradients: ReLU networks, weight scale and clipping.

The experiment of the page ``docs/exploding_math.md``, with its settings in
``conf/exploding_math.toml``. It shows the growth of a gradient with depth and what clipping
does about it:

- a linear network of orthogonal matrices times a gain :math:`g > 1`, whose gradient grows by
  exactly :math:`g^{d}` after :math:`d` layers (:func:`orthogonal_profile`);
- deep ReLU networks with Gaussian weights :math:`\mathcal N(0, s^2/n)` below, at and above the
  He scale :math:`\sqrt 2`, measured against the prediction :math:`(s^2/2)^{d/2}`
  (:func:`relu_networks`), and the same weights without the ReLU (:func:`linear_same_weights`);
- clipping by the global norm applied to the gradients of the exploding ReLU network
  (:func:`exploding_problem`, :func:`clip_gradients`), and one step of gradient descent with
  the clipped gradient (:func:`clipped_step`).

Examples
--------
>>> from gradwatch.experiments import exploding_math
>>> settings = exploding_math.Settings(depth=4, width=16, seeds=[0])
>>> numbers = exploding_math.run(settings, figures=False).numbers
>>> numbers["depth"], round(numbers["clip"]["norm_clipped"], 6)
(4, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip, diagnostics, optim, theory
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, _common, no_progress

# isort: split
from gradwatch.experiments import SettingError, positive, require
from gradwatch.network import MLP

#: The He scale :math:`\sqrt 2`, at which a ReLU layer keeps the expected squared norm.
HE_SCALE = float(np.sqrt(2.0))

#: The activations held against ReLU at the same weight scales: the article's baseline.
SATURATING = ("tanh", "sigmoid")


@dataclass(frozen=True)
class Settings:
    r"""The settings of the experiment (``[settings]`` of ``conf/exploding_math.toml``).

    Attributes
    ----------
    depth, width, scales, seeds, n_samples
        The ReLU networks: ``depth`` ReLU layers (the output layer too) of ``width`` units, with
        weights :math:`\mathcal N(0, s^2/\text{width})` for each scale :math:`s` (distinct, with
        :math:`(s/\sqrt 2)^{\text{depth}} \ge 10^{-100}` and
        :math:`s^{\text{depth}} \le 10^{50}`); per seed, one network, a batch of ``n_samples``
        inputs and an output gradient. The first seed also builds the orthogonal network and
        the exploding network that is clipped.
    clip_threshold : float
        The threshold :math:`\theta` of clipping by global norm.
    orthogonal_gain : float
        Every singular value of the orthogonal network's weight matrices, with
        :math:`g^{\text{depth}}` in :math:`[10^{-100}, 10^{100}]`.
    learning_rate : float
        :math:`\eta` of the one gradient-descent step taken with the clipped gradient.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> exploding_math.Settings().depth
    20
    >>> exploding_math.Settings(clip_threshold=0.0)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'clip_threshold' = 0.0: expected a positive number
    """

    depth: int = 20
    width: int = 256
    scales: list[float] = field(default_factory=lambda: [1.2, HE_SCALE, 1.7])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    n_samples: int = 32
    clip_threshold: float = 1.0
    orthogonal_gain: float = 1.1
    learning_rate: float = 0.01

    def __post_init__(self) -> None:
        # the ReLU gradient (s / sqrt 2)**depth and the linear one s**depth, far from under- and
        # overflow (the loss of the exploding network grows like s**(2 depth))
        _common.check_sweep(
            self,
            lambda s: (
                self.depth * math.log(s / HE_SCALE) >= -_common.LOG_RANGE
                and self.depth * math.log(s) <= _common.LOG_RANGE / 2
            ),
            "a scale s with (s / sqrt 2)**depth >= 1e-100 and s**depth <= 1e50",
        )
        for i, s in enumerate(self.scales):
            for name in SATURATING:  # the mean-field prediction of saturating_networks
                try:
                    theory.chi_1(name, s)
                except (ValueError, RuntimeError):
                    expected = f"a scale with a mean-field fixed point for {name} (not 1.0)"
                    raise SettingError(f"scales[{i}]", s, expected) from None
        positive("clip_threshold", self.clip_threshold)
        positive("orthogonal_gain", self.orthogonal_gain)
        require(
            self.depth * abs(math.log(self.orthogonal_gain)) <= _common.LOG_RANGE,
            "orthogonal_gain",
            self.orthogonal_gain,
            f"a gain g with g**depth in [1e-100, 1e100] (depth = {self.depth})",
        )
        positive("learning_rate", self.learning_rate)


# ---------------------------------------------------------------------------------------------
# The steps, in the order of the page.
# ---------------------------------------------------------------------------------------------


def orthogonal_profile(settings: Settings) -> Array:
    """Gradient size against depth in a linear network of orthogonal matrices times a gain.

    Parameters
    ----------
    settings : Settings
        Uses ``width``, ``depth``, ``orthogonal_gain``, ``n_samples`` and the first of
        ``seeds``.

    Returns
    -------
    ndarray, shape (depth + 1,)
        Entry ``d``: the gradient's size after ``d`` layers relative to the output's, exactly
        ``orthogonal_gain ** d``.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=3, width=8, orthogonal_gain=2.0)
    >>> exploding_math.orthogonal_profile(settings).round(9).tolist()
    [1.0, 2.0, 4.0, 8.0]
    """
    seed = settings.seeds[0]
    net = diagnostics.random_mlp(
        settings.width,
        settings.depth,
        "identity",
        sigma_w=settings.orthogonal_gain,
        seed=seed,
        weights="orthogonal",
    )
    growth: Array = diagnostics.depth_profile(net, settings.n_samples, seed=seed)
    return growth


def relu_networks(settings: Settings, progress: Progress = no_progress) -> _common.DepthProfiles:
    r"""Gradient size against depth in deep ReLU networks, measured and predicted.

    ``_common.depth_profiles`` with every layer a ReLU layer and the progress label
    "ReLU networks"; the prediction is :math:`(s/\sqrt 2)^{d}` after :math:`d` layers
    (:func:`gradwatch.theory.relu_gradient_norms`). The fitted factor of the squared norm,
    ``squared_factors``, is to compare with :math:`s^2/2`.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=10, width=128, scales=[2.0], seeds=[0, 1])
    >>> profiles = exploding_math.relu_networks(settings)
    >>> abs(profiles.squared_factors[2.0] / 2.0 - 1) < 0.1  # s**2 / 2 = 2 per layer
    True
    >>> round(profiles.predicted[2.0][2].item(), 9)
    2.0
    """
    return _common.depth_profiles(
        settings, "relu", theory.relu_gradient_norms, progress, label="ReLU networks"
    )


def saturating_networks(
    settings: Settings, progress: Progress = no_progress
) -> dict[str, _common.DepthProfiles]:
    r"""Gradient size against depth in tanh and sigmoid networks at the scales of the ReLU ones.

    The same construction as :func:`relu_networks` (the same widths, depth, scales, seeds,
    inputs and output gradients, zero biases), with every layer a tanh or a sigmoid layer and
    the progress labels "tanh networks" and "sigmoid networks". The prediction is mean-field
    theory's :math:`\chi_1^{d/2}` after :math:`d` layers, with
    :math:`\chi_1 = s^2\, \mathbb E[g'(\sqrt{q^*} z)^2]` (:func:`gradwatch.theory.chi_1`):
    at most :math:`s^2/16` for the sigmoid, whose slope is at most 1/4, and below :math:`s^2`
    for tanh, whose slope falls where its units saturate.

    Returns
    -------
    dict of str to DepthProfiles
        ``{"tanh": ..., "sigmoid": ...}``.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=10, width=128, scales=[2.0], seeds=[0, 1])
    >>> profiles = exploding_math.saturating_networks(settings)
    >>> round(profiles["sigmoid"].squared_factors[2.0], 2), round(2.0**2 / 16, 2)
    (0.17, 0.25)
    """
    profiles = {}
    for name in SATURATING:

        def predict(depth: int, s: float, name: str = name) -> Array:
            return theory.predicted_gradient_norms(depth, theory.chi_1(name, s))

        profiles[name] = _common.depth_profiles(
            settings, name, predict, progress, label=f"{name} networks"
        )
    return profiles


@dataclass(frozen=True)
class LayerGradients:
    r"""One forward and backward pass per seed through the networks of the largest scale.

    Attributes
    ----------
    activation_rms : ndarray, shape (n_seeds, depth)
        RMS of the activations :math:`a^{(l)}` of every layer, :math:`l = 1, \dots, L`.
    delta_norms : ndarray, shape (n_seeds, depth)
        :math:`\lVert \partial J/\partial z^{(l)} \rVert` of every layer.
    weight_grad_norms : ndarray, shape (n_seeds, depth)
        :math:`\lVert \partial J/\partial W^{(l)} \rVert =
        \lVert a^{(l-1)\top} \partial J/\partial z^{(l)} \rVert` of every layer.
    slope_gain : float
        The largest, over seeds, layers and samples, of
        :math:`\lVert g'(z) \odot g \rVert / \lVert g \rVert`: how much the activation's slope
        alone ever grew a gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import exploding_math
    >>> ones = np.ones((1, 2))
    >>> exploding_math.LayerGradients(ones, ones, ones, 1.0).slope_gain
    1.0
    """

    activation_rms: Array
    delta_norms: Array
    weight_grad_norms: Array
    slope_gain: float


def layer_gradients(settings: Settings, activation: str) -> LayerGradients:
    r"""Activations, backpropagated gradients and weight gradients of every layer.

    For each seed, the network of :func:`relu_networks` at ``max(scales)`` with ``activation``
    at every layer, its inputs and its output gradient (``_common.normal_batches``, the same
    draws for every activation) pass through :func:`gradwatch.diagnostics.trace`.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=4, width=32, seeds=[0])
    >>> relu = exploding_math.layer_gradients(settings, "relu")
    >>> relu.weight_grad_norms.shape, relu.slope_gain <= 1
    ((1, 4), True)
    """
    rms, deltas, weights, gains = [], [], [], []
    for seed in settings.seeds:
        net = diagnostics.random_mlp(
            settings.width, settings.depth, activation, sigma_w=max(settings.scales), seed=seed
        )
        x, dy = _common.normal_batches(seed, settings.n_samples, settings.width)
        passed = diagnostics.trace(net, x, dy=dy)
        rms.append([float(np.sqrt(np.mean(a * a))) for a in passed.a])
        deltas.append([float(np.linalg.norm(dz)) for dz in passed.dz])
        weights.append([float(np.linalg.norm(dW)) for dW in passed.dW])
        for dz, da in zip(passed.dz, passed.da[1:], strict=True):
            gains.append(float(np.max(np.linalg.norm(dz, axis=1) / np.linalg.norm(da, axis=1))))
    return LayerGradients(np.asarray(rms), np.asarray(deltas), np.asarray(weights), max(gains))


def linear_same_weights(settings: Settings) -> Array:
    """Gradient size against depth with the weights of the largest scale, without the ReLU.

    Returns
    -------
    ndarray, shape (depth + 1,)
        As for the ReLU networks of :func:`relu_networks` at ``max(scales)``, with the same
        seeds (so the same weights), but linear layers.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=3, width=64, scales=[2.0], seeds=[0])
    >>> ratios = exploding_math.linear_same_weights(settings)
    >>> ratios.shape, bool(ratios[-1] > 4)
    ((4,), True)
    """
    ratios: Array = diagnostics.measured_gradient_norms(
        settings.depth,
        settings.width,
        max(settings.scales),
        "identity",
        seeds=settings.seeds,
        n_samples=settings.n_samples,
    )
    return ratios


@dataclass(frozen=True)
class Problem:
    """The exploding ReLU network ``net``, inputs ``x`` and targets ``y``, (n_samples, width) each.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> problem = exploding_math.exploding_problem(exploding_math.Settings(depth=2, width=4))
    >>> problem.x.shape, problem.net.sizes
    ((32, 4), [4, 4, 4])
    """

    net: MLP
    x: Array
    y: Array


def exploding_problem(settings: Settings) -> Problem:
    """Build the ReLU network of the largest scale, with standard normal inputs and targets.

    Parameters
    ----------
    settings : Settings
        Uses ``width``, ``depth``, ``scales``, ``n_samples`` and the first of ``seeds``.

    Returns
    -------
    Problem
        The network has the weights of the first seed's network at ``max(scales)`` in
        :func:`relu_networks`.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> problem = exploding_math.exploding_problem(exploding_math.Settings(depth=2, width=4))
    >>> problem.net.layers[0].activation.name, problem.y.shape
    ('relu', (32, 4))
    """
    seed = settings.seeds[0]
    net: MLP = diagnostics.random_mlp(
        settings.width, settings.depth, "relu", sigma_w=max(settings.scales), seed=seed
    )
    x, y = _common.normal_batches(seed, settings.n_samples, settings.width)
    return Problem(net, x, y)


@dataclass(frozen=True)
class Clipping:
    r"""Gradients before and after clipping by the global norm.

    Attributes
    ----------
    grads, clipped : list of ndarray
        The gradients of every parameter, before and after clipping.
    norm, norm_clipped : float
        Their global norms :math:`G` and :math:`\min(G, \theta)`.
    cosine : float
        The cosine between the two, as long vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import exploding_math
    >>> exploding_math.Clipping([np.ones(1)], [np.ones(1)], 1.0, 1.0, 1.0).cosine
    1.0
    """

    grads: list[Array]
    clipped: list[Array]
    norm: float
    norm_clipped: float
    cosine: float


def clip_gradients(problem: Problem, settings: Settings) -> Clipping:
    """Clip the gradients of a mean squared error by their global norm.

    Parameters
    ----------
    problem : Problem
        From :func:`exploding_problem`.
    settings : Settings
        Uses ``clip_threshold``.

    Returns
    -------
    Clipping

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=2, width=4, clip_threshold=1e-3)
    >>> clipping = exploding_math.clip_gradients(exploding_math.exploding_problem(settings),
    ...                                          settings)
    >>> round(clipping.norm_clipped, 9), round(clipping.cosine, 9)
    (0.001, 1.0)
    """
    _, buffers = problem.net.loss_and_grads(problem.x, problem.y, loss="mse")
    grads = [g.copy() for g in buffers]  # the network reuses its buffers at the next pass
    clipped, G = clip.clip_by_global_norm(grads, settings.clip_threshold)
    flat = np.concatenate([g.ravel() for g in grads])
    flat_clipped = np.concatenate([g.ravel() for g in clipped])
    cosine = float(flat @ flat_clipped / (np.linalg.norm(flat) * np.linalg.norm(flat_clipped)))
    return Clipping(grads, clipped, G, clip.global_norm(clipped), cosine)


@dataclass(frozen=True)
class Step:
    r"""One step of gradient descent with the clipped gradient.

    Attributes
    ----------
    length : float
        The global norm of the change of the parameters, :math:`\eta \min(G, \theta)`.
    norm_next : float
        The global norm of the gradient at the new parameters.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> exploding_math.Step(0.01, 5.0).length
    0.01
    """

    length: float
    norm_next: float


def clipped_step(problem: Problem, clipping: Clipping, settings: Settings) -> Step:
    """Take one step of gradient descent with the clipped gradient, in place.

    Parameters
    ----------
    problem : Problem
        From :func:`exploding_problem`; its network's parameters are updated.
    clipping : Clipping
        From :func:`clip_gradients` on the same problem.
    settings : Settings
        Uses ``learning_rate``.

    Returns
    -------
    Step

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=2, width=4, clip_threshold=1e-3,
    ...                                    learning_rate=0.5)
    >>> problem = exploding_math.exploding_problem(settings)
    >>> step = exploding_math.clipped_step(
    ...     problem, exploding_math.clip_gradients(problem, settings), settings)
    >>> round(step.length, 9)
    0.0005
    """
    params = problem.net.params()
    before = [p.copy() for p in params]
    optim.SGD(lr=settings.learning_rate).step(params, clipping.clipped)
    length = clip.global_norm([p - b for p, b in zip(params, before, strict=True)])
    _, grads_next = problem.net.loss_and_grads(problem.x, problem.y, loss="mse")
    return Step(length, clip.global_norm(grads_next))


# ---------------------------------------------------------------------------------------------
# The numbers, the figure and the whole run.
# ---------------------------------------------------------------------------------------------


def _nearest(scales: list[float], target: float) -> float:
    """Return the scale of ``scales`` nearest to ``target``."""
    return min(scales, key=lambda s: abs(s - target))


def summarise(
    settings: Settings,
    growth: Array,
    relu: _common.DepthProfiles,
    saturating: dict[str, _common.DepthProfiles],
    layers: dict[str, LayerGradients],
    linear_high: Array,
    clipping: Clipping,
    step: Step,
) -> dict[str, Any]:
    r"""Turn the steps' results into the numbers of the page, JSON-ready.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`orthogonal_profile`, :func:`relu_networks`, :func:`saturating_networks`,
    :func:`layer_gradients` (by activation: ``"relu"`` and each of :data:`SATURATING`),
    :func:`linear_same_weights`, :func:`clip_gradients` and :func:`clipped_step`.

    Returns
    -------
    dict
        ``depth``, ``width``, ``n_seeds``; ``orthogonal`` (``gain`` and ``growth``, the ratio at
        the input); ``relu`` (the smallest and the largest scale ``s_low``, ``s_high``; the
        fitted per-layer factors of the squared norm ``chi_low``, ``chi_he`` (at the scale
        nearest :math:`\sqrt 2`), ``chi_high`` and the predictions ``chi_low_theory``,
        ``chi_high_theory``; the ratios at the input at the largest scale with the ReLU,
        ``end_high``, and without, ``end_linear_high``; ``scales``, ``chi``, ``chi_theory`` and
        ``measured``, one entry per scale); ``baseline``: ReLU against tanh and sigmoid at the
        same scales (per activation, ``chi`` and ``chi_theory`` per scale, ``chi_low`` and
        ``chi_high`` at the smallest and the largest, ``end_low`` and
        ``end_high``, the ratios at the input at the smallest and the largest scale, and at the
        largest scale the last layer's weight-gradient norm ``dW_last``, backpropagated
        gradient norm ``delta_last`` and input RMS ``a_last``, means over the seeds, and
        ``slope_gain``, the most the slope alone grew a gradient; ``theory_error_percent``, the
        largest error of the tanh and sigmoid factors against mean-field theory;
        ``sigmoid_bound``, :math:`s^2/16` at the largest scale; ``dW_ratio_min`` and
        ``dW_ratio_max``, ReLU's last-layer weight gradient over tanh's over the seeds (and
        ``dW_ratio_range``, the two in words), and
        ``delta_ratio``, the same for the backpropagated gradient); ``clip`` (``theta``, the
        global norm ``norm`` before and ``norm_clipped`` after clipping, ``cosine``, ``lr``,
        the ``step`` length and the global norm ``norm_next`` at the new weights).

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=4, width=16, seeds=[0])
    >>> problem = exploding_math.exploding_problem(settings)
    >>> clipping = exploding_math.clip_gradients(problem, settings)
    >>> numbers = exploding_math.summarise(
    ...     settings,
    ...     exploding_math.orthogonal_profile(settings),
    ...     exploding_math.relu_networks(settings),
    ...     exploding_math.saturating_networks(settings),
    ...     {name: exploding_math.layer_gradients(settings, name)
    ...      for name in ("relu", "tanh", "sigmoid")},
    ...     exploding_math.linear_same_weights(settings),
    ...     clipping,
    ...     exploding_math.clipped_step(problem, clipping, settings),
    ... )
    >>> round(numbers["orthogonal"]["growth"], 4), numbers["relu"]["chi_high_theory"]
    (1.4641, 1.445)
    """
    scales = settings.scales
    low, high = min(scales), max(scales)
    chi = relu.squared_factors
    profiles = {"relu": relu, **saturating}
    errors = [
        abs(profiles[name].squared_factors[sc] / theory.chi_1(name, sc) - 1)
        for name in SATURATING
        for sc in scales
    ]
    dW_ratios = layers["relu"].weight_grad_norms[:, -1] / layers["tanh"].weight_grad_norms[:, -1]
    delta_ratios = layers["relu"].delta_norms[:, -1] / layers["tanh"].delta_norms[:, -1]
    baseline: dict[str, Any] = {
        name: {
            "chi": [profiles[name].squared_factors[sc] for sc in scales],
            "chi_low": profiles[name].squared_factors[low],
            "chi_high": profiles[name].squared_factors[high],
            "chi_theory": [float(profiles[name].predicted[sc][2]) for sc in scales],
            "end_low": float(profiles[name].measured[low][-1]),
            "end_high": float(profiles[name].measured[high][-1]),
            "dW_last": float(np.mean(layers[name].weight_grad_norms[:, -1])),
            "delta_last": float(np.mean(layers[name].delta_norms[:, -1])),
            "a_last": float(np.mean(layers[name].activation_rms[:, -2])),
            "slope_gain": layers[name].slope_gain,
        }
        for name in profiles
    }
    baseline.update(
        {
            "theory_error_percent": 100 * max(errors),
            "sigmoid_bound": high * high / 16,
            "dW_ratio_min": float(dW_ratios.min()),
            "dW_ratio_max": float(dW_ratios.max()),
            "dW_ratio_range": _common.range_text(float(dW_ratios.min()), float(dW_ratios.max())),
            "delta_ratio": float(np.mean(delta_ratios)),
        }
    )
    return {
        "baseline": baseline,
        "depth": settings.depth,
        "width": settings.width,
        "n_seeds": len(settings.seeds),
        "orthogonal": {"gain": settings.orthogonal_gain, "growth": float(growth[-1])},
        "relu": {
            "s_low": low,
            "s_high": high,
            "chi_low": chi[low],
            "chi_low_theory": low * low / 2,
            "chi_he": chi[_nearest(scales, HE_SCALE)],
            "chi_high": chi[high],
            "chi_high_theory": high * high / 2,
            "end_high": float(relu.measured[high][-1]),
            "end_linear_high": float(linear_high[-1]),
            "scales": list(scales),
            "chi": [chi[s] for s in scales],
            "chi_theory": [s * s / 2 for s in scales],
            "measured": [relu.measured[s].tolist() for s in scales],
        },
        "clip": {
            "theta": settings.clip_threshold,
            "norm": clipping.norm,
            "norm_clipped": clipping.norm_clipped,
            "cosine": clipping.cosine,
            "lr": settings.learning_rate,
            "step": step.length,
            "norm_next": step.norm_next,
        },
    }


def figure_relu_scale(settings: Settings, relu: _common.DepthProfiles) -> Any:
    """Draw :func:`relu_networks`, points measured and lines predicted, titled by the width.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=3, width=8, seeds=[0])
    >>> fig = exploding_math.figure_relu_scale(settings, exploding_math.relu_networks(settings))
    >>> fig.axes[0].get_title()
    'ReLU networks, width 8'
    """
    return _common.figure_depth_profiles(relu, title=f"ReLU networks, width {settings.width}")


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: the networks against depth, then clipping; the figure is ``relu_scale``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> from gradwatch.experiments import exploding_math
    >>> settings = exploding_math.Settings(depth=3, width=8, seeds=[0])
    >>> sorted(exploding_math.run(settings).figures)
    ['relu_scale']
    """
    growth = orthogonal_profile(settings)
    relu = relu_networks(settings, progress)
    saturating = saturating_networks(settings, progress)
    layers = {name: layer_gradients(settings, name) for name in ("relu", *SATURATING)}
    linear_high = linear_same_weights(settings)
    problem = exploding_problem(settings)
    clipping = clip_gradients(problem, settings)
    step = clipped_step(problem, clipping, settings)
    progress("clipping", 1, 1)
    numbers = summarise(settings, growth, relu, saturating, layers, linear_high, clipping, step)
    if not figures:
        return Result(numbers=numbers)
    return Result(numbers=numbers, figures={"relu_scale": figure_relu_scale(settings, relu)})
