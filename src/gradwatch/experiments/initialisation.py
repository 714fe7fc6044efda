r"""Initialisation: the weight scale that keeps activations and gradients stable with depth.

The experiment of the page ``docs/initialisation.md``. With independent zero-mean weights of
variance :math:`\operatorname{Var}(W)`, each layer multiplies the variance of the activations
(forward) and of the backpropagated gradients (backward) by a factor; after :math:`L` layers
the variance has changed by that factor to the power :math:`L`. The experiment

1. predicts the factor of a naive draw :math:`\mathcal N(0, \text{naive\_std}^2)`, of Xavier
   (``xavier_normal``) and of He (``he_normal``) for each activation (:func:`variance_gains`);
2. measures it in ``depth`` identical random layers (:func:`init_statistics`), keeping every
   layer's activations and gradients for the histograms;
3. trains one deep network per activation and initialisation on the same regression
   (:func:`init_training`), to show which of them learn.

Examples
--------
>>> from gradwatch.experiments import initialisation
>>> settings = initialisation.Settings(width=32, depth=4, n_samples=64, histogram_layers=[1, 4],
...                                    train_width=8, train_samples=32, steps=5, batch_size=16)
>>> result = initialisation.run(settings, figures=False)
>>> result.numbers["gain"]["relu_he"], sorted(result.numbers["final"])[:2]
(1.0, ['relu_he', 'relu_naive'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import activations, diagnostics, init, plotting, theory
from gradwatch._validation import Array, make_rng
from gradwatch.experiments import Progress, Result, _common, no_progress

# isort: split
from gradwatch.experiments import at_least, at_most, between, non_negative, positive

# isort: split
from gradwatch.experiments import activation, distinct, require
from gradwatch.network import MLP
from gradwatch.optim import SGD
from gradwatch.training import History, train

#: Steps at the end of each training run whose losses are averaged into ``final``.
TAIL_STEPS = 20

#: Largest number of decades by which a variance may change over the depth; beyond it the
#: variances of float64 underflow to zero or overflow and the factors cannot be fitted.
_MAX_DECADES = 250.0


def _factors(name: str) -> tuple[float, float] | None:
    """``get(name).variance_factors()``, or None if ``name`` has no closed-form factors."""
    try:
        return activations.get(name).variance_factors()
    except ValueError:
        return None


@dataclass(frozen=True)
class Settings:
    r"""Settings of the initialisation experiment (``conf/initialisation.toml``).

    Attributes
    ----------
    activations : list of str
        Activations compared, each with closed-form variance factors
        (:meth:`gradwatch.activations.Activation.variance_factors`): tanh, ReLU, ...
    naive_std : float
        Standard deviation of the naive draw :math:`W \sim \mathcal N(0, \text{std}^2)`,
        whatever the width.
    width, depth, n_samples : int
        The measured networks: ``depth`` (at least 2) identical layers of ``width`` units, fed
        ``n_samples`` standard-normal inputs.
    histogram_layers : list of int
        Layers drawn in the histograms, numbered from 1 to ``depth``.
    seed : int
        Seed of the inputs, the weights and the mini-batches.
    train_width, train_samples : int
        Width of the trained networks (``depth`` hidden layers and a linear output) and size of
        their training set.
    lr, momentum : float
        SGD's learning rate (positive) and momentum (in [0, 1)).
    steps, batch_size : int
        Training steps and mini-batch size (at most ``train_samples``).

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> initialisation.Settings(depth=1)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'depth' = 1: expected a number >= 2
    """

    activations: list[str] = field(default_factory=lambda: ["tanh", "relu"])
    naive_std: float = 0.01
    width: int = 256
    depth: int = 10
    n_samples: int = 256
    histogram_layers: list[int] = field(default_factory=lambda: [1, 3, 5, 7, 10])
    seed: int = 0
    train_width: int = 64
    train_samples: int = 256
    lr: float = 0.01
    momentum: float = 0.9
    steps: int = 120
    batch_size: int = 32

    def __post_init__(self) -> None:
        activation("activations", self.activations)
        for i, name in enumerate(self.activations):
            require(
                _factors(name) is not None,
                f"activations[{i}]",
                name,
                "an activation with closed-form variance factors (g(0) = 0), e.g. tanh or relu",
            )
        distinct("activations", self.activations)
        positive("naive_std", self.naive_std)
        positive("width", self.width)
        at_least("depth", self.depth, 2)
        positive("n_samples", self.n_samples)
        between("histogram_layers", self.histogram_layers, 1, self.depth)
        non_negative("seed", self.seed)
        positive("train_width", self.train_width)
        positive("train_samples", self.train_samples)
        positive("lr", self.lr)
        require(0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        positive("steps", self.steps)
        positive("batch_size", self.batch_size)
        at_most("batch_size", self.batch_size, self.train_samples, limit="train_samples")
        # Every predicted factor, to the power depth, must stay within float64's range.
        decades = max(
            abs(math.log10(forward * self.width * variance))
            for name in self.activations
            for forward, _ in [activations.get(name).variance_factors()]
            for variance in (self.naive_std**2, 1 / self.width, 2 / self.width)
        )
        deepest = int(_MAX_DECADES / decades) if decades > 0 else self.depth
        require(
            self.depth <= deepest,
            "depth",
            self.depth,
            f"at most {deepest} with naive_std = {self.naive_std:g} and width = {self.width} "
            "(deeper, the variances leave float64's range)",
        )


def initialisations(settings: Settings) -> dict[str, Any]:
    r"""Return the three initialisations compared, by label.

    Returns
    -------
    dict of str to initialiser
        ``"N(0, std²)"`` (a normal draw of standard deviation ``settings.naive_std``),
        ``"Xavier"`` (``xavier_normal``) and ``"He"`` (``he_normal``).

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> list(initialisation.initialisations(initialisation.Settings(naive_std=0.05)))
    ['N(0, 0.05²)', 'Xavier', 'He']
    """
    return {
        f"N(0, {settings.naive_std:g}²)": init.get("normal", std=float(settings.naive_std)),
        "Xavier": "xavier_normal",
        "He": "he_normal",
    }


def key(activation: str, label: str) -> str:
    """Short name of one network in the numbers: ``"tanh_naive"``, ``"relu_he"``, ...

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> initialisation.key("relu", "Xavier"), initialisation.key("tanh", "N(0, 0.01²)")
    ('relu_xavier', 'tanh_naive')
    """
    short = {"Xavier": "xavier", "He": "he"}.get(label, "naive")
    return f"{activation}_{short}"


def weight_variances(settings: Settings) -> dict[str, float]:
    r""":math:`\operatorname{Var}(W)` of each initialisation for the ``width``-wide layers.

    Every layer has ``width`` inputs and outputs, so Xavier's :math:`2/(n_\text{in} +
    n_\text{out})` equals LeCun's :math:`1/n_\text{in}`; He's is :math:`2/n_\text{in}`.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> initialisation.weight_variances(initialisation.Settings(width=100))
    {'N(0, 0.01²)': 0.0001, 'Xavier': 0.01, 'He': 0.02}
    """
    naive = next(iter(initialisations(settings)))
    width = settings.width
    return {naive: settings.naive_std**2, "Xavier": 2 / (width + width), "He": 2 / width}


def variance_gains(
    activation: str, n_in: int, n_out: int, weight_variance: float
) -> tuple[float, float]:
    r"""Per-layer factors of the forward and the backward variance predicted for an initialisation.

    With independent zero-mean weights of variance :math:`\operatorname{Var}(W)`,

    .. math::

        \operatorname{Var}(z^{(l)}) = n_\text{in} \operatorname{Var}(W)\, E[(a^{(l-1)})^2],
        \qquad
        \operatorname{Var}\Big(\frac{\partial L}{\partial a^{(l-1)}}\Big)
        = n_\text{out} \operatorname{Var}(W)
        \operatorname{Var}\Big(\frac{\partial L}{\partial z^{(l)}}\Big),

    and the activation multiplies the first by :math:`c = E[g(z)^2]/\operatorname{Var}(z)` and
    the second by :math:`E[g'(z)^2]`
    (:meth:`gradwatch.activations.Activation.variance_factors`: both 1 for tanh near zero, 1/2
    for ReLU).

    Parameters
    ----------
    activation : str
        An activation with closed-form variance factors (identity, tanh, ReLU, ...).
    n_in, n_out : int
        Fans of the weight matrix.
    weight_variance : float
        :math:`\operatorname{Var}(W)`.

    Returns
    -------
    forward, backward : float
        :math:`c\, n_\text{in} \operatorname{Var}(W)` and
        :math:`E[g'^2]\, n_\text{out} \operatorname{Var}(W)`: 1 each means the variance is kept.

    Raises
    ------
    ValueError
        For an activation without closed-form factors, a fan below 1 or a variance that is not
        positive.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> initialisation.variance_gains("relu", 256, 256, 2 / 256)      # He
    (1.0, 1.0)
    >>> initialisation.variance_gains("tanh", 256, 256, 0.01 ** 2)    # std 0.01
    (0.0256, 0.0256)
    """
    factors = _factors(activation)
    if factors is None:
        raise ValueError(
            f"activation {activation!r} has no closed-form variance factors; "
            "expected one with g(0) = 0, e.g. tanh or relu"
        )
    fans: tuple[object, object] = (n_in, n_out)
    for name, value in zip(("n_in", "n_out"), fans, strict=True):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not np.isfinite(weight_variance) or weight_variance <= 0:
        raise ValueError(f"weight_variance must be positive, got {weight_variance!r}")
    forward, backward = factors
    return (
        round(forward * int(n_in) * float(weight_variance), 12),
        round(backward * int(n_out) * float(weight_variance), 12),
    )


def predicted_gains(settings: Settings) -> dict[tuple[str, str], tuple[float, float]]:
    """Predicted ``(forward, backward)`` factors, by ``(activation, initialisation label)``.

    :func:`variance_gains` for the ``width``-wide layers and :func:`weight_variances`.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> gains = initialisation.predicted_gains(initialisation.Settings())
    >>> gains[("relu", "Xavier")], gains[("tanh", "He")]
    ((0.5, 0.5), (2.0, 2.0))
    """
    width = settings.width
    return {
        (name, label): variance_gains(name, width, width, variance)
        for name in settings.activations
        for label, variance in weight_variances(settings).items()
    }


@dataclass(frozen=True, eq=False)
class InitStatistics:
    r"""Activations and backpropagated gradients of every layer of one random network.

    Attributes
    ----------
    activations : list of ndarray, shape (n_samples, width) each
        :math:`a^{(l)}`, first layer first.
    gradients : list of ndarray, shape (n_samples, width) each
        :math:`\partial L/\partial z^{(l)}`, first layer first.
    act_var, grad_var : ndarray, shape (depth,)
        Variance over samples and units of each layer's activations and gradients.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import initialisation
    >>> s = initialisation.InitStatistics([], [], np.array([1.0, 0.5]), np.array([0.25, 1.0]))
    >>> s.act_ratios.tolist(), s.grad_ratios.tolist()
    ([0.5], [0.25])
    """

    activations: list[Array]
    gradients: list[Array]
    act_var: Array
    grad_var: Array

    @property
    def act_ratios(self) -> Array:
        """``act_var[l] / act_var[l - 1]``: the measured per-layer factor, shape (depth - 1,)."""
        return np.asarray(self.act_var[1:] / self.act_var[:-1])

    @property
    def grad_ratios(self) -> Array:
        """``grad_var[l - 1] / grad_var[l]``: factor per layer crossed backwards, (depth - 1,)."""
        return np.asarray(self.grad_var[:-1] / self.grad_var[1:])


def init_statistics(
    settings: Settings, inits: dict[str, Any]
) -> dict[str, dict[str, InitStatistics]]:
    r"""Per-layer activations and gradients of deep random networks, by activation and init.

    Each network is ``MLP([width] * (depth + 1), activation, output_activation=activation,
    init=...)`` from ``seed``: ``depth`` identical layers. The input is
    :math:`x \sim \mathcal N(0, I)`, shape ``(n_samples, width)``, and the gradient arriving at
    the last layer's output a standard normal draw, both from ``seed``: what is measured is how
    the network itself scales the two signals, whatever the loss.

    Parameters
    ----------
    settings : Settings
        ``activations``, ``width``, ``depth``, ``n_samples`` and ``seed``.
    inits : dict of str to initialiser
        Label to anything :class:`gradwatch.MLP` accepts as ``init``.

    Returns
    -------
    dict of str to dict of str to InitStatistics
        ``result[activation][label]``.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(activations=["relu"], width=64, depth=4,
    ...                                    histogram_layers=[1, 4])
    >>> stats = initialisation.init_statistics(settings, {"He": "he_normal"})
    >>> stats["relu"]["He"].act_var.shape, len(stats["relu"]["He"].gradients)
    ((4,), 4)
    """
    x, dy = _common.normal_batches(settings.seed, settings.n_samples, settings.width)
    result: dict[str, dict[str, InitStatistics]] = {}
    for name in settings.activations:
        result[name] = {}
        for label, weights in inits.items():
            net = MLP(
                [settings.width] * (settings.depth + 1),
                activation=name,
                output_activation=name,
                init=weights,
                seed=settings.seed,
            )
            # Forward: keep every layer's pre-activations z and activations a = g(z).
            zs: list[Array] = []
            outputs: list[Array] = []
            a: Array = x
            for layer in net.layers:
                z: Array = a @ layer.W + layer.b
                a = layer.activation(z)
                zs.append(z)
                outputs.append(a)
            # Backward from the last layer: dL/dz = g'(z) dL/da, then dL/da_prev = dL/dz W^T.
            grads: list[Array] = []
            grad: Array = dy
            for layer, z in zip(reversed(net.layers), reversed(zs), strict=True):
                delta = grad * layer.activation.derivative(z)
                grads.append(delta)
                grad = delta @ layer.W.T
            grads.reverse()
            result[name][label] = InitStatistics(
                activations=outputs,
                gradients=grads,
                act_var=np.asarray([float(np.var(a)) for a in outputs]),
                grad_var=np.asarray([float(np.var(g)) for g in grads]),
            )
    return result


def init_training(settings: Settings, inits: dict[str, Any]) -> dict[str, History]:
    r"""Train one deep network per activation and initialisation on the same regression task.

    The task is :math:`y = \sin(x v)`, :math:`x \sim \mathcal N(0, I)` of shape
    ``(train_samples, train_width)`` and :math:`v \sim \mathcal N(0, I/\text{train\_width})`,
    drawn from ``seed``. Each network is ``MLP([train_width] * (depth + 1) + [1], activation,
    init=...)`` from ``seed`` (``depth`` hidden layers and a linear output), trained by
    :func:`gradwatch.train` with ``SGD(lr, momentum)`` on mini-batches of ``batch_size``.

    Parameters
    ----------
    settings : Settings
    inits : dict of str to initialiser

    Returns
    -------
    dict of str to History
        Keyed ``"<activation>, <label>"``, activations outer, initialisations inner.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(activations=["tanh"], train_width=8, depth=3,
    ...     histogram_layers=[1], train_samples=32, steps=5, batch_size=16)
    >>> runs = initialisation.init_training(settings, {"Xavier": "xavier_normal"})
    >>> list(runs), runs["tanh, Xavier"].steps
    (['tanh, Xavier'], 5)
    """
    width = settings.train_width
    rng = make_rng(settings.seed, "seed")
    x = rng.standard_normal((settings.train_samples, width))
    y = np.sin(x @ (rng.standard_normal((width, 1)) / np.sqrt(width)))
    runs: dict[str, History] = {}
    for name in settings.activations:
        for label, weights in inits.items():
            net = MLP(
                [width] * (settings.depth + 1) + [1],
                activation=name,
                init=weights,
                seed=settings.seed,
            )
            runs[f"{name}, {label}"] = train(
                net,
                x,
                y,
                optimizer=SGD(lr=settings.lr, momentum=settings.momentum),
                steps=settings.steps,
                batch_size=settings.batch_size,
                seed=settings.seed,
                progress=False,
            )
    return runs


def _listed_networks(keys: list[str]) -> str:
    """Name networks in words: ``["tanh_xavier", "tanh_he"]`` -> "tanh with Xavier and ..."."""
    names = [
        k.replace("_naive", " with the naive draw")
        .replace("_xavier", " with Xavier")
        .replace("_he", " with He")
        for k in keys
    ]
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def summarise(
    settings: Settings,
    predicted: dict[tuple[str, str], tuple[float, float]],
    stats: dict[str, dict[str, InitStatistics]],
    runs: dict[str, History],
) -> dict[str, Any]:
    """Turn the steps' results into the numbers the page quotes, keyed as :func:`key` names them.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`predicted_gains`, :func:`init_statistics` and :func:`init_training`.

    Returns
    -------
    dict
        The settings the prose quotes (``width``, ``depth``, ``naive_std``, ``train_width``,
        ``steps``, ``lr``, ``momentum``) and ``tail_steps``; then, by network:

        - ``gain``: the predicted per-layer factor (forward and backward are equal here);
        - ``act_factor``, ``grad_factor``: per-layer factors fitted to the measured variances
          of the activations (from layer 1 on) and of the gradients (from the last layer
          towards the input);
        - ``act_drop``: last layer's activation variance over the first's;
        - ``act_spread``: largest deviation, in per cent, of a layer's activation variance
          from the first layer's; ``step_first``, ``step_last``: the first and the last
          measured per-layer ratio of the activation variance;
        - ``grad_drop``: first layer's gradient variance over the last's;
        - ``linear_act_drop``, ``mf_act_drop``, ``mf_grad_drop``: the drops that the linear
          regime (``gain`` to the power ``depth - 1``) and mean field
          (:func:`gradwatch.theory.mean_field_layers`) predict; ``mf_act_factor``,
          ``mf_grad_factor``: the
          per-layer factors fitted to mean field's variances, as to the measured ones;
        - ``weight_spread``: largest over smallest weight-gradient norm of layers 2 to
          ``depth``; ``linear_fails``: the networks, in words, whose measured factor is 10 %
          or more from the linear-regime ``gain``;
        - ``first_loss``, ``final``: each run's first mini-batch loss and its mean over the
          last ``tail_steps`` steps; ``diverged``.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(activations=["relu"], width=64, depth=4,
    ...     histogram_layers=[1], train_width=8, train_samples=32, steps=5, batch_size=16)
    >>> inits = initialisation.initialisations(settings)
    >>> numbers = initialisation.summarise(
    ...     settings, initialisation.predicted_gains(settings),
    ...     initialisation.init_statistics(settings, inits),
    ...     initialisation.init_training(settings, inits))
    >>> numbers["gain"], numbers["tail_steps"]
    ({'relu_naive': 0.0032, 'relu_xavier': 0.5, 'relu_he': 1.0}, 5)
    """
    tail = min(TAIL_STEPS, settings.steps)
    act_factor, grad_factor, act_drop, act_spread = {}, {}, {}, {}
    grad_drop, mf_act_drop, mf_grad_drop, linear_act_drop, weight_spread = {}, {}, {}, {}, {}
    mf_act_factor, mf_grad_factor, step_first, step_last = {}, {}, {}, {}
    variances = weight_variances(settings)
    for name, by_init in stats.items():
        for label, s in by_init.items():
            k = key(name, label)
            act_factor[k] = diagnostics.fit_per_layer_factor(s.act_var / s.act_var[0])
            grad_factor[k] = diagnostics.fit_per_layer_factor(s.grad_var[::-1] / s.grad_var[-1])
            act_drop[k] = float(s.act_var[-1] / s.act_var[0])
            act_spread[k] = 100 * float(np.max(np.abs(s.act_var / s.act_var[0] - 1)))
            step_first[k], step_last[k] = float(s.act_ratios[0]), float(s.act_ratios[-1])
            grad_drop[k] = float(s.grad_var[0] / s.grad_var[-1])
            linear_act_drop[k] = predicted[(name, label)][0] ** (settings.depth - 1)
            mean_field = theory.mean_field_layers(
                name, math.sqrt(settings.width * variances[label]), settings.depth
            )
            mf_act_drop[k] = float(mean_field.act_var[-1] / mean_field.act_var[0])
            mf_grad_drop[k] = float(np.prod(mean_field.chi[:-1]))
            mf_act_factor[k] = diagnostics.fit_per_layer_factor(
                mean_field.act_var / mean_field.act_var[0]
            )
            mf_grad_factor[k] = diagnostics.fit_per_layer_factor(
                np.concatenate([[1.0], np.cumprod(mean_field.chi[-2::-1])])
            )
            # Weight gradients dW = a^(l-1)^T dL/dz^(l) of layers 2..depth (layer 1's input,
            # the data, is not kept): largest norm over smallest.
            norms = [
                float(np.linalg.norm(a.T @ g))
                for a, g in zip(s.activations[:-1], s.gradients[1:], strict=True)
            ]
            weight_spread[k] = max(norms) / min(norms)
    by_key = {key(*label.split(", ", 1)): history for label, history in runs.items()}
    return {
        "width": settings.width,
        "depth": settings.depth,
        "naive_std": settings.naive_std,
        "train_width": settings.train_width,
        "steps": settings.steps,
        "lr": settings.lr,
        "momentum": settings.momentum,
        "tail_steps": tail,
        "gain": {key(name, label): forward for (name, label), (forward, _) in predicted.items()},
        "act_factor": act_factor,
        "grad_factor": grad_factor,
        "act_drop": act_drop,
        "act_spread": act_spread,
        "step_first": step_first,
        "step_last": step_last,
        "grad_drop": grad_drop,
        "linear_act_drop": linear_act_drop,
        "mf_act_drop": mf_act_drop,
        "mf_grad_drop": mf_grad_drop,
        "mf_act_factor": mf_act_factor,
        "mf_grad_factor": mf_grad_factor,
        "weight_spread": weight_spread,
        "linear_fails": _listed_networks(
            [
                k
                for (name, label), (gain, _) in predicted.items()
                if abs(act_factor[k := key(name, label)] / gain - 1) >= 0.1
            ]
        ),
        "first_loss": {k: float(h.loss[0]) for k, h in by_key.items()},
        "final": {k: float(np.mean(h.loss[-tail:])) for k, h in by_key.items()},
        "diverged": {k: bool(h.diverged) for k, h in by_key.items()},
    }


def histogram_grid(
    values: dict[str, dict[str, list[Array]]],
    layers: list[int],
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
    values : dict of str to dict of str to list of ndarray
        ``values[row][column][l]`` holds layer ``l + 1``'s values (any shape; flattened).
    layers : list of int
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
    >>> from gradwatch.experiments import initialisation
    >>> data = {"tanh": {"a": [np.zeros(4), np.ones(4)], "b": [np.ones(4), np.ones(4)]}}
    >>> fig = initialisation.histogram_grid(data, [1, 2], xlabel="a")
    >>> len(fig.axes), fig.axes[1].get_title()
    (2, 'tanh, b')
    """
    rows = list(values)
    if not rows or not layers:
        raise ValueError("values and layers must not be empty")
    columns = list(values[rows[0]])
    fig, axes = plotting.figure(
        len(rows),
        len(columns),
        width=panel_size[0] * len(columns),
        height=panel_size[1] * len(rows) + 0.4,
        squeeze=False,
    )
    layer_labels = [f"layer {layer}" for layer in layers]
    with plotting.style():
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                ax = axes[i, j]
                per_layer = values[row][column]
                if min(layers) < 1 or max(layers) > len(per_layer):
                    raise ValueError(f"layers must lie in 1..{len(per_layer)}, got {list(layers)}")
                flat = [np.ravel(np.asarray(per_layer[k - 1], dtype=float)) for k in layers]
                high = max(float(np.max(np.abs(v))) for v in flat) or 1.0
                low = -high if symmetric else min(float(v.min()) for v in flat)
                plotting.layer_histograms(
                    ax, flat, layer_labels, value_range=(low, high), bins=bins, lw=1.4
                )
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


def figure_activation_histograms(
    settings: Settings, stats: dict[str, dict[str, InitStatistics]]
) -> Any:
    """Histograms of the activations of ``settings.histogram_layers``, one panel per network.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(width=16, depth=3, n_samples=8, histogram_layers=[1, 3])
    >>> stats = initialisation.init_statistics(settings, initialisation.initialisations(settings))
    >>> fig = initialisation.figure_activation_histograms(settings, stats)
    >>> len(fig.axes), fig.axes[-1].get_xlabel()
    (6, 'activation $a$')
    """
    return histogram_grid(
        {a: {k: s.activations for k, s in d.items()} for a, d in stats.items()},
        settings.histogram_layers,
        xlabel="activation $a$",
    )


def figure_gradient_histograms(
    settings: Settings, stats: dict[str, dict[str, InitStatistics]]
) -> Any:
    r"""Histograms of the backpropagated gradients :math:`\partial L/\partial z`, bins about 0.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(width=16, depth=3, n_samples=8, histogram_layers=[1, 3])
    >>> stats = initialisation.init_statistics(settings, initialisation.initialisations(settings))
    >>> fig = initialisation.figure_gradient_histograms(settings, stats)
    >>> low, high = fig.axes[0].get_xlim()
    >>> bool(abs(low + high) < 1e-9 * (high - low))
    True
    """
    return histogram_grid(
        {a: {k: s.gradients for k, s in d.items()} for a, d in stats.items()},
        settings.histogram_layers,
        xlabel=r"backpropagated gradient $\partial L/\partial z$",
        symmetric=True,
    )


def figure_variances(stats: dict[str, dict[str, InitStatistics]]) -> Any:
    """Variance of the activations (left) and of the gradients (right) against the layer.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(width=16, depth=3, n_samples=8, histogram_layers=[1])
    >>> stats = initialisation.init_statistics(settings, initialisation.initialisations(settings))
    >>> fig = initialisation.figure_variances(stats)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['Var(activations)', 'Var(backpropagated gradient)']
    >>> sorted({line.get_linestyle() for line in fig.axes[0].get_lines()})
    ['-', '--']
    """
    fig, axes = plotting.figure(1, 2, width=10.0, height=4.0)
    plotting.line_by_layer(
        {f"{a}, {k}": s.act_var for a, d in stats.items() for k, s in d.items()},
        ylabel="Var(activations)",
        ax=axes[0],
    )
    plotting.line_by_layer(
        {f"{a}, {k}": s.grad_var for a, d in stats.items() for k, s in d.items()},
        ylabel="Var(backpropagated gradient)",
        ax=axes[1],
    )
    axes[1].get_legend().remove()  # the same lines as on the left
    # One line style per activation, so that lines of equal slope stay apart (the naive tanh
    # and ReLU lines run close together).
    first = next(iter(stats))
    for ax in axes:
        for line in ax.get_lines():
            if not str(line.get_label()).startswith(first):
                line.set_linestyle("--")
                line.set_marker("s")
                line.set_markersize(5)
    axes[0].legend()
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: predict, measure, then train.

    The figures are ``activation_histograms``, ``gradient_histograms``, ``variances`` and
    ``training``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> from gradwatch.experiments import initialisation
    >>> settings = initialisation.Settings(activations=["relu"], width=16, depth=3, n_samples=8,
    ...     histogram_layers=[1], train_width=8, train_samples=16, steps=3, batch_size=8)
    >>> sorted(initialisation.run(settings).figures)
    ['activation_histograms', 'gradient_histograms', 'training', 'variances']
    """
    inits = initialisations(settings)
    predicted = predicted_gains(settings)
    stats = init_statistics(settings, inits)
    progress("initialisation", 1, 2)
    runs = init_training(settings, inits)
    progress("initialisation", 2, 2)
    numbers = summarise(settings, predicted, stats, runs)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "activation_histograms": figure_activation_histograms(settings, stats),
            "gradient_histograms": figure_gradient_histograms(settings, stats),
            "variances": figure_variances(stats),
            "training": plotting.training_curves(runs),
        },
    )
