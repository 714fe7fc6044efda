r"""Gradient health, measured layer by layer.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> net = gw.MLP([16] * 6, activation="sigmoid", seed=0)
>>> norms = gw.diagnostics.backprop_norms(net, np.ones((4, 16)), seed=0)
>>> bool(norms[0] < norms[-1])    # sigmoid: the gradient shrinks on its way to the input
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwatch import losses
from gradwatch._validation import Array, as_float_array, make_rng
from gradwatch.network import MLP
from gradwatch.optim import SGD
from gradwatch.training import History, train

__all__ = [
    "VARIANCE_FACTORS",
    "Diagnosis",
    "HealthReport",
    "InitStatistics",
    "Jacobians",
    "LayerStats",
    "backprop_norms",
    "compare_initialisations",
    "diagnose",
    "health",
    "init_statistics",
    "init_training",
    "initialisations",
    "jacobians",
    "layer_stats",
    "layer_values",
    "variance_gains",
    "weight_grad_norms",
]


def backprop_norms(
    net: Any, x: Array, dy: Array | None = None, seed: int | np.random.Generator = 0
) -> Array:
    r"""Size of the backpropagated gradient at every layer, from the input to the output.

    Runs ``net.forward(x)``, then the backward pass one layer at a time, and records the
    root-mean-square over samples of :math:`\lVert \partial L/\partial a^{(l)} \rVert`, where
    :math:`a^{(0)} = x` is the input and :math:`a^{(L)} = y` the output.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    dy : ndarray, shape (n_samples, n_out), optional
        The gradient arriving at the output. By default a standard normal draw from ``seed``,
        which measures how the network itself scales gradients, whatever the loss.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    ndarray, shape (n_layers + 1,)
        Entry ``l`` is the gradient size at :math:`a^{(l)}`: entry 0 at the input, the last at
        the output.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([3, 3, 3], activation="identity", init="orthogonal", seed=0)
    >>> norms = gw.diagnostics.backprop_norms(net, np.ones((2, 3)), seed=1)
    >>> bool(np.allclose(norms, norms[-1]))   # orthogonal weights keep the norm exactly
    True
    """
    y = net.forward(x)
    if dy is None:
        grad = make_rng(seed, "seed").standard_normal(y.shape).astype(y.dtype)
    else:
        grad = as_float_array(dy, "dy").astype(y.dtype, copy=True)
        if grad.shape != y.shape:
            raise ValueError(f"dy has shape {grad.shape} but the output has shape {y.shape}")
    n_samples = max(y.shape[0], 1)
    norms = [float(np.linalg.norm(grad)) / np.sqrt(n_samples)]
    for layer in reversed(net.layers):
        grad = layer.backward(grad)
        norms.append(float(np.linalg.norm(grad)) / np.sqrt(n_samples))
    return np.asarray(norms[::-1])


def weight_grad_norms(net: Any) -> Array:
    r"""Frobenius norm :math:`\lVert \partial L/\partial W^{(l)} \rVert` of each layer's weights.

    Read after a backward pass (``net.loss_and_grads`` or :func:`backprop_norms`).

    Returns
    -------
    ndarray, shape (n_layers,)

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 4, 1], seed=0)
    >>> _ = net.loss_and_grads(np.ones((3, 2)), np.zeros((3, 1)))
    >>> gw.diagnostics.weight_grad_norms(net).shape
    (2,)
    """
    return np.asarray([float(np.linalg.norm(layer.dW)) for layer in net.layers])


# ---------------------------------------------------------------------------------------------
# Per-layer statistics, the health report and Jacobians (pages "Diagnosing a network" and
# "Signal propagation").
# ---------------------------------------------------------------------------------------------

#: Saturation thresholds on the activation's output: |a| > 0.97 for tanh, a < 0.03 or a > 0.97
#: for the sigmoid (there the slope is below 0.06 of its maximum; for tanh below 0.06).
SATURATION_LEVEL = 0.97
#: Activations whose units can be "dead" (never in their linear, slope-one regime).
RELU_LIKE = ("relu", "leaky_relu", "elu", "selu")


def _saturation(name: str, a: Array) -> float:
    if name == "tanh":
        return float(np.mean(np.abs(a) > SATURATION_LEVEL))
    if name == "sigmoid":
        return float(np.mean((a < 1.0 - SATURATION_LEVEL) | (a > SATURATION_LEVEL)))
    return float("nan")


def _dead(name: str, z: Array) -> float:
    if name not in RELU_LIKE:
        return float("nan")
    return float(np.mean(np.all(z <= 0, axis=0)))


def _forward_trace(net: Any, x: Array) -> tuple[list[Array], list[Array]]:
    """Pre-activations and activations of every layer, without touching the layers' caches."""
    a = net._check_input(x)
    zs, activations = [], []
    for layer in net.layers:
        z = a @ layer.W + layer.b
        a = layer.activation(z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return float("inf") if numerator > 0 else float("nan")
    return numerator / denominator


_COLUMNS = (
    ("act_mean", "act mean", "{:.3g}"),
    ("act_std", "act std", "{:.3g}"),
    ("saturation", "saturated", "{:.1%}"),
    ("dead", "dead", "{:.1%}"),
    ("delta_norm", "dL/dz rms", "{:.3g}"),
    ("grad_norm", "dW norm", "{:.3g}"),
    ("grad_data", "grad:data", "{:.3g}"),
    ("update_data", "update:data", "{:.3g}"),
)


@dataclass(frozen=True, eq=False)
class LayerStats:
    r"""Statistics of every layer of a network on one batch, one row per layer.

    Each attribute is a column: an array with one entry per layer, input layer first, so
    ``stats.grad_norm[0]`` belongs to the first layer. ``repr`` prints the table aligned,
    :meth:`to_markdown` gives it as Markdown.

    Attributes
    ----------
    activation : tuple of str
        Name of each layer's activation.
    shape : tuple of (int, int)
        ``(n_in, n_out)`` of each layer.
    act_mean, act_std : ndarray, shape (n_layers,)
        Mean and standard deviation of the activations :math:`a^{(l)}` over samples and units.
    saturation : ndarray, shape (n_layers,)
        Fraction of activations in the flat tails: :math:`|a| > 0.97` for ``tanh``,
        :math:`a < 0.03` or :math:`a > 0.97` for ``sigmoid``; ``nan`` for activations without
        saturating tails.
    dead : ndarray, shape (n_layers,)
        For ``relu``, ``leaky_relu``, ``elu`` and ``selu``: fraction of units whose
        pre-activation is :math:`z \le 0` for every sample of the batch, i.e. units that never
        reach their slope-one regime (for ``relu`` they pass no gradient at all; for the others
        only the small negative-side slope). ``nan`` for the other activations.
    delta_norm : ndarray, shape (n_layers,)
        Root-mean-square over samples of :math:`\lVert \partial L/\partial z^{(l)} \rVert`, the
        backpropagated gradient at the layer's pre-activations.
    grad_norm : ndarray, shape (n_layers,)
        Frobenius norm :math:`\lVert \partial L/\partial W^{(l)} \rVert_F`.
    grad_data : ndarray, shape (n_layers,)
        :math:`\operatorname{std}(\partial L/\partial W) / \operatorname{std}(W)`.
    update_data : ndarray, shape (n_layers,) or None
        :math:`\operatorname{std}(\Delta W) / \operatorname{std}(W)` of one optimiser step, when
        an optimiser was given.
    loss : float
        Loss on the batch.
    """

    activation: tuple[str, ...]
    shape: tuple[tuple[int, int], ...]
    act_mean: Array
    act_std: Array
    saturation: Array
    dead: Array
    delta_norm: Array
    grad_norm: Array
    grad_data: Array
    update_data: Array | None
    loss: float

    def __len__(self) -> int:
        return len(self.activation)

    def _table(self) -> tuple[list[str], list[list[str]]]:
        columns = [c for c in _COLUMNS if getattr(self, c[0]) is not None]
        header = ["layer", "activation", "shape", *(c[1] for c in columns)]
        rows = []
        for i in range(len(self)):
            cells = [str(i + 1), self.activation[i], f"{self.shape[i][0]}x{self.shape[i][1]}"]
            for key, _, fmt in columns:
                value = float(getattr(self, key)[i])
                cells.append("-" if np.isnan(value) else fmt.format(value))
            rows.append(cells)
        return header, rows

    def __repr__(self) -> str:
        header, rows = self._table()
        widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
        lines = [
            "  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True))
            for r in [header, *rows]
        ]
        return f"LayerStats(loss={self.loss:.4g})\n" + "\n".join(lines)

    def to_markdown(self) -> str:
        """Return the table in Markdown, ``-`` where a statistic does not apply.

        Returns
        -------
        str

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> net = gw.MLP([2, 3, 1], activation="relu", seed=0)
        >>> stats = gw.diagnostics.layer_stats(net, np.ones((4, 2)), np.zeros((4, 1)))
        >>> print(stats.to_markdown().splitlines()[0][:60])
        | layer | activation | shape | act mean | act std | saturate
        """
        header, rows = self._table()
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)


