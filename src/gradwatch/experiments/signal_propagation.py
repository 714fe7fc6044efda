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

Every step takes the :class:`Settings`. The functions that work on a step's result, the figures
(``figure_*``, each returning a matplotlib figure) and :func:`summarise` take it under one name
throughout: ``diagram`` from :func:`phase_diagram`, ``comparison`` from
:func:`compare_with_theory`, ``correlations`` from :func:`correlation_profiles`,
``trainability`` from :func:`train_at_depths` and ``spectra`` from :func:`jacobian_spectra`.

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

from gradwatch import activations, diagnostics, init, optim, plotting, theory, training
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import SettingError, activation, at_least, at_most, increasing

# isort: split
from gradwatch.experiments import non_negative, positive, require
from gradwatch.network import MLP


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
        Bias scale of that comparison, positive (without bias a tanh network in the ordered
        phase maps every input to 0, where a correlation has no meaning).
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
    c0 : float
        Correlation of the pairs of inputs whose correlation is followed through the networks
        of the comparison, in (-1, 1).
    c_pairs : int
        Pairs of inputs per network.
    train_sigma_w : float
        Weight scale of the ordered networks trained at every depth (with ``sigma_b``); a
        second set is trained on the edge of chaos.
    train_depths : list of int
        Hidden layers of the trained networks, increasing.
    train_width, train_samples, train_batch, train_steps : int
        Width of the trained networks, training samples, mini-batch size and SGD steps.
    train_lr : float
        Learning rate of SGD.
    train_seeds : list of int
        One network and data set per seed and depth.
    trained_below : float
        A network has trained when its final loss is below this fraction of the loss of
        answering 0 (the targets are +-1), in (0, 1).

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
    c0: float = 0.5
    c_pairs: int = 64
    train_sigma_w: float = 0.8
    train_depths: list[int] = field(default_factory=lambda: [4, 8, 12, 16, 20, 24])
    train_width: int = 32
    train_samples: int = 128
    train_batch: int = 32
    train_steps: int = 100
    train_lr: float = 0.05
    train_seeds: list[int] = field(default_factory=lambda: [0, 1])
    trained_below: float = 0.5

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
        positive("sigma_b", self.sigma_b)  # q* > 0: the correlation of two inputs is defined
        positive("width", self.width)
        positive("depth", self.depth)
        non_negative("skip", self.skip)
        require(self.depth > 2 * self.skip, "skip", self.skip, "less than depth / 2")
        non_negative("seeds", self.seeds)
        positive("n_samples", self.n_samples)
        positive("tolerance", self.tolerance)
        positive("spectrum_width", self.spectrum_width)
        positive("spectrum_depth", self.spectrum_depth)
        non_negative("spectrum_sigma_b", self.spectrum_sigma_b)
        non_negative("spectrum_seed", self.spectrum_seed)
        require(-1.0 < self.c0 < 1.0, "c0", self.c0, "a correlation in (-1, 1)")
        positive("c_pairs", self.c_pairs)
        positive("train_sigma_w", self.train_sigma_w)
        positive("train_depths", self.train_depths)
        increasing("train_depths", self.train_depths, len(self.train_depths), "increasing depths")
        positive("train_width", self.train_width)
        positive("train_samples", self.train_samples)
        positive("train_batch", self.train_batch)
        at_most("train_batch", self.train_batch, self.train_samples, limit="train_samples")
        positive("train_steps", self.train_steps)
        positive("train_lr", self.train_lr)
        non_negative("train_seeds", self.train_seeds)
        require(0.0 < self.trained_below < 1.0, "trained_below", self.trained_below, "in (0, 1)")
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