def layer_stats(
    net: Any, x: Array, y: Array, loss: str | Any = "mse", optimizer: Any = None
) -> LayerStats:
    r"""Per-layer activation and gradient statistics of ``net`` on one batch.

    Runs one forward and backward pass (which sets every layer's ``dW`` and ``db``, as
    ``net.loss_and_grads`` does). With an ``optimizer``, the update of one step is computed on
    copies of the parameters and of the optimiser (:func:`copy.deepcopy`), so neither the
    network's weights nor the optimiser's state (momentum, step count) change.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    y : ndarray
        Targets in the form the loss expects.
    loss : str or Loss, default "mse"
    optimizer : Optimizer, optional
        If given, the ``update_data`` column is filled.

    Returns
    -------
    LayerStats

    Raises
    ------
    ValueError
        If ``x`` does not fit the network (see :meth:`gradwatch.MLP.forward`).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 2, 1], activation="relu", init="ones", seed=0)
    >>> net.layers[0].W[:, 1] = -1.0                     # unit 2 is dead for positive inputs
    >>> x = np.array([[1.0, 2.0], [3.0, 1.0]]); y = np.zeros((2, 1))
    >>> stats = gw.diagnostics.layer_stats(net, x, y, optimizer=gw.optim.SGD(lr=0.1))
    >>> float(stats.dead[0]), stats.act_mean.round(3).tolist()
    (0.5, [1.75, 3.5])
    """
    zs, outputs = _forward_trace(net, x)
    value, _ = net.loss_and_grads(x, y, loss=loss)
    n_samples = max(np.shape(x)[0], 1)
    deltas = _deltas(net, zs, outputs, y, loss)
    update: list[Array] | None = None
    if optimizer is not None:
        params = [p.copy() for p in net.params()]
        before = [p.copy() for p in params]
        copy.deepcopy(optimizer).step(params, [g.copy() for g in net.grads()])
        update = [p - p0 for p, p0 in zip(params[::2], before[::2], strict=True)]
    rows: dict[str, list[float]] = {key: [] for key, _, _ in _COLUMNS}
    for i, (layer, z, a) in enumerate(zip(net.layers, zs, outputs, strict=True)):
        name = layer.activation.name
        w_std = float(np.std(layer.W))
        rows["act_mean"].append(float(np.mean(a)))
        rows["act_std"].append(float(np.std(a)))
        rows["saturation"].append(_saturation(name, a))
        rows["dead"].append(_dead(name, z))
        rows["delta_norm"].append(float(np.linalg.norm(deltas[i])) / np.sqrt(n_samples))
        rows["grad_norm"].append(float(np.linalg.norm(layer.dW)))
        rows["grad_data"].append(_ratio(float(np.std(layer.dW)), w_std))
        if update is not None:
            rows["update_data"].append(_ratio(float(np.std(update[i])), w_std))
    return LayerStats(
        activation=tuple(layer.activation.name for layer in net.layers),
        shape=tuple((layer.n_in, layer.n_out) for layer in net.layers),
        **{key: np.asarray(values) for key, values in rows.items() if key != "update_data"},
        update_data=np.asarray(rows["update_data"]) if update is not None else None,
        loss=float(value),
    )