# ---------------------------------------------------------------------------------------------
# Forward: the correlation of two inputs, and the depth a network can train at.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correlations:
    r"""The correlation of pairs of inputs at every layer, measured and predicted.

    Attributes
    ----------
    sigma_w : ndarray, shape (n,)
        The weight scales ``settings.sigma_ws``.
    measured, predicted : ndarray, shape (n, depth + 1)
        :math:`c^{(l)}`, input first: the mean over pairs and seeds of the correlation of the
        two inputs' pre-activations, and the c-map iterated from ``c0``.
    c_star : ndarray, shape (n,)
        The stable fixed point :math:`c^*` of the c-map (1 in the ordered phase).
    depth_scale : ndarray, shape (n,)
        The predicted :math:`\xi_c` (:func:`gradwatch.theory.correlation`).

    Examples
    --------
    >>> small = Settings(sigma_ws=[0.8, 1.7], width=100, depth=8, skip=2, seeds=[0])
    >>> correlations = correlation_profiles(small)
    >>> correlations.measured.shape, correlations.c_star.round(3).tolist()
    ((2, 9), [1.0, 0.086])
    """

    sigma_w: Array
    measured: Array
    predicted: Array
    c_star: Array
    depth_scale: Array


def measured_correlations(net: MLP, z0: Array, activation_name: str) -> Array:
    r"""Correlation of the pre-activations of pairs of inputs at every layer of ``net``.

    Parameters
    ----------
    net : MLP
        A network of one activation, such as :func:`gradwatch.diagnostics.random_mlp` builds.
    z0 : ndarray, shape (2, n_pairs, width)
        The pairs' "layer 0" pre-activations; the network's input is :math:`g(z_0)`.
    activation_name : str
        :math:`g`.

    Returns
    -------
    ndarray, shape (n_layers + 1,)
        Entry :math:`l` is the mean over pairs of
        :math:`\langle z_1, z_2\rangle / (\lVert z_1\rVert \lVert z_2\rVert)` at layer
        :math:`l`, entry 0 for ``z0`` itself.

    Examples
    --------
    >>> import gradwatch as gw
    >>> net = gw.diagnostics.random_mlp(50, 3, "tanh", sigma_w=1.0, sigma_b=0.1, seed=0)
    >>> z0 = np.random.default_rng(0).standard_normal((2, 4, 50))
    >>> z0[1] = z0[0]   # the same input twice: correlation 1 at every layer
    >>> measured_correlations(net, z0, "tanh").round(12).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    act = activations.get(activation_name)

    def correlation(z: Array) -> float:
        first, second = z
        inner = np.sum(first * second, axis=-1)
        norms = np.linalg.norm(first, axis=-1) * np.linalg.norm(second, axis=-1)
        return float(np.mean(inner / norms))

    values = [correlation(z0)]
    a = act(z0)
    for layer in net.layers:
        z = a @ layer.W + layer.b
        values.append(correlation(z))
        a = act(z)
    return np.asarray(values)


def correlation_profiles(settings: Settings) -> Correlations:
    r"""Follow the correlation of pairs of inputs through the networks of the comparison.

    For every weight scale and seed, the random network of :func:`compare_with_theory`
    (``width``, ``depth``, ``sigma_b``) receives ``c_pairs`` pairs of inputs whose
    pre-activations at "layer 0" have the variance :math:`q^*` and the correlation ``c0``; the
    correlation of each pair's pre-activations is measured at every layer
    (:func:`measured_correlations`) and averaged over pairs and seeds. The prediction iterates
    the c-map from ``c0`` (:meth:`gradwatch.theory.Correlation.profile`).

    Parameters
    ----------
    settings : Settings
        Uses ``activation``, ``sigma_ws``, ``sigma_b``, ``width``, ``depth``, ``seeds``,
        ``c_pairs`` and ``c0``.

    Returns
    -------
    Correlations

    Examples
    --------
    >>> small = Settings(sigma_ws=[0.8], width=200, depth=6, skip=1, seeds=[0])
    >>> correlations = correlation_profiles(small)
    >>> bool(np.allclose(correlations.measured, correlations.predicted, atol=0.05))
    True
    """
    measured, predicted, c_star, scales = [], [], [], []
    for w in settings.sigma_ws:
        theory_w = theory.correlation(settings.activation, w, settings.sigma_b)
        per_seed = []
        for seed in settings.seeds:
            rng = np.random.default_rng(seed)
            net = diagnostics.random_mlp(
                settings.width, settings.depth, settings.activation, w, settings.sigma_b, seed=rng
            )
            first = rng.standard_normal((settings.c_pairs, settings.width))
            noise = rng.standard_normal((settings.c_pairs, settings.width))
            second = settings.c0 * first + np.sqrt(1.0 - settings.c0**2) * noise
            z0 = np.sqrt(theory_w.q_star) * np.stack([first, second])
            per_seed.append(measured_correlations(net, z0, settings.activation))
        measured.append(np.mean(per_seed, axis=0))
        predicted.append(theory_w.profile(settings.depth, settings.c0))
        c_star.append(theory_w.c_star)
        scales.append(theory_w.depth_scale)
    return Correlations(
        sigma_w=np.asarray(settings.sigma_ws, dtype=np.float64),
        measured=np.asarray(measured),
        predicted=np.asarray(predicted),
        c_star=np.asarray(c_star),
        depth_scale=np.asarray(scales),
    )


def fitted_depth_scale(profile: Array, skip: int) -> float:
    r"""Fit :math:`\xi_c` to a correlation profile of the ordered phase, where :math:`c^* = 1`.

    :math:`1 - c^{(l)}` falls like :math:`e^{-l/\xi_c}` once :math:`c` is near 1: a straight
    line fitted by least squares to :math:`\log(1 - c^{(l)})` over the layers from ``skip`` on
    gives :math:`\xi_c = -1/\text{slope}`.

    Parameters
    ----------
    profile : ndarray, shape (depth + 1,)
        Measured correlations, input first, all below 1.
    skip : int
        Layers left out at the start, where :math:`c` is still far from 1.

    Returns
    -------
    float

    Examples
    --------
    >>> round(fitted_depth_scale(1 - 0.5 * np.exp(-np.arange(10) / 3.0), skip=2), 6)
    3.0
    """
    layers = np.arange(skip, len(profile))
    slope = np.polyfit(layers, np.log(1.0 - profile[skip:]), 1)[0]
    return -1.0 / float(slope)


@dataclass(frozen=True)
class Trainability:
    r"""Final training loss at every depth, in the ordered phase and on the edge of chaos.

    Attributes
    ----------
    depths : list of int
        ``settings.train_depths``.
    sigma_w : dict of str to float
        ``{"ordered": train_sigma_w, "critical": the edge of chaos for sigma_b}``.
    loss_ratio : dict of str to ndarray, shape (len(depths), len(train_seeds))
        Final loss (mean of the last ten steps) over the loss of answering 0, which is 1.
    depth_scale : float
        :math:`\xi_c` of the ordered networks.

    Examples
    --------
    >>> trainability = Trainability([4], {"ordered": 0.8}, {"ordered": np.array([[0.1]])}, 2.0)
    >>> trained_depths(trainability, 0.5)
    {'ordered': [4]}
    """

    depths: list[int]
    sigma_w: dict[str, float]
    loss_ratio: dict[str, Array]
    depth_scale: float


def train_once(settings: Settings, depth: int, sigma_w: float, seed: int) -> float:
    r"""Train one deep tanh network on a separable task and return its final loss ratio.

    The data: ``train_samples`` standard normal inputs of ``train_width`` features, labelled
    :math:`\pm 1` by the side of a random hyperplane through 0. The network: ``depth`` hidden
    layers of ``train_width`` units with weights :math:`\mathcal N(0, \sigma_w^2/n)` and
    biases :math:`\mathcal N(0, \sigma_b^2)`, and one linear output; trained by
    :func:`gradwatch.train` with SGD on the mean squared error.

    Parameters
    ----------
    settings : Settings
        Uses ``activation``, ``sigma_b`` and the ``train_*`` settings.
    depth : int
    sigma_w : float
    seed : int
        Draws the data, the weights and the mini-batches.

    Returns
    -------
    float
        Mean loss of the last ten steps over the mean of the squared targets (1): 1 means the
        network learned nothing about its inputs.

    Examples
    --------
    >>> small = Settings(train_steps=60)
    >>> train_once(small, 4, 1.0, seed=0) < 0.5 < train_once(small, 40, 0.6, seed=0)
    True
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((settings.train_samples, settings.train_width))
    y = np.sign(x @ rng.standard_normal(settings.train_width))[:, None]
    width = settings.train_width
    net = MLP(
        [width] * (depth + 1) + [1],
        activation=settings.activation,
        output_activation="identity",
        init=init.get("normal", std=sigma_w / np.sqrt(width)),
        bias_init=init.get("normal", std=settings.sigma_b),
        seed=rng,
    )
    history = training.train(
        net,
        x,
        y,
        loss="mse",
        optimizer=optim.SGD(lr=settings.train_lr),
        steps=settings.train_steps,
        batch_size=settings.train_batch,
        seed=rng,
        progress=False,
    )
    return float(np.mean(history.loss[-10:]) / np.mean(y * y))