def _deltas(
    net: Any, zs: list[Array], outputs: list[Array], y: Array, loss: str | Any
) -> list[Array]:
    r""":math:`\partial L/\partial z^{(l)}` of every layer, from a pass of our own."""
    _, grad = losses.get(loss).value_and_grad(outputs[-1], y)
    deltas: list[Array] = []
    for layer, z in zip(reversed(net.layers), reversed(zs), strict=True):
        delta = grad * layer.activation.derivative(z)
        deltas.append(delta)
        grad = delta @ layer.W.T
    return deltas[::-1]


VERDICTS = ("healthy", "vanishing", "exploding")


def _layer_checks(
    stats: LayerStats, i: int, last: float, limits: dict[str, tuple[float, float]]
) -> tuple[list[str], list[str]]:
    """Reasons on the exploding and on the vanishing side for layer ``i``, from its ratios."""
    exploding: list[str] = []
    vanishing: list[str] = []
    delta = float(stats.delta_norm[i])
    values: dict[str, float] = {}
    if not (np.isfinite(delta) and np.isfinite(float(stats.grad_norm[i]))):
        exploding.append("gradient is not finite")
    elif i < len(stats) - 1 and last > 0:
        values["gradient"] = delta / last
    values["grad:data"] = float(stats.grad_data[i])
    if stats.update_data is not None:
        values["update:data"] = float(stats.update_data[i])
    for name, value in values.items():
        low, high = limits[name]
        shown = (
            f"{name} {value:.2g}"
            if name != "gradient"
            else f"gradient {value:.2g} x the last layer's"
        )
        if value < low:
            vanishing.append(f"{shown} (< {low:g})")
        elif value > high:
            exploding.append(f"{shown} (> {high:g})")
    return exploding, vanishing