def train_at_depths(settings: Settings, progress: Progress = no_progress) -> Trainability:
    r"""Train networks of every depth, ordered (``train_sigma_w``) and on the edge of chaos.

    ``progress`` is called as ``progress("training", done, 2 * len(train_depths))``.

    Examples
    --------
    >>> small = Settings(train_depths=[4], train_steps=20, train_seeds=[0])
    >>> trainability = train_at_depths(small)
    >>> sorted(trainability.loss_ratio), trainability.loss_ratio["ordered"].shape
    (['critical', 'ordered'], (1, 1))
    """
    scales = {
        "ordered": settings.train_sigma_w,
        "critical": theory.critical_sigma_w(settings.activation, settings.sigma_b),
    }
    ratios: dict[str, Array] = {}
    total, done = len(scales) * len(settings.train_depths), 0
    for label, w in scales.items():
        rows = []
        for depth in settings.train_depths:
            rows.append([train_once(settings, depth, w, seed) for seed in settings.train_seeds])
            done += 1
            progress("training", done, total)
        ratios[label] = np.asarray(rows)
    xi = theory.correlation(settings.activation, settings.train_sigma_w, settings.sigma_b)
    return Trainability(
        depths=list(settings.train_depths),
        sigma_w=scales,
        loss_ratio=ratios,
        depth_scale=xi.depth_scale,
    )


def trained_depths(trainability: Trainability, below: float) -> dict[str, list[int]]:
    """Return the depths at which every seed's network trained: final loss ratio below ``below``.

    Examples
    --------
    >>> t = Trainability([4, 8], {"a": 1.0}, {"a": np.array([[0.1, 0.2], [0.1, 0.9]])}, 2.0)
    >>> trained_depths(t, 0.5)
    {'a': [4]}
    """
    return {
        label: [
            depth
            for depth, row in zip(trainability.depths, ratios, strict=True)
            if bool(np.all(row < below))
        ]
        for label, ratios in trainability.loss_ratio.items()
    }


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
    correlations: Correlations,
    trainability: Trainability,
) -> dict[str, Any]:
    r"""Numbers the page quotes, JSON-ready.

    Each argument after ``settings`` is the return value of a step, under the name the module's
    docstring gives it (``diagram`` of :func:`phase_diagram`, and so on).

    Returns
    -------
    dict
        ``"map"``: the edge of chaos at the top of the phase diagram; ``"comparison"``: the
        network's size, the predicted and measured :math:`\chi_1`, the largest relative error
        and the tolerance (in %), the ends of the range; ``"correlation"``: ``c0``, per weight
        scale the predicted :math:`c^*` and :math:`\xi_c` and the measured correlation at the
        input layer's end (``c_end``, predicted ``c_end_theory``), the largest absolute error
        of the measured profiles (``max_error``), and, for the first (ordered) scale, the
        fitted and predicted :math:`\xi_c` (``xi_fit``, ``xi``), :math:`6\xi_c` and the
        measured correlation at the last layer (``c_end_ordered``; ``c_end_high`` for the last
        scale, whose :math:`c^*` is ``c_star_high``);
        ``"training"``: the two weight scales, :math:`\xi_c` and :math:`6\xi_c`, the
        deepest depth at which every seed trained (``deepest``, and in units of
        :math:`\xi_c`, ``deepest_xi``), the shallowest at which none did (``failed``,
        ``failed_xi``), whether every depth trained on the edge of chaos
        (``critical_all``) and a sentence on the depths in between (``between``, Markdown);
        ``"spectra"``: the network, its :math:`\sigma_w`, and per spectrum the largest over
        the median singular value and the percentage within a factor of ten of 1.

    Examples
    --------
    >>> small = Settings(
    ...     map_points=5, sigma_ws=[0.8, 1.7], width=100, depth=8, skip=2, seeds=[0],
    ...     spectrum_width=16, spectrum_depth=4)
    >>> trainability = Trainability(
    ...     [4, 8, 16], {"ordered": 0.8, "critical": 1.2},
    ...     {"ordered": np.array([[0.1, 0.1], [0.7, 0.2], [1.0, 1.0]]),
    ...      "critical": np.zeros((3, 2))}, 2.0)
    >>> numbers = summarise(
    ...     small, phase_diagram(small), compare_with_theory(small), jacobian_spectra(small),
    ...     correlation_profiles(small), trainability)
    >>> numbers["comparison"]["chi_low"] < 1 < numbers["comparison"]["chi_high"]
    True
    >>> numbers["training"]["deepest"], numbers["training"]["failed"]
    (4, 16)
    >>> print(numbers["training"]["between"])  # doctest: +NORMALIZE_WHITESPACE
    In between, training depends on the seed: at 8 layers (4.0 depth scales),
    1 of the 2 seeds trained.
    >>> sorted(numbers["spectra"]["gaussian"])
    ['max_over_median', 'percent_within_10x']
    """
    predicted = comparison["predicted"]
    spreads = spread(spectra)
    return {
        "correlation": _summarise_correlations(settings, correlations),
        "training": _summarise_training(settings, trainability),
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


def _summarise_correlations(settings: Settings, correlations: Correlations) -> dict[str, Any]:
    """Return the numbers of the section on the correlation map (see :func:`summarise`)."""
    ordered = 0  # the first scale of the settings is in the ordered phase (checked on the page)
    xi = float(correlations.depth_scale[ordered])
    return {
        "c0": settings.c0,
        "c_star": correlations.c_star.tolist(),
        "xi_c": correlations.depth_scale.tolist(),
        "c_end": correlations.measured[:, -1].tolist(),
        "c_end_theory": correlations.predicted[:, -1].tolist(),
        "max_error": float(np.max(np.abs(correlations.measured - correlations.predicted))),
        "sw_ordered": float(correlations.sigma_w[ordered]),
        "xi": xi,
        "xi_fit": fitted_depth_scale(correlations.measured[ordered], settings.skip),
        "six_xi": 6.0 * xi,
        "c_end_ordered": float(correlations.measured[ordered, -1]),
        "c_end_high": float(correlations.measured[-1, -1]),
        "c_star_high": float(correlations.c_star[-1]),
        "sw_high": float(correlations.sigma_w[-1]),
    }


def _layers(count: int) -> str:
    """``"1 layer"``, ``"12 layers"``."""
    return f"{count} layer" if count == 1 else f"{count} layers"


def _summarise_training(settings: Settings, trainability: Trainability) -> dict[str, Any]:
    """Return the numbers of the section on trainable depth (see :func:`summarise`)."""
    below = settings.trained_below
    xi = trainability.depth_scale
    ratios = trainability.loss_ratio["ordered"]
    trained = trained_depths(trainability, below)["ordered"]
    failed = [d for d, row in zip(trainability.depths, ratios, strict=True) if np.all(row >= below)]
    deepest = max(trained, default=0)
    shallowest_failed = min(failed, default=0)
    mixed = [
        (d, int(np.sum(row < below)))
        for d, row in zip(trainability.depths, ratios, strict=True)
        if d not in trained and d not in failed
    ]
    n_seeds = len(settings.train_seeds)
    if mixed:
        between = "; ".join(
            f"at {_layers(d)} ({d / xi:.1f} depth scales), {k} of the {n_seeds} seeds trained"
            for d, k in mixed
        )
        between = f"In between, training depends on the seed: {between}."
    else:
        between = "No depth in between trained for some seeds and not for others."
    critical = trainability.loss_ratio["critical"]
    return {
        "sigma_w": trainability.sigma_w["ordered"],
        "sigma_w_critical": trainability.sigma_w["critical"],
        "xi": xi,
        "six_xi": 6.0 * xi,
        "depths": list(trainability.depths),
        "loss_ratio": {label: values.tolist() for label, values in trainability.loss_ratio.items()},
        "deepest": deepest,
        "deepest_xi": deepest / xi,
        "failed": shallowest_failed,
        "failed_xi": shallowest_failed / xi,
        "critical_all": bool(np.all(critical < below)),
        "critical_worst": float(np.max(critical)),
        "n_seeds": n_seeds,
        "steps": settings.train_steps,
        "width": settings.train_width,
        "below": below,
        "between": between,
    }


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def figure_chi_1_map(settings: Settings, diagram: PhaseDiagram) -> Any:
    r"""Draw the phase diagram: :math:`\log_{10}\chi_1` over :math:`(\sigma_w, \sigma_b)`.

    Blue is the ordered phase, red the chaotic one; the black contour is the edge of chaos,
    :math:`\chi_1 = 1`.

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


def _figure_profiles(
    measured: dict[str, Array], predicted: dict[str, Array], *, ylabel: str, title: str, logy: bool
) -> Any:
    """Measured profiles (markers) on predicted ones (dashed), against the layer, input = 0."""
    fig = plotting.line_by_layer(
        measured,
        theory=predicted,
        ylabel=ylabel,
        xlabel="layer (0 = input)",
        title=title,
        logy=logy,
    )
    # line_by_layer numbers its points from 1; the profiles start at the input, layer 0.
    for line in fig.axes[0].get_lines():
        line.set_xdata(np.arange(len(line.get_ydata())))
    fig.axes[0].relim()
    fig.axes[0].autoscale_view()
    return fig


def figure_theory_vs_measurement(settings: Settings, comparison: dict[str, Array]) -> Any:
    r"""Plot the measured gradient profiles (markers) on the prediction :math:`\chi_1^{L-l}`.

    Examples
    --------
    >>> small = Settings(sigma_ws=[1.7], width=50, depth=6, skip=1, seeds=[0])
    >>> fig = figure_theory_vs_measurement(small, compare_with_theory(small))
    >>> fig.axes[0].get_lines()[0].get_xdata()[[0, -1]].tolist()
    [0, 6]
    """
    measured, predicted = gradient_profiles(settings, comparison)
    return _figure_profiles(
        measured,
        predicted,
        ylabel="squared gradient norm / output's",
        title=f"{settings.activation}, $\\sigma_b$ = {settings.sigma_b:g}",
        logy=True,
    )


def figure_correlations(settings: Settings, correlations: Correlations) -> Any:
    r"""Plot the measured correlations (markers) on the iterated c-map (dashed), per layer.

    Examples
    --------
    >>> small = Settings(sigma_ws=[0.8, 1.7], width=50, depth=6, skip=1, seeds=[0])
    >>> fig = figure_correlations(small, correlation_profiles(small))
    >>> fig.axes[0].get_lines()[0].get_xdata()[[0, -1]].tolist(), fig.axes[0].get_yscale()
    ([0, 6], 'linear')
    """
    labels = [f"$\\sigma_w$ = {w:g}" for w in correlations.sigma_w]
    fig = _figure_profiles(
        dict(zip(labels, correlations.measured, strict=True)),
        dict(zip(labels, correlations.predicted, strict=True)),
        ylabel="correlation $c^{(l)}$ of two inputs",
        title=f"{settings.activation}, $\\sigma_b$ = {settings.sigma_b:g}",
        logy=False,
    )
    fig.axes[0].set_ylim(0.0, 1.05)
    return fig


def figure_trainability(settings: Settings, trainability: Trainability) -> Any:
    r"""Plot the final loss ratio against depth, with :math:`6\xi_c` and the threshold.

    Examples
    --------
    >>> ratios = {"ordered": np.array([[0.1], [1.0]]), "critical": np.full((2, 1), 0.1)}
    >>> t = Trainability([4, 8], {"ordered": 0.8, "critical": 1.2}, ratios, 2.0)
    >>> figure_trainability(Settings(), t).axes[0].get_xlabel()
    'hidden layers'
    """
    fig, ax = plotting.figure(height=3.8)
    depths = np.asarray(trainability.depths)
    with plotting.style():
        for i, (label, ratios) in enumerate(trainability.loss_ratio.items()):
            color = plotting.COLORS[i % 7]
            w = trainability.sigma_w[label]
            for j in range(ratios.shape[1]):
                ax.plot(
                    depths,
                    ratios[:, j],
                    "o-" if j == 0 else "s--",
                    color=color,
                    alpha=0.85,
                    label=f"{label}, $\\sigma_w$ = {w:.3g}" if j == 0 else None,
                )
        six_xi = 6.0 * trainability.depth_scale
        ax.axvline(six_xi, color="#555555", ls=":", lw=1.5, label="$6\\xi_c$ (ordered)")
        ax.axhline(settings.trained_below, color="#555555", ls="--", lw=1.0, label="trained below")
        ax.set_yscale("log")
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("final loss / loss of answering 0")
        ax.set_title(f"{settings.activation}, width {settings.train_width}, one line per seed")
        ax.legend(fontsize=8.5, loc="lower right")
    return fig


def figure_jacobian_spectra(settings: Settings, spectra: Spectra, *, bins: int = 40) -> Any:
    """Draw histograms of the Jacobian's singular values on a logarithmic axis, in ``bins`` bins.

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
    """Run the experiment: phase diagram, chi_1, correlations, spectra, then training.

    The figures are ``chi_1_map``, ``theory_vs_measurement``, ``correlations``, ``trainability``
    and ``jacobian_spectra``. ``progress`` counts the four measurements under the label
    ``"signal propagation"``, then the networks trained under ``"training"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> small = Settings(
    ...     map_points=5, sigma_ws=[0.8, 1.7], width=60, depth=6, skip=1,
    ...     seeds=[0], spectrum_width=16, spectrum_depth=4)
    >>> import dataclasses
    >>> small = dataclasses.replace(small, train_depths=[2], train_steps=10, train_seeds=[0])
    >>> result = run(small, figures=False)
    >>> sorted(result.numbers), result.figures
    (['comparison', 'correlation', 'map', 'spectra', 'training'], {})
    """
    diagram = phase_diagram(settings)
    progress("signal propagation", 1, 4)
    comparison = compare_with_theory(settings)
    progress("signal propagation", 2, 4)
    correlations = correlation_profiles(settings)
    progress("signal propagation", 3, 4)
    spectra = jacobian_spectra(settings)
    progress("signal propagation", 4, 4)
    trainability = train_at_depths(settings, progress)
    numbers = summarise(settings, diagram, comparison, spectra, correlations, trainability)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "chi_1_map": figure_chi_1_map(settings, diagram),
            "theory_vs_measurement": figure_theory_vs_measurement(settings, comparison),
            "correlations": figure_correlations(settings, correlations),
            "trainability": figure_trainability(settings, trainability),
            "jacobian_spectra": figure_jacobian_spectra(settings, spectra),
        },
    )