@dataclass(frozen=True)
class HealthReport:
    r"""Verdicts of :func:`health`: one per layer and one for the network, with reasons.

    Attributes
    ----------
    verdict : str
        ``"healthy"``, ``"vanishing"`` or ``"exploding"``, for the network as a whole.
    reasons : tuple of str
        Why, in words (empty when healthy).
    layer_verdicts : tuple of str
        One verdict per layer, input layer first.
    layer_reasons : tuple of tuple of str
        The reasons behind each layer's verdict.
    depth_ratio : float
        :math:`\lVert\partial L/\partial z^{(1)}\rVert / \lVert\partial L/\partial z^{(L)}\rVert`:
        the first layer's backpropagated gradient over the last layer's.
    """

    verdict: str
    reasons: tuple[str, ...]
    layer_verdicts: tuple[str, ...]
    layer_reasons: tuple[tuple[str, ...], ...]
    depth_ratio: float

    def _rows(self) -> list[tuple[str, str, str]]:
        rows = [
            (str(i + 1), v, "; ".join(r) or "-")
            for i, (v, r) in enumerate(zip(self.layer_verdicts, self.layer_reasons, strict=True))
        ]
        rows.append(("net", self.verdict, "; ".join(self.reasons) or "-"))
        return rows

    def __repr__(self) -> str:
        rows = self._rows()
        w0 = max(len("layer"), *(len(r[0]) for r in rows))
        w1 = max(len("verdict"), *(len(r[1]) for r in rows))
        lines = [f"{'layer'.rjust(w0)}  {'verdict'.ljust(w1)}  reasons"]
        lines += [f"{a.rjust(w0)}  {b.ljust(w1)}  {c}" for a, b, c in rows]
        return f"HealthReport({self.verdict})\n" + "\n".join(lines)

    def to_markdown(self) -> str:
        """Return the verdicts as a Markdown table, the network's last.

        Returns
        -------
        str

        Examples
        --------
        >>> import gradwatch as gw
        >>> report = gw.diagnostics.HealthReport("healthy", (), ("healthy",), ((),), 1.0)
        >>> print(report.to_markdown())
        | layer | verdict | reasons |
        |---|---|---|
        | 1 | healthy | - |
        | net | healthy | - |
        """
        lines = ["| layer | verdict | reasons |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in self._rows()]
        return "\n".join(lines)


def health(
    stats: LayerStats,
    *,
    vanish_ratio: float = 1e-2,
    explode_ratio: float = 1e2,
    max_saturation: float = 0.5,
    max_dead: float = 0.5,
    grad_data_range: tuple[float, float] = (1e-5, 1e2),
    update_data_range: tuple[float, float] = (1e-5, 1e-1),
) -> HealthReport:
    r"""Verdict on the gradients of a network from its :class:`LayerStats`, with reasons.

    Each layer is checked against the thresholds below; a layer failing a check on the
    exploding side is ``"exploding"``, else one failing on the vanishing side ``"vanishing"``,
    else ``"healthy"``. The network is ``"vanishing"`` or ``"exploding"`` if its depth ratio is
    out of range, else it takes the worst layer verdict (exploding before vanishing).

    Parameters
    ----------
    stats : LayerStats
    vanish_ratio, explode_ratio : float, default 1e-2 and 1e2
        Bounds on :math:`\lVert\partial L/\partial z^{(l)}\rVert / \lVert\partial L/\partial
        z^{(L)}\rVert`, a layer's backpropagated gradient relative to the last layer's (for
        :math:`l = 1` the network's depth ratio). Out of range, the first layer learns at a
        hundredth (or a hundred times) the pace of the last: one learning rate cannot suit both.
        The backpropagated gradient is used rather than :math:`\lVert \partial L/\partial
        W\rVert`, because :math:`\partial L/\partial W^{(l)} = a^{(l-1)\top}\,\partial
        L/\partial z^{(l)}` multiplies a forward factor that grows where the backward one
        shrinks: in a linear network the two cancel and hide the explosion.
    max_saturation : float, default 0.5
        Above it, most units of a ``tanh`` or ``sigmoid`` layer sit where their slope is below
        6 % of its maximum, and the gradient through them vanishes.
    max_dead : float, default 0.5
        Above it, most ReLU-like units never reach their slope-one regime on the batch.
    grad_data_range : (float, float), default (1e-5, 1e2)
        Bounds on :math:`\operatorname{std}(\partial L/\partial W)/\operatorname{std}(W)`. With
        SGD the update:data ratio is the learning rate times this ratio; the usual guide for it is
        about :math:`10^{-3}` :cite:p:`karpathy2019`. Below :math:`10^{-5}` even a learning rate of
        1 leaves it a hundred times short; above :math:`10^{2}` even a learning rate of
        :math:`10^{-3}` takes it a hundred times over.
    update_data_range : (float, float), default (1e-5, 1e-1)
        Bounds on the update:data ratio, when ``stats`` has one: a hundred times either side of
        the :math:`10^{-3}` guide.

    Returns
    -------
    HealthReport

    Raises
    ------
    TypeError
        If ``stats`` is not a :class:`LayerStats`.
    ValueError
        If a range is not increasing and positive.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> x = np.random.default_rng(0).normal(size=(32, 16)); y = np.zeros((32, 1))
    >>> net = gw.MLP([16] + [16] * 8 + [1], activation="sigmoid",
    ...              init=gw.init.get("normal", std=0.05), seed=0)
    >>> report = gw.diagnostics.health(gw.diagnostics.layer_stats(net, x, y))
    >>> report.verdict, report.layer_verdicts[0]
    ('vanishing', 'vanishing')
    """
    if not isinstance(stats, LayerStats):
        raise TypeError(
            f"stats must be a LayerStats from layer_stats(), got {type(stats).__name__}"
        )
    if not 0 < vanish_ratio < 1 < explode_ratio:
        raise ValueError(
            f"need 0 < vanish_ratio < 1 < explode_ratio, got {vanish_ratio!r} and {explode_ratio!r}"
        )
    for name, (low, high) in (
        ("grad_data_range", grad_data_range),
        ("update_data_range", update_data_range),
    ):
        if not 0 < low < high:
            raise ValueError(f"{name} must be (low, high) with 0 < low < high, got {(low, high)!r}")
    last = float(stats.delta_norm[-1])
    limits = {
        "gradient": (vanish_ratio, explode_ratio),
        "grad:data": grad_data_range,
        "update:data": update_data_range,
    }
    layer_verdicts: list[str] = []
    layer_reasons: list[tuple[str, ...]] = []
    for i in range(len(stats)):
        exploding, vanishing = _layer_checks(stats, i, last, limits)
        if float(stats.saturation[i]) > max_saturation:
            vanishing.append(f"{stats.saturation[i]:.0%} of activations saturated")
        if float(stats.dead[i]) > max_dead:
            vanishing.append(f"{stats.dead[i]:.0%} of units dead")
        verdict = "exploding" if exploding else ("vanishing" if vanishing else "healthy")
        layer_verdicts.append(verdict)
        layer_reasons.append(tuple(exploding + vanishing))
    depth_ratio = _ratio(float(stats.delta_norm[0]), last)
    reasons: list[str] = []
    too_large = not np.isfinite(depth_ratio) or depth_ratio > explode_ratio
    if too_large or depth_ratio < vanish_ratio:
        verdict = "exploding" if too_large else "vanishing"
        reasons.append(f"first layer's gradient is {depth_ratio:.3g} x the last layer's")
    else:
        verdict = next((v for v in ("exploding", "vanishing") if v in layer_verdicts), "healthy")
    flagged = [str(i + 1) for i, v in enumerate(layer_verdicts) if v != "healthy"]
    if flagged:
        reasons.append(
            f"layers {', '.join(flagged)} flagged"
            if len(flagged) > 1
            else f"layer {flagged[0]} flagged"
        )
    return HealthReport(
        verdict=verdict,
        reasons=tuple(reasons),
        layer_verdicts=tuple(layer_verdicts),
        layer_reasons=tuple(layer_reasons),
        depth_ratio=depth_ratio,
    )


@dataclass(frozen=True, eq=False)
class Jacobians:
    r"""Per-layer Jacobians of a network at one input, and their product.

    Column-vector (numerator-layout) convention: ``layers[l][i, j]`` is
    :math:`\partial a^{(l+1)}_i / \partial a^{(l)}_j`, shape ``(n_out, n_in)``, equal to
    :math:`\operatorname{diag}(g'(z^{(l+1)}))\,W^{(l+1)\top}` with the library's ``W`` of shape
    ``(n_in, n_out)``.

    Attributes
    ----------
    layers : list of ndarray, shape (n_out, n_in) each
    product : ndarray, shape (n_out_last, n_in_first)
        The input-output Jacobian :math:`J = J_L \cdots J_1`, :math:`\partial y/\partial x`.
    singular_values : list of ndarray
        Singular values of each layer's Jacobian, in decreasing order.
    product_singular_values : ndarray
        Singular values of :math:`J`, in decreasing order.
    """

    layers: list[Array]
    product: Array
    singular_values: list[Array]
    product_singular_values: Array


def jacobians(net: Any, x: Array) -> Jacobians:
    r"""Jacobians of every layer and of the whole network at one sample ``x``.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_in,) or (1, n_in)
        One sample.

    Returns
    -------
    Jacobians

    Raises
    ------
    ValueError
        If ``x`` holds more than one sample or does not have ``n_in`` features.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([3, 3, 3], activation="identity", init="orthogonal", seed=0)
    >>> jac = gw.diagnostics.jacobians(net, np.ones(3))
    >>> jac.product.shape, jac.product_singular_values.round(6).tolist()
    ((3, 3), [1.0, 1.0, 1.0])
    """
    sample = as_float_array(x, "x")
    if sample.ndim == 2 and sample.shape[0] == 1:
        sample = sample[0]
    if sample.ndim != 1:
        raise ValueError(
            f"x must be one sample, shape (n_in,) or (1, n_in); got shape {sample.shape}"
        )
    zs, _ = _forward_trace(net, sample[None, :])
    layers = [
        layer.activation.derivative(z[0])[:, None] * layer.W.T
        for layer, z in zip(net.layers, zs, strict=True)
    ]
    product = layers[0]
    for jac in layers[1:]:
        product = jac @ product
    return Jacobians(
        layers=layers,
        product=product,
        singular_values=[np.linalg.svd(j, compute_uv=False) for j in layers],
        product_singular_values=np.linalg.svd(product, compute_uv=False),
    )


def layer_values(
    net: Any, x: Array, y: Array, loss: str | Any = "mse"
) -> tuple[list[Array], list[Array]]:
    r"""Return every layer's activations and backpropagated gradients.

    The activations are :math:`a^{(l)}`, the gradients :math:`\partial L/\partial z^{(l)}`.

    For per-layer histograms. The network's weights, gradients and caches are not changed.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    y : ndarray
        Targets in the form the loss expects.
    loss : str or Loss, default "mse"

    Returns
    -------
    activations : list of ndarray, shape (n_samples, n_out) each
    gradients : list of ndarray, shape (n_samples, n_out) each
        Input layer first in both lists.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], seed=0)
    >>> a, g = gw.diagnostics.layer_values(net, np.ones((4, 2)), np.zeros((4, 1)))
    >>> [v.shape for v in a], [v.shape for v in g]
    ([(4, 3), (4, 1)], [(4, 3), (4, 1)])
    """
    zs, outputs = _forward_trace(net, x)
    return outputs, _deltas(net, zs, outputs, y, loss)


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """What :func:`diagnose` found before training, and the training that followed.

    Attributes
    ----------
    stats : LayerStats
        At initialisation, with the update:data ratio of the first step.
    report : HealthReport
        :func:`health` of ``stats``.
    activations, gradients : list of ndarray
        :func:`layer_values` at initialisation.
    history : History
        From :func:`gradwatch.train`.
    """

    stats: LayerStats
    report: HealthReport
    activations: list[Array]
    gradients: list[Array]
    history: History


def diagnose(
    net: Any,
    x: Array,
    y: Array,
    optimizer: Any,
    *,
    steps: int,
    loss: str | Any = "mse",
    batch_size: int | None = None,
    seed: int | np.random.Generator = 0,
) -> Diagnosis:
    """Health report of ``net`` at initialisation, then train it and keep the history.

    Computes :func:`layer_stats` (with ``optimizer``'s first update), :func:`health` and
    :func:`layer_values` on the whole of ``x``, then runs :func:`gradwatch.train` (which changes
    ``net`` and ``optimizer``).

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    y : ndarray
    optimizer : Optimizer
    steps : int
    loss : str or Loss, default "mse"
    batch_size : int, optional
    seed : int or numpy.random.Generator, default 0
        Order of the mini-batches.

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> x = np.random.default_rng(0).normal(size=(32, 4)); y = x[:, :1]
    >>> net = gw.MLP([4, 8, 1], seed=0)
    >>> result = gw.diagnostics.diagnose(net, x, y, gw.optim.SGD(lr=0.01), steps=5)
    >>> result.report.verdict, result.history.steps
    ('healthy', 5)
    """
    stats = layer_stats(net, x, y, loss=loss, optimizer=optimizer)
    activations, gradients = layer_values(net, x, y, loss=loss)
    history = train(
        net,
        x,
        y,
        loss=loss,
        optimizer=optimizer,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        progress=False,
    )
    return Diagnosis(stats, health(stats), activations, gradients, history)


def compare_initialisations(
    sizes: list[int],
    activation: str,
    inits: dict[str, Any],
    *,
    n_samples: int = 256,
    lr: float = 0.05,
    momentum: float = 0.9,
    steps: int = 150,
    batch_size: int = 64,
    seed: int = 0,
) -> dict[str, Diagnosis]:
    r"""Run :func:`diagnose` on the same network under several initialisations, on one task.

    The task is a smooth regression, :math:`y = \sin(x v)` with :math:`x \sim \mathcal N(0, I)`
    of shape ``(n_samples, sizes[0])`` and :math:`v \sim \mathcal N(0, I/\text{n\_in})`, drawn
    from ``seed``; each network is ``MLP(sizes, activation, init=...)`` from ``seed`` and trained
    with ``SGD(lr, momentum)``.

    Parameters
    ----------
    sizes : list of int
        ``[n_in, hidden..., n_out]``; ``n_out`` must be 1.
    activation : str
    inits : dict of str to initialiser
        Label to anything :class:`gradwatch.MLP` accepts as ``init``.
    n_samples, steps, batch_size, seed : int
    lr, momentum : float

    Returns
    -------
    dict of str to Diagnosis
        In the order of ``inits``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> runs = gw.diagnostics.compare_initialisations(
    ...     [4, 8, 8, 1], "tanh", {"xavier": "xavier_normal"}, n_samples=32, steps=3,
    ...     batch_size=16, lr=0.01)
    >>> runs["xavier"].history.steps
    3
    """
    if not sizes or sizes[-1] != 1:
        raise ValueError(f"sizes must end with one output, got {sizes!r}")
    rng = make_rng(seed, "seed")
    n_in = sizes[0]
    x = rng.standard_normal((n_samples, n_in))
    y = np.sin(x @ (rng.standard_normal((n_in, 1)) / np.sqrt(n_in)))
    results = {}
    for label, weights in inits.items():
        net = MLP(sizes, activation=activation, init=weights, seed=seed)
        optimizer = SGD(lr=lr, momentum=momentum)
        results[label] = diagnose(
            net, x, y, optimizer, steps=steps, batch_size=batch_size, seed=seed
        )
    return results


# --- helpers for the initialisation page ---

#: :math:`E[g(z)^2] / \operatorname{Var}(z)` for :math:`z \sim \mathcal N(0, \sigma^2)`, the factor
#: an activation applies to the forward variance, and :math:`E[g'(z)^2]`, the factor it applies
#: to the backward one, where the derivations of the scales hold (identity, and tanh in its
#: linear regime near zero: both 1; ReLU: both 1/2).
VARIANCE_FACTORS: dict[str, tuple[float, float]] = {
    "identity": (1.0, 1.0),
    "tanh": (1.0, 1.0),
    "relu": (0.5, 0.5),
}


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
    the second by :math:`E[g'(z)^2]` (both 1 for tanh near zero, 1/2 for ReLU).

    Parameters
    ----------
    activation : {"identity", "tanh", "relu"}
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
        For another activation, a fan below 1 or a variance that is not positive.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.diagnostics.variance_gains("relu", 256, 256, 2 / 256)      # He
    (1.0, 1.0)
    >>> gw.diagnostics.variance_gains("tanh", 256, 256, 0.01 ** 2)    # std 0.01
    (0.0256, 0.0256)
    """
    if activation not in VARIANCE_FACTORS:
        raise ValueError(
            f"activation must be one of {sorted(VARIANCE_FACTORS)}, got {activation!r}"
        )
    fans: tuple[object, object] = (n_in, n_out)
    for name, value in zip(("n_in", "n_out"), fans, strict=True):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not np.isfinite(weight_variance) or weight_variance <= 0:
        raise ValueError(f"weight_variance must be positive, got {weight_variance!r}")
    forward, backward = VARIANCE_FACTORS[activation]
    return (
        round(forward * int(n_in) * float(weight_variance), 12),
        round(backward * int(n_out) * float(weight_variance), 12),
    )


def initialisations(naive_std: float) -> dict[str, Any]:
    r"""Return the three initialisations the initialisation page compares, by label.

    Parameters
    ----------
    naive_std : float
        Standard deviation of the naive :math:`\\mathcal N(0, \\text{std}^2)` draw.

    Returns
    -------
    dict of str to initialiser
        ``"N(0, std²)"``, ``"Xavier"`` (``xavier_normal``) and ``"He"`` (``he_normal``).

    Examples
    --------
    >>> import gradwatch as gw
    >>> list(gw.diagnostics.initialisations(0.01))
    ['N(0, 0.01²)', 'Xavier', 'He']
    """
    from gradwatch import init

    if not np.isfinite(naive_std) or naive_std <= 0:
        raise ValueError(f"naive_std must be positive, got {naive_std!r}")
    return {
        f"N(0, {naive_std:g}²)": init.get("normal", std=float(naive_std)),
        "Xavier": "xavier_normal",
        "He": "he_normal",
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
    activations: list[str],
    inits: dict[str, Any],
    *,
    width: int = 256,
    depth: int = 10,
    n_samples: int = 256,
    seed: int = 0,
) -> dict[str, dict[str, InitStatistics]]:
    r"""Per-layer activations and gradients of deep random networks, by activation and init.

    Each network is ``MLP([width] * (depth + 1), activation, output_activation=activation,
    init=...)`` from ``seed``: ``depth`` identical layers. The input is
    :math:`x \sim \mathcal N(0, I)`, shape ``(n_samples, width)``, and the gradient arriving at
    the last layer's output a standard normal draw, both from ``seed``: what is measured is how
    the network itself scales the two signals, whatever the loss.

    Parameters
    ----------
    activations : list of str
    inits : dict of str to initialiser
        Label to anything :class:`gradwatch.MLP` accepts as ``init``.
    width, depth, n_samples, seed : int

    Returns
    -------
    dict of str to dict of str to InitStatistics
        ``result[activation][label]``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> stats = gw.diagnostics.init_statistics(["relu"], {"He": "he_normal"}, width=64, depth=4)
    >>> stats["relu"]["He"].act_var.shape, len(stats["relu"]["He"].gradients)
    ((4,), 4)
    """
    checked: object = depth
    if isinstance(checked, bool) or not isinstance(checked, int) or checked < 2:
        raise ValueError(f"depth must be an int of at least 2, got {depth!r}")
    rng = make_rng(seed, "seed")
    x = rng.standard_normal((n_samples, width))
    dy = rng.standard_normal((n_samples, width))
    result: dict[str, dict[str, InitStatistics]] = {}
    for activation in activations:
        result[activation] = {}
        for label, weights in inits.items():
            net = MLP(
                [width] * (depth + 1),
                activation=activation,
                output_activation=activation,
                init=weights,
                seed=seed,
            )
            zs, outputs = _forward_trace(net, x)
            grads: list[Array] = []
            grad = dy
            for layer, z in zip(reversed(net.layers), reversed(zs), strict=True):
                delta = grad * layer.activation.derivative(z)
                grads.append(delta)
                grad = delta @ layer.W.T
            grads.reverse()
            result[activation][label] = InitStatistics(
                activations=outputs,
                gradients=grads,
                act_var=np.asarray([float(np.var(a)) for a in outputs]),
                grad_var=np.asarray([float(np.var(g)) for g in grads]),
            )
    return result


def init_training(
    activations: list[str],
    inits: dict[str, Any],
    *,
    width: int = 64,
    depth: int = 10,
    n_samples: int = 256,
    lr: float = 0.01,
    momentum: float = 0.9,
    steps: int = 150,
    batch_size: int = 32,
    seed: int = 0,
) -> dict[str, History]:
    r"""Train one deep network per activation and initialisation on the same regression task.

    The task is :math:`y = \sin(x v)`, :math:`x \sim \mathcal N(0, I)` of shape
    ``(n_samples, width)`` and :math:`v \sim \mathcal N(0, I/\text{width})`, drawn from
    ``seed``. Each network is ``MLP([width] * (depth + 1) + [1], activation, init=...)`` from
    ``seed`` (``depth`` hidden layers and a linear output), trained by :func:`gradwatch.train`
    with ``SGD(lr, momentum)`` on mini-batches.

    Parameters
    ----------
    activations : list of str
    inits : dict of str to initialiser
    width, depth, n_samples, steps, batch_size, seed : int
    lr, momentum : float

    Returns
    -------
    dict of str to History
        Keyed ``"<activation>, <label>"``, activations outer, initialisations inner.

    Examples
    --------
    >>> import gradwatch as gw
    >>> runs = gw.diagnostics.init_training(["tanh"], {"Xavier": "xavier_normal"}, width=8,
    ...                                     depth=3, n_samples=32, steps=5, batch_size=16)
    >>> list(runs), runs["tanh, Xavier"].steps
    (['tanh, Xavier'], 5)
    """
    rng = make_rng(seed, "seed")
    x = rng.standard_normal((n_samples, width))
    y = np.sin(x @ (rng.standard_normal((width, 1)) / np.sqrt(width)))
    runs: dict[str, History] = {}
    for activation in activations:
        for label, weights in inits.items():
            net = MLP([width] * (depth + 1) + [1], activation=activation, init=weights, seed=seed)
            runs[f"{activation}, {label}"] = train(
                net,
                x,
                y,
                optimizer=SGD(lr=lr, momentum=momentum),
                steps=steps,
                batch_size=batch_size,
                seed=seed,
                progress=False,
            )
    return runs
