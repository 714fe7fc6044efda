r"""Gradient health, measured layer by layer, and the measurements theory is held against.

Every measurement reads one forward and backward pass, :func:`trace`, which keeps every layer's
pre-activations, activations and backpropagated gradients. The predictions these measurements
are compared with are in :mod:`gradwatch.theory`.

A network whose ``layers`` are not all :class:`~gradwatch.Dense` (``MLP(norm=...)``,
``MLP(residual=True)``, any :class:`~gradwatch.Sequential`) is measured block by block: one
entry per element of ``net.layers``, read from :func:`block_trace`, which runs each block's
own ``forward`` and ``backward``. A plain MLP keeps the per-layer pass of :func:`trace`.

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

import contextlib
import copy
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwatch import activations, init, losses, theory
from gradwatch._validation import (
    Array,
    as_float_array,
    check_positive,
    check_positive_int,
    make_rng,
    widened,
)
from gradwatch.layers import ActivationLayer, Dense, Layer, Residual
from gradwatch.network import MLP, Sequential
from gradwatch.norm import BatchNorm
from gradwatch.optim import SGD
from gradwatch.training import History, train

__all__ = [
    "BlockTrace",
    "Diagnosis",
    "HealthReport",
    "Jacobians",
    "LayerStats",
    "Trace",
    "backprop_norms",
    "block_trace",
    "chi_1_comparison",
    "compare_initialisations",
    "depth_profile",
    "diagnose",
    "fit_per_layer_factor",
    "health",
    "jacobian_spectra",
    "jacobians",
    "layer_stats",
    "layer_values",
    "measure_chi_1",
    "measured_gradient_norms",
    "random_mlp",
    "trace",
    "weight_grad_norms",
]


# ---------------------------------------------------------------------------------------------
# One forward and backward pass, every intermediate kept: what every measurement below reads.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Trace:
    r"""One forward and backward pass through an MLP, with every layer's intermediate values.

    Lists run from the input to the output: entry ``l`` of ``z``, ``a``, ``dz``, ``dW`` and
    ``db`` belongs to layer ``l + 1``; ``da`` has one more entry, for the input
    :math:`a^{(0)} = x`. Made by :func:`trace`.

    Attributes
    ----------
    x : ndarray, shape (n_samples, n_in)
        The input, in the network's dtype.
    z : list of ndarray, shape (n_samples, n_out) each
        Pre-activations :math:`z^{(l)} = a^{(l-1)} W^{(l)} + b^{(l)}`.
    a : list of ndarray, shape (n_samples, n_out) each
        Activations :math:`a^{(l)} = g(z^{(l)})`; ``a[-1]`` is the network's output.
    dz : list of ndarray, shape (n_samples, n_out) each
        Backpropagated gradients at the pre-activations, :math:`\partial L/\partial z^{(l)}`
        (the "deltas").
    da : list of ndarray, length n_layers + 1
        :math:`\partial L/\partial a^{(l)}` for :math:`l = 0, \dots, L`: ``da[0]`` is
        :math:`\partial L/\partial x`, ``da[-1]`` the gradient that arrived at the output.
    loss : float or None
        The loss, when :func:`trace` was given targets; ``None`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], activation="relu", seed=0)
    >>> t = gw.diagnostics.trace(net, np.ones((4, 2)), dy=np.ones((4, 1)))
    >>> len(t.z), len(t.da), t.loss is None
    (2, 3, True)
    """

    x: Array
    z: list[Array]
    a: list[Array]
    dz: list[Array]
    da: list[Array]
    loss: float | None

    @functools.cached_property
    def dW(self) -> list[Array]:
        r""":math:`\partial L/\partial W^{(l)} = a^{(l-1)\top} \partial L/\partial z^{(l)}`.

        Computed when first read (it is the largest part of a trace), one per layer, each of
        the shape of its ``W``.
        """
        inputs = [self.x, *self.a[:-1]]
        return [a_in.T @ delta for a_in, delta in zip(inputs, self.dz, strict=True)]

    @functools.cached_property
    def db(self) -> list[Array]:
        r""":math:`\partial L/\partial b^{(l)}`, the deltas summed over samples, one per layer."""
        return [delta.sum(axis=0) for delta in self.dz]


def trace(
    net: MLP,
    x: Array,
    y: Array | None = None,
    *,
    loss: str | losses.Loss = "mse",
    dy: Array | None = None,
    seed: int | np.random.Generator = 0,
) -> Trace:
    r"""Run ``net`` forward and backward on ``x`` and keep every layer's values.

    The forward pass reads each layer's ``W``, ``b`` and ``activation``; the backward pass is
    the chain rule of ``gradwatch.layers``,

    .. math::

        \frac{\partial L}{\partial z^{(l)}} = \frac{\partial L}{\partial a^{(l)}} \odot
        g'(z^{(l)}), \qquad
        \frac{\partial L}{\partial a^{(l-1)}} = \frac{\partial L}{\partial z^{(l)}}
        W^{(l)\top},

    started from the gradient at the output: that of ``loss`` when targets ``y`` are given,
    ``dy`` when it is given, and otherwise a standard normal draw from ``seed``, which measures
    how the network itself scales gradients, whatever the loss.

    ``x`` is checked by ``net.forward(x)``, which also leaves the layers' forward caches holding
    this batch, as any forward pass does. The network's parameters and gradients (``dW``,
    ``db``) are not changed.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    y : ndarray, optional
        Targets in the form ``loss`` expects.
    loss : str or Loss, default "mse"
        Used only with ``y``.
    dy : ndarray, shape (n_samples, n_out), optional
        The gradient arriving at the output, instead of ``y``.
    seed : int or numpy.random.Generator, default 0
        Source of the output gradient when neither ``y`` nor ``dy`` is given.

    Returns
    -------
    Trace

    Raises
    ------
    ValueError
        If ``x`` does not fit the network (see :meth:`gradwatch.MLP.forward`), ``dy`` does not
        have the output's shape, or both ``y`` and ``dy`` are given; or if ``net.layers`` are
        not all :class:`~gradwatch.Dense` layers (use :func:`block_trace`).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], activation="tanh", seed=0)
    >>> x, y = np.ones((4, 2)), np.zeros((4, 1))
    >>> t = gw.diagnostics.trace(net, x, y)
    >>> [z.shape for z in t.z], [g.shape for g in t.da]
    ([(4, 3), (4, 1)], [(4, 2), (4, 3), (4, 1)])
    >>> loss, grads = net.loss_and_grads(x, y)      # the network's own backward pass agrees
    >>> bool(np.isclose(t.loss, loss) and np.allclose(t.dW[0], grads[0]))
    True
    """
    if y is not None and dy is not None:
        raise ValueError("give the targets y (with loss) or the output gradient dy, not both")
    if not _is_plain(net):
        raise ValueError(
            f"trace needs a network of Dense layers, but {type(net).__name__}.layers holds "
            f"{_first_block_name(net)}; use block_trace for a network of blocks"
        )
    net.forward(x)  # checks x and raises an error that names it
    checked = a = np.asarray(as_float_array(x, "x"), dtype=net.dtype)
    zs: list[Array] = []
    outputs: list[Array] = []
    for layer in net.layers:
        z: Array = a @ layer.W + layer.b
        a = layer.activation(z)
        zs.append(z)
        outputs.append(a)
    value, grad = _output_gradient(a, y, loss, dy, seed, net.dtype)
    da: list[Array] = [grad]
    dz: list[Array] = []
    for layer, z in zip(reversed(net.layers), reversed(zs), strict=True):
        delta = grad * layer.activation.derivative(z)
        grad = delta @ layer.W.T
        dz.append(delta)
        da.append(grad)
    return Trace(
        x=checked,
        z=zs,
        a=outputs,
        dz=dz[::-1],
        da=da[::-1],
        loss=None if value is None else float(value),
    )


def _output_gradient(
    a: Array,
    y: Array | None,
    loss: str | losses.Loss,
    dy: Array | None,
    seed: int | np.random.Generator,
    dtype: np.dtype[Any],
) -> tuple[float | None, Array]:
    """Return the loss (None without targets) and the gradient at the output ``a``."""
    if y is not None:
        value, grad = losses.get(loss).value_and_grad(a, y)
        return value, np.asarray(grad, dtype=dtype)
    if dy is not None:
        grad = as_float_array(dy, "dy")
        if grad.shape != a.shape:
            raise ValueError(f"dy has shape {grad.shape} but the output has shape {a.shape}")
        return None, np.asarray(grad, dtype=dtype)
    return None, make_rng(seed, "seed").standard_normal(a.shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# The same pass block by block, for networks that are not a plain stack of Dense layers.
# ---------------------------------------------------------------------------------------------


def _layers_of(net: Any) -> list[Layer]:
    """Return ``net.layers``, or raise a TypeError if ``net`` is not a network of layers."""
    layers = getattr(net, "layers", None)
    if not isinstance(layers, (list, tuple)) or not layers:
        hint = (
            "; a recurrent network records the gradient's norm at every time step in "
            "hidden_grad_norms when backward runs"
            if hasattr(net, "hidden_grad_norms")
            else ""
        )
        raise TypeError(
            f"net must be an MLP or a Sequential (a network of layers), got "
            f"{type(net).__name__}{hint}"
        )
    return list(layers)


def _is_plain(net: Any) -> bool:
    """Tell whether ``net.layers`` are all Dense layers, which the per-layer :func:`trace` reads."""
    return all(isinstance(layer, Dense) for layer in _layers_of(net))


def _first_block_name(net: Any) -> str:
    """Name the first element of ``net.layers`` that is not a Dense layer, for error messages."""
    i, block = next((i, b) for i, b in enumerate(net.layers) if not isinstance(b, Dense))
    return f"a {type(block).__name__} at layers[{i}]"


def _sublayers(layer: Layer) -> list[Layer]:
    """``layer`` and every layer inside it, in the order its forward pass runs them."""
    if isinstance(layer, Sequential):
        return [layer, *(inner for sub in layer.layers for inner in _sublayers(sub))]
    if isinstance(layer, Residual):
        return [layer, *_sublayers(layer.block)]
    return [layer]


def _activation_layer(block: Layer) -> Dense | ActivationLayer | None:
    """Return the layer whose activation stands for ``block``: its last nonlinearity.

    The last :class:`ActivationLayer` or :class:`Dense` whose activation is not the identity;
    the last of them if all are the identity; None if the block has neither.
    """
    candidates = [
        layer for layer in _sublayers(block) if isinstance(layer, (Dense, ActivationLayer))
    ]
    nonlinear = [
        layer for layer in candidates if not isinstance(layer.activation, activations.Identity)
    ]
    chosen = nonlinear or candidates
    return chosen[-1] if chosen else None


@contextlib.contextmanager
def _listening(layer: Layer, record: dict[str, Array]) -> Iterator[None]:
    """Record ``layer``'s forward input (``x``) and output (``a``) and its backward ``dy``.

    The layer's own methods still run; the recording wrappers are instance attributes that
    shadow them until the block exits.
    """
    forward, backward = layer.forward, layer.backward

    def recorded_forward(x: Array, /) -> Array:
        record["x"] = x
        record["a"] = a = forward(x)
        return a

    def recorded_backward(dy: Array, /, **options: Any) -> Any:
        record["dy"] = dy
        return backward(dy, **options)

    attributes = vars(layer)
    attributes["forward"], attributes["backward"] = recorded_forward, recorded_backward
    try:
        yield
    finally:
        del attributes["forward"], attributes["backward"]


@contextlib.contextmanager
def _state_kept(blocks: Sequence[Layer]) -> Iterator[None]:
    """Put back the blocks' gradients and BatchNorm running statistics on exit, in place."""
    saved = [g.copy() for block in blocks for g in block.grads()]
    norms = [
        layer for block in blocks for layer in _sublayers(block) if isinstance(layer, BatchNorm)
    ]
    statistics = [(norm.running_mean.copy(), norm.running_var.copy()) for norm in norms]
    try:
        yield
    finally:
        current = [g for block in blocks for g in block.grads()]
        for grad, kept in zip(current, saved, strict=True):
            np.copyto(grad, kept)
        for norm, (mean, var) in zip(norms, statistics, strict=True):
            np.copyto(norm.running_mean, mean)
            np.copyto(norm.running_var, var)


def _network_input(net: Any, x: Array) -> Array:
    """``x`` checked as the network's own forward pass checks it, in the network's dtype."""
    if isinstance(net, Sequential):
        return net._check_input(x)
    return np.asarray(as_float_array(x, "x"), dtype=net.dtype)


@dataclass(frozen=True, eq=False)
class BlockTrace:
    r"""One forward and backward pass through a network of blocks, with every block's values.

    A block is an element of ``net.layers``: a :class:`~gradwatch.Dense` layer, a
    :class:`~gradwatch.Sequential` (``MLP(norm=...)``), a :class:`~gradwatch.Residual`
    (``MLP(residual=True)``) or any :class:`~gradwatch.layers.Layer`. Lists run from the input
    to the output, one entry per block, except ``da``, which has one more, for the input.

    Each block is represented by its *activation layer*: the last
    :class:`~gradwatch.ActivationLayer` or :class:`~gradwatch.Dense` inside it whose activation
    is not the identity (the last of them if all are; none if it has neither). ``z``,
    ``activated`` and ``dz`` are read at that layer, inside the block: for
    ``Residual(Sequential([LayerNorm, ActivationLayer, Dense]))`` they belong to the
    ActivationLayer, not to the sum :math:`x + f(x)`. Made by :func:`block_trace`.

    Attributes
    ----------
    x : ndarray, shape (n_samples, n_in)
        The input, in the network's dtype.
    a : list of ndarray, shape (n_samples, n_out of the block) each
        Output of each block; ``a[-1]`` is the network's output.
    da : list of ndarray, length n_blocks + 1
        Gradient at each block boundary: ``da[0]`` is :math:`\partial L/\partial x`, ``da[l]``
        the gradient at the output of block ``l`` (counting from 1), ``da[-1]`` the gradient
        that arrived at the output.
    activation : tuple of (Activation or None)
        The activation of each block's activation layer; None if the block has none.
    z : list of (ndarray or None)
        Input of each block's activation layer, its pre-activations (for a Dense layer,
        :math:`x W + b`); None if the block has none.
    activated : list of (ndarray or None)
        Output of each block's activation layer, :math:`g(z)`; None if the block has none.
    dz : list of ndarray
        :math:`\partial L/\partial z = \partial L/\partial g(z) \odot g'(z)` at each block's
        activation layer; for a block without one, the gradient at its output, ``da[l]``.
    grads : list of list of ndarray
        Copies of each block's ``grads()`` as this pass set them, in the order of its
        ``params()``. The network's own gradients were put back.
    loss : float or None
        As in :class:`Trace`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 3, 1], activation="relu", residual=True, seed=0)
    >>> t = gw.diagnostics.block_trace(net, np.ones((4, 2)), dy=np.ones((4, 1)))
    >>> len(t.a), len(t.da), [act.name for act in t.activation]
    (3, 4, ['relu', 'relu', 'identity'])
    """

    x: Array
    a: list[Array]
    da: list[Array]
    activation: tuple[activations.Activation | None, ...]
    z: list[Array | None]
    activated: list[Array | None]
    dz: list[Array]
    grads: list[list[Array]]
    loss: float | None


def block_trace(
    net: Sequential,
    x: Array,
    y: Array | None = None,
    *,
    loss: str | losses.Loss = "mse",
    dy: Array | None = None,
    seed: int | np.random.Generator = 0,
) -> BlockTrace:
    r"""Run ``net`` forward and backward block by block and keep every block's values.

    Forward, ``a = block.forward(a)`` for each element of ``net.layers``; backward, from the
    output gradient (as in :func:`trace`: that of ``loss`` when targets ``y`` are given, ``dy``
    when it is given, else a standard normal draw from ``seed``), ``g = block.backward(g)`` in
    reverse, each block's own methods. Along the way each block's activation layer (see
    :class:`BlockTrace`) records its input, output and incoming gradient.

    Works for any network whose ``layers`` have the :class:`~gradwatch.layers.Layer` interface,
    a plain MLP included (its blocks are its Dense layers, and the numbers agree with
    :func:`trace`'s). The forward caches are left holding this batch, as after any forward pass;
    the network's gradients and every :class:`~gradwatch.BatchNorm`'s running statistics are
    put back as they were, in place, so the measurement is not a training step. A layer that
    replaces its gradient arrays instead of writing into them keeps the new arrays, holding
    the old values. BatchNorm layers run in the mode the network is in.

    Parameters
    ----------
    net : Sequential
        An :class:`~gradwatch.MLP` (with any ``norm`` and ``residual``) or a
        :class:`~gradwatch.Sequential`.
    x, y, loss, dy, seed
        As for :func:`trace`: the input, of shape ``(n_samples, n_in)``, and what starts the
        backward pass (targets and a loss, an output gradient, or the seed of a random one).

    Returns
    -------
    BlockTrace

    Raises
    ------
    ValueError
        If ``x`` does not fit the network, ``dy`` does not have the output's shape, or both
        ``y`` and ``dy`` are given.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 4, 4, 1], activation="tanh", norm="layer", seed=0)
    >>> x, y = np.ones((5, 2)), np.zeros((5, 1))
    >>> t = gw.diagnostics.block_trace(net, x, y)
    >>> [a.shape for a in t.a], [len(g) for g in t.grads]
    ([(5, 4), (5, 4), (5, 1)], [4, 4, 2])
    >>> loss, grads = net.loss_and_grads(x, y)      # the network's own backward pass agrees
    >>> bool(np.isclose(t.loss, loss) and np.allclose(t.grads[0][0], grads[0]))
    True
    """
    if y is not None and dy is not None:
        raise ValueError("give the targets y (with loss) or the output gradient dy, not both")
    blocks = _layers_of(net)
    probes = [_activation_layer(block) for block in blocks]
    records: dict[int, dict[str, Array]] = {id(p): {} for p in probes if p is not None}
    with _state_kept(blocks), contextlib.ExitStack() as stack:
        for key, listened in {id(p): p for p in probes if p is not None}.items():
            stack.enter_context(_listening(listened, records[key]))
        checked = a = _network_input(net, x)
        outputs: list[Array] = []
        for block in blocks:
            a = block.forward(a)
            outputs.append(a)
        value, grad = _output_gradient(a, y, loss, dy, seed, net.dtype)
        da: list[Array] = [grad]
        for block in reversed(blocks):
            grad = block.backward(grad)
            da.append(grad)
        grads = [[g.copy() for g in block.grads()] for block in blocks]
    da.reverse()
    found: list[activations.Activation | None] = []
    zs: list[Array | None] = []
    activated: list[Array | None] = []
    dz: list[Array] = []
    for i, probe in enumerate(probes):
        record = records[id(probe)] if probe is not None else {}
        if probe is None or "dy" not in record:  # no activation layer, or the block skipped it
            found.append(None)
            zs.append(None)
            activated.append(None)
            dz.append(da[i + 1])
            continue
        z = record["x"] if isinstance(probe, ActivationLayer) else record["x"] @ probe.W + probe.b
        found.append(probe.activation)
        zs.append(z)
        activated.append(record["a"])
        dz.append(record["dy"] * probe.activation.derivative(z))
    return BlockTrace(
        x=checked,
        a=outputs,
        da=da,
        activation=tuple(found),
        z=zs,
        activated=activated,
        dz=dz,
        grads=grads,
        loss=None if value is None else float(value),
    )


def _run(net: Any, x: Array, **start: Any) -> Trace | BlockTrace:
    """:func:`trace` for a network of Dense layers, :func:`block_trace` for any other.

    ``start`` holds the keyword arguments of both (``y``, ``loss``, ``dy``, ``seed``).
    """
    run = trace if _is_plain(net) else block_trace
    return run(net, x, **start)


def backprop_norms(
    net: Any, x: Array, dy: Array | None = None, seed: int | np.random.Generator = 0
) -> Array:
    r"""Size of the backpropagated gradient at every layer, from the input to the output.

    Reads :func:`trace` and records the root-mean-square over samples of
    :math:`\lVert \partial L/\partial a^{(l)} \rVert`, where :math:`a^{(0)} = x` is the input
    and :math:`a^{(L)} = y` the output. For a network of blocks (``MLP(norm=...)``,
    ``MLP(residual=True)``, a :class:`~gradwatch.Sequential`) it reads :func:`block_trace`:
    :math:`a^{(l)}` is then the output of block ``l``, and the entries are the gradient at each
    block boundary.

    Parameters
    ----------
    net : MLP or Sequential
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
    passed = _run(net, x, dy=dy, seed=seed)
    n_samples = max(passed.x.shape[0], 1)
    return np.asarray([float(np.linalg.norm(widened(g))) / np.sqrt(n_samples) for g in passed.da])


def weight_grad_norms(net: Any) -> Array:
    r"""Frobenius norm :math:`\lVert \partial L/\partial W^{(l)} \rVert` of each layer's weights.

    Read after a backward pass of the network's own (``net.loss_and_grads`` or
    ``net.backward``); the measurements of this module leave ``dW`` unchanged. For a network of
    blocks, one entry per block: the norm of all its weight-matrix gradients taken together
    (the gradients of its 2-D parameters; 0 for a block with none, such as a normalisation).

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
    >>> net = gw.MLP([2, 4, 4, 1], norm="batch", residual=True, seed=0)
    >>> _ = net.loss_and_grads(np.eye(2), np.zeros((2, 1)))
    >>> gw.diagnostics.weight_grad_norms(net).shape     # one per block
    (3,)
    """
    if _is_plain(net):
        return np.asarray([float(np.linalg.norm(widened(layer.dW))) for layer in net.layers])
    return np.asarray(
        [
            float(np.linalg.norm(widened(_joined(_matrices(block.params(), block.grads())))))
            for block in net.layers
        ]
    )


def _matrices(params: Sequence[Array], arrays: Sequence[Array]) -> list[Array]:
    """Keep the entries of ``arrays`` that belong to a weight matrix, a 2-D entry of ``params``."""
    return [a for p, a in zip(params, arrays, strict=True) if p.ndim == 2]


def _joined(arrays: Sequence[Array]) -> Array:
    """Return the one array itself, or every array's entries in one vector (empty for none)."""
    if len(arrays) == 1:
        return arrays[0]
    if not arrays:
        return np.zeros(0)
    return np.concatenate([a.ravel() for a in arrays])


# ---------------------------------------------------------------------------------------------
# Per-layer statistics, the health report and Jacobians (pages "Diagnosing a network" and
# "Signal propagation").
# ---------------------------------------------------------------------------------------------


def _saturation(activation: activations.Activation, a: Array) -> float | None:
    """Fraction of ``a`` in the activation's saturated region; None if it has no such region."""
    if activation.saturation_interval is None:
        return None
    return float(np.mean(activation.saturated(a)))


def _dead(activation: activations.Activation, z: Array) -> float | None:
    """Fraction of units with ``z <= 0`` for every sample; None if the units cannot die."""
    if not activation.can_die:
        return None
    return float(np.mean(np.all(z <= 0, axis=0)))


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return float("inf") if numerator > 0 else float("nan")
    return numerator / denominator


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """Lay out a table as aligned plain text, two spaces between columns (for ``repr``).

    ``align`` has one letter a column, ``r`` (right) or ``l`` (left); trailing spaces are
    dropped, so a left-aligned last column is not padded.
    """
    table = [header, *rows]
    widths = [max(len(row[j]) for row in table) for j in range(len(header))]
    pad = {"r": str.rjust, "l": str.ljust}
    lines = [
        "  ".join(pad[a](cell, w) for cell, w, a in zip(row, widths, align, strict=True))
        for row in table
    ]
    return "\n".join(line.rstrip() for line in lines)


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay out a table in Markdown (for ``to_markdown``): a header row, a rule, the rows."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


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
    saturation : tuple of (float or None), length n_layers
        Fraction of activations in the flat tails, where the layer's activation says
        :meth:`~gradwatch.activations.Activation.saturated` (:math:`|a| \ge 0.97` for
        ``tanh``, :math:`a \le 0.03` or :math:`a \ge 0.97` for ``sigmoid``). ``None`` for a
        layer whose activation has no saturated region (its ``saturation_interval`` is None),
        shown as ``-`` in the table.
    dead : tuple of (float or None), length n_layers
        For an activation whose units can die (``can_die``: ``relu``, ``leaky_relu``, ``elu``,
        ``selu``): fraction of units whose pre-activation is :math:`z \le 0` for every sample of
        the batch, i.e. units that never reach their slope-one regime (for ``relu`` they pass no
        gradient at all; for the others only the small negative-side slope). ``None`` for the
        other activations, shown as ``-``.
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

    Notes
    -----
    For a network of blocks (``MLP(norm=...)``, ``MLP(residual=True)``, a
    :class:`~gradwatch.Sequential`) there is one row per element of ``net.layers``, read from
    :func:`block_trace`, and each column means, for a block:

    - ``activation``: that of the block's activation layer, its last
      :class:`~gradwatch.ActivationLayer` or :class:`~gradwatch.Dense` whose activation is not
      the identity (the last of them if all are); ``"none"`` if it has neither;
    - ``shape``: the widths the block took and gave on the batch (its ``n_in`` and ``n_out``
      where it fixes them);
    - ``act_mean``, ``act_std``: of the block's output, what flows into the next block (for a
      residual block, the sum :math:`x + f(x)`);
    - ``saturation``, ``dead``: on the activation layer's output and input, inside the block
      (not on a residual sum or after a normalisation that follows it); ``None`` without one;
    - ``delta_norm``: RMS over samples of :math:`\lVert\partial L/\partial z\rVert` at the
      activation layer's input; at the block's output for a block without one;
    - ``grad_norm``, ``grad_data``, ``update_data``: from the block's weight matrices (its 2-D
      parameters) taken together: the norm of their gradients, and the std of their gradients
      and of their one-step update over the std of their entries. A block without weight
      matrices (a normalisation) has ``grad_norm`` 0 and ``nan`` ratios, which :func:`health`
      does not flag.

    For a plain MLP each block is a Dense layer and these are the per-layer meanings above.
    """

    activation: tuple[str, ...]
    shape: tuple[tuple[int, int], ...]
    act_mean: Array
    act_std: Array
    saturation: tuple[float | None, ...]
    dead: tuple[float | None, ...]
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
                value = getattr(self, key)[i]
                cells.append("-" if value is None else fmt.format(float(value)))
            rows.append(cells)
        return header, rows

    def __repr__(self) -> str:
        header, rows = self._table()
        return f"LayerStats(loss={self.loss:.4g})\n" + _text_table(header, rows, "r" * len(header))

    def to_markdown(self) -> str:
        """Return the table in Markdown, ``-`` where a statistic does not apply (``None``).

        Returns
        -------
        str
            A header row, the rule below it and one row per layer, the columns of ``repr``.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> net = gw.MLP([2, 3, 1], activation="relu", seed=0)
        >>> stats = gw.diagnostics.layer_stats(net, np.ones((4, 2)), np.zeros((4, 1)))
        >>> print(stats.to_markdown().splitlines()[0][:60])
        | layer | activation | shape | act mean | act std | saturate
        """
        return _markdown_table(*self._table())


def _blocks_traced(net: Any, x: Array, y: Array, loss: str | Any) -> BlockTrace:
    """:func:`block_trace`, or for a network of Dense layers its :func:`trace` in that form."""
    if not _is_plain(net):
        return block_trace(net, x, y, loss=loss)
    passed = trace(net, x, y, loss=loss)
    return BlockTrace(
        x=passed.x,
        a=passed.a,
        da=passed.da,
        activation=tuple(layer.activation for layer in net.layers),
        z=[*passed.z],
        activated=[*passed.a],
        dz=passed.dz,
        grads=[[dW, db] for dW, db in zip(passed.dW, passed.db, strict=True)],
        loss=passed.loss,
    )


def _one_step(
    optimizer: Any, params: Sequence[Sequence[Array]], grads: Sequence[Sequence[Array]]
) -> list[list[Array]]:
    """Change of every parameter in one step of a copy of ``optimizer``, on copies.

    ``params`` and ``grads`` are grouped by block; so is the result.
    """
    moved = [p.copy() for group in params for p in group]
    before = [p.copy() for p in moved]
    copy.deepcopy(optimizer).step(moved, [g.copy() for group in grads for g in group])
    changes = iter([p - p0 for p, p0 in zip(moved, before, strict=True)])
    return [[next(changes) for _ in group] for group in params]


def _std(a: Array) -> float:
    """Return the standard deviation of the entries (float16 in float32); 0 for no entries."""
    return float(np.std(widened(a))) if a.size else 0.0


def layer_stats(
    net: Any, x: Array, y: Array, loss: str | Any = "mse", optimizer: Any = None
) -> LayerStats:
    r"""Per-layer activation and gradient statistics of ``net`` on one batch.

    Reads one :func:`trace` of the batch. With an ``optimizer``, the update of one step is
    computed on copies of the parameters and of the optimiser (:func:`copy.deepcopy`), so
    neither the network's weights and gradients nor the optimiser's state (momentum, step count)
    change.

    A network of blocks (``MLP(norm=...)``, ``MLP(residual=True)``, a
    :class:`~gradwatch.Sequential`) gets one row per block, read from :func:`block_trace`; the
    notes of :class:`LayerStats` say what each column means for a block.

    Parameters
    ----------
    net : MLP or Sequential
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
    >>> deep = gw.MLP([2, 4, 4, 4, 1], activation="tanh", norm="layer", residual=True, seed=0)
    >>> stats = gw.diagnostics.layer_stats(deep, np.ones((8, 2)), np.zeros((8, 1)))
    >>> len(stats), stats.activation, stats.shape[1]        # one row per block
    (4, ('tanh', 'tanh', 'tanh', 'identity'), (4, 4))
    """
    passed = _blocks_traced(net, x, y, loss)
    n_samples = max(passed.x.shape[0], 1)
    params = [block.params() for block in net.layers]
    update = None if optimizer is None else _one_step(optimizer, params, passed.grads)
    numeric = ("act_mean", "act_std", "delta_norm", "grad_norm", "grad_data", "update_data")
    rows: dict[str, list[float]] = {key: [] for key in numeric}
    for i, block_params in enumerate(params):
        w_std = _std(_joined(_matrices(block_params, block_params)))
        dW = _joined(_matrices(block_params, passed.grads[i]))
        rows["act_mean"].append(float(np.mean(passed.a[i])))
        rows["act_std"].append(_std(passed.a[i]))
        rows["delta_norm"].append(float(np.linalg.norm(widened(passed.dz[i]))) / np.sqrt(n_samples))
        rows["grad_norm"].append(float(np.linalg.norm(widened(dW))))
        rows["grad_data"].append(_ratio(_std(dW), w_std))
        if update is not None:
            step = _joined(_matrices(block_params, update[i]))
            rows["update_data"].append(_ratio(_std(step), w_std))
    units = list(zip(passed.activation, passed.z, passed.activated, strict=True))
    return LayerStats(
        activation=tuple("none" if act is None else act.name for act in passed.activation),
        shape=tuple(
            (a_in.shape[1], a.shape[1])
            for a_in, a in zip([passed.x, *passed.a[:-1]], passed.a, strict=True)
        ),
        act_mean=np.asarray(rows["act_mean"]),
        act_std=np.asarray(rows["act_std"]),
        saturation=tuple(
            None if act is None or a is None else _saturation(act, a) for act, _, a in units
        ),
        dead=tuple(None if act is None or z is None else _dead(act, z) for act, z, _ in units),
        delta_norm=np.asarray(rows["delta_norm"]),
        grad_norm=np.asarray(rows["grad_norm"]),
        grad_data=np.asarray(rows["grad_data"]),
        update_data=np.asarray(rows["update_data"]) if update is not None else None,
        loss=float(passed.loss if passed.loss is not None else np.nan),
    )


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
        table = _text_table(("layer", "verdict", "reasons"), self._rows(), "rll")
        return f"HealthReport({self.verdict})\n" + table

    def to_markdown(self) -> str:
        """Return the verdicts as a Markdown table, the network's last.

        Returns
        -------
        str
            Columns ``layer``, ``verdict`` and ``reasons`` (``-`` for none), one row per layer.

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
        return _markdown_table(("layer", "verdict", "reasons"), self._rows())


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
        Above it, most units of a saturating layer (``tanh``, ``sigmoid``) sit where their slope
        is below 6 % of its maximum, and the gradient through them vanishes. Not checked for
        layers without a saturated region.
    max_dead : float, default 0.5
        Above it, most units of a layer whose units can die (ReLU and its relatives) never reach
        their slope-one regime on the batch.
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
        saturation, dead = stats.saturation[i], stats.dead[i]
        if saturation is not None and saturation > max_saturation:
            vanishing.append(f"{saturation:.0%} of activations saturated")
        if dead is not None and dead > max_dead:
            vanishing.append(f"{dead:.0%} of units dead")
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
    ``(n_in, n_out)``. For a network of blocks (see :func:`jacobians`) there is one entry per
    block: :math:`\partial a^{(l+1)}/\partial a^{(l)}` across block ``l + 1``, e.g.
    :math:`I + J_f` for a residual block.

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

    For a network of blocks (``MLP(norm=...)``, ``MLP(residual=True)``, a
    :class:`~gradwatch.Sequential`) each entry is a block's Jacobian, built row by row from the
    block's own backward pass: row ``i`` is ``block.backward(e_i)`` after ``block.forward`` on
    the sample. The network's gradients and BatchNorm running statistics are put back after.
    A :class:`~gradwatch.BatchNorm` cannot standardise one sample with its own statistics:
    call ``net.eval()`` first, so that it uses the running ones.

    Parameters
    ----------
    net : MLP or Sequential
    x : ndarray, shape (n_in,) or (1, n_in)
        One sample.

    Returns
    -------
    Jacobians

    Raises
    ------
    ValueError
        If ``x`` holds more than one sample or does not have ``n_in`` features, or a
        BatchNorm of ``net`` is in training mode.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([3, 3, 3], activation="identity", init="orthogonal", seed=0)
    >>> jac = gw.diagnostics.jacobians(net, np.ones(3))
    >>> jac.product.shape, jac.product_singular_values.round(6).tolist()
    ((3, 3), [1.0, 1.0, 1.0])
    >>> block = gw.Sequential([gw.Residual(gw.Dense(2, 2, activation="identity", init="ones"))])
    >>> gw.diagnostics.jacobians(block, np.ones(2)).layers[0]      # I + W^T
    array([[2., 1.],
           [1., 2.]])
    """
    plain = _is_plain(net)
    sample = as_float_array(x, "x")
    if sample.ndim == 2 and sample.shape[0] == 1:
        sample = sample[0]
    if sample.ndim != 1:
        raise ValueError(
            f"x must be one sample, shape (n_in,) or (1, n_in); got shape {sample.shape}"
        )
    if plain:
        passed = trace(net, sample[None, :], dy=np.zeros((1, net.layers[-1].n_out)))
        layers = [
            layer.activation.derivative(z[0])[:, None] * layer.W.T
            for layer, z in zip(net.layers, passed.z, strict=True)
        ]
    else:
        layers = _block_jacobians(net, sample[None, :])
    product = layers[0]
    for jac in layers[1:]:
        product = jac @ product
    return Jacobians(
        layers=layers,
        product=product,
        singular_values=[np.linalg.svd(j, compute_uv=False) for j in layers],
        product_singular_values=np.linalg.svd(product, compute_uv=False),
    )


def _block_jacobians(net: Any, x: Array) -> list[Array]:
    """Each block's Jacobian at the one-sample ``x``, one row per output unit, by backward."""
    blocks: list[Layer] = list(net.layers)
    result = []
    with _state_kept(blocks):
        a = _network_input(net, x)
        for block in blocks:
            a = block.forward(a)
            unit = np.eye(a.shape[1], dtype=a.dtype)
            result.append(np.stack([block.backward(row[None, :])[0] for row in unit]))
    return result


def layer_values(
    net: Any, x: Array, y: Array, loss: str | Any = "mse"
) -> tuple[list[Array], list[Array]]:
    r"""Return every layer's activations and backpropagated gradients.

    The activations are :math:`a^{(l)}`, the gradients :math:`\partial L/\partial z^{(l)}`.

    For per-layer histograms: the ``a`` and ``dz`` of a :func:`trace`. The network's weights
    and gradients are not changed. For a network of blocks, those of a :func:`block_trace`:
    each block's output, and the gradient at the input of its activation layer (at its output
    for a block without one), the values behind the ``act`` and ``dL/dz`` columns of
    :func:`layer_stats`.

    Parameters
    ----------
    net, x, y, loss
        As for :func:`layer_stats`.

    Returns
    -------
    activations : list of ndarray, shape (n_samples, n_out) each
    gradients : list of ndarray, shape (n_samples, n_out) each
        Input layer first in both lists. For a block, ``n_out`` of ``gradients`` is the width
        of its activation layer.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], seed=0)
    >>> a, g = gw.diagnostics.layer_values(net, np.ones((4, 2)), np.zeros((4, 1)))
    >>> [v.shape for v in a], [v.shape for v in g]
    ([(4, 3), (4, 1)], [(4, 3), (4, 1)])
    """
    passed = _run(net, x, y=y, loss=loss)
    return passed.a, passed.dz


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
    ``net`` and ``optimizer``). A network of blocks is reported per block.

    Parameters
    ----------
    net : MLP or Sequential
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
    layer_activations, layer_gradients = layer_values(net, x, y, loss=loss)
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
    return Diagnosis(stats, health(stats), layer_activations, layer_gradients, history)


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


# ---------------------------------------------------------------------------------------------
# Gradient norms measured in random networks, to hold against gradwatch.theory (pages on the
# maths of vanishing and exploding gradients, and on signal propagation).
# ---------------------------------------------------------------------------------------------


def random_mlp(
    width: int,
    depth: int,
    activation: str = "tanh",
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    *,
    seed: int | np.random.Generator = 0,
    weights: str = "normal",
) -> MLP:
    r"""Build the random network that theory describes: ``depth`` identical layers.

    Weights :math:`W \sim \mathcal N(0, \sigma_w^2/n_\text{in})` through
    ``gw.init.get("normal", std=sigma_w / sqrt(width))``, or, with ``weights="orthogonal"``,
    :math:`\sigma_w` times a random orthogonal matrix (every singular value :math:`\sigma_w`);
    biases :math:`b \sim \mathcal N(0, \sigma_b^2)`. Every layer, the output layer included,
    uses ``activation``, so every layer scales gradients alike.

    Parameters
    ----------
    width : int
        Width of the input, of every hidden layer and of the output.
    depth : int
        Number of layers.
    activation : str, default "tanh"
    sigma_w : float, default 1.0
    sigma_b : float, default 0.0
    seed : int or numpy.random.Generator, default 0
    weights : {"normal", "orthogonal"}, default "normal"

    Returns
    -------
    MLP

    Examples
    --------
    >>> import gradwatch as gw
    >>> net = gw.diagnostics.random_mlp(4, 3, "tanh", sigma_w=1.0, sigma_b=0.1, seed=0)
    >>> net.sizes
    [4, 4, 4, 4]
    """
    n = check_positive_int(width, "width")
    layers = check_positive_int(depth, "depth")
    w = check_positive(sigma_w, "sigma_w")
    b = 0.0 if sigma_b == 0 else check_positive(sigma_b, "sigma_b")
    if weights == "normal":
        weight_init = init.get("normal", std=w / np.sqrt(n))
    elif weights == "orthogonal":
        weight_init = init.get("orthogonal", gain=w)
    else:
        raise ValueError(f"weights must be 'normal' or 'orthogonal', got {weights!r}")
    bias_init = init.get("normal", std=b) if b > 0 else "zeros"
    return MLP(
        [n] * (layers + 1),
        activation=activation,
        output_activation=activation,
        init=weight_init,
        bias_init=bias_init,
        seed=seed,
    )


def depth_profile(net: MLP, n_samples: int = 32, seed: int | np.random.Generator = 0) -> Array:
    r"""Measured gradient size after each number of layers, relative to the output's.

    Draws standard normal inputs ``x`` of shape ``(n_samples, n_in)`` and a standard normal
    output gradient from ``seed``, backpropagates with :func:`backprop_norms`, and reads the
    result from the output down. For a network of blocks the depth counts blocks: entry ``d``
    is read at the boundary ``d`` blocks below the output.

    Parameters
    ----------
    net : MLP or Sequential
    n_samples : int, default 32
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    ndarray, shape (n_layers + 1,)
        Entry ``d`` is the RMS over samples of
        :math:`\lVert \partial J/\partial a^{(L-d)} \rVert` divided by that of
        :math:`\lVert \partial J/\partial y \rVert`: entry 0 is 1 and the last entry is the
        ratio at the input.

    Raises
    ------
    ValueError
        If the network does not fix its input width (no layer has an ``n_in``).

    Examples
    --------
    >>> import gradwatch as gw
    >>> net = gw.MLP([3, 3, 3], activation="identity", init="orthogonal", seed=0)
    >>> gw.diagnostics.depth_profile(net, n_samples=4, seed=0).round(6).tolist()
    [1.0, 1.0, 1.0]
    >>> residual = gw.MLP([8] * 6, activation="relu", norm="layer", residual=True, seed=0)
    >>> gw.diagnostics.depth_profile(residual, seed=0).shape
    (6,)
    """
    count = check_positive_int(n_samples, "n_samples")
    rng = make_rng(seed, "seed")
    width = net.layers[0].n_in if _is_plain(net) else net.n_in
    if width is None:
        raise ValueError(
            f"depth_profile draws inputs of the network's width, but this "
            f"{type(net).__name__} takes any width: no layer fixes n_in"
        )
    x = rng.standard_normal((count, width))
    norms = backprop_norms(net, x, seed=rng)
    result: Array = norms[::-1] / norms[-1]
    return result


def measured_gradient_norms(
    depth: int,
    width: int,
    scale: float,
    activation: str = "identity",
    *,
    seeds: Sequence[int] = (0,),
    n_samples: int = 32,
) -> Array:
    r"""Gradient size after each number of layers, measured in random square networks.

    For each seed, builds ``random_mlp(width, depth, activation, sigma_w=scale, seed=seed)``
    (weights :math:`\mathcal N(0, s^2/n)`, zero biases, ``activation`` at every layer, the
    output layer included) and measures its :func:`depth_profile`; the squared ratios are
    averaged over the seeds and the square root taken, so the result estimates the RMS ratio
    that :func:`gradwatch.theory.predicted_gradient_norms` predicts.

    Parameters
    ----------
    depth, width : int
    scale : float
    activation : str, default "identity"
    seeds : sequence of int, default (0,)
        One network, input batch and output gradient per seed.
    n_samples : int, default 32

    Returns
    -------
    ndarray, shape (depth + 1,)

    Raises
    ------
    ValueError
        If ``seeds`` is empty.

    Examples
    --------
    >>> import gradwatch as gw
    >>> ratios = gw.diagnostics.measured_gradient_norms(10, 64, 0.5, seeds=[0, 1])
    >>> round(float(ratios[-1] / 0.5**10), 1)
    1.0
    """
    checked: object = seeds  # checked at run time whatever the annotation says
    if isinstance(checked, (str, bytes)) or not isinstance(checked, Sequence) or not checked:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    squares = []
    for seed in seeds:
        net = random_mlp(width, depth, activation, sigma_w=scale, seed=seed)
        squares.append(depth_profile(net, n_samples, seed) ** 2)
    result: Array = np.sqrt(np.mean(squares, axis=0))
    return result


def fit_per_layer_factor(ratios: Sequence[float] | Array) -> float:
    r"""Per-layer factor of a norm that changes geometrically with depth, fitted by least squares.

    Fits :math:`\log r_d = d \log \rho` (a line through the origin, as :math:`r_0 = 1`) and
    returns :math:`\rho`.

    Parameters
    ----------
    ratios : sequence of float, shape (depth + 1,)
        Positive ratios :math:`r_d`, entry 0 at depth 0 (as returned by
        :func:`depth_profile`).

    Returns
    -------
    float
        :math:`\rho = \exp\big(\sum_d d \log r_d / \sum_d d^2\big)`.

    Raises
    ------
    ValueError
        If there are fewer than two ratios or one is not positive and finite.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.diagnostics.fit_per_layer_factor([1.0, 0.5, 0.25, 0.125]), 6)
    0.5
    """
    values = np.asarray(ratios, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"ratios must be a 1-D sequence of at least 2 values, got {ratios!r}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("ratios must all be positive and finite")
    d = np.arange(values.size, dtype=np.float64)
    return float(np.exp(np.dot(d, np.log(values)) / np.dot(d, d)))


def _input_variance(act: activations.Activation, sigma_w: float, sigma_b: float) -> float:
    """Variance of the inputs drawn at the fixed point: :math:`q^*`, or 1 where :math:`q^* = 0`.

    Without biases, in the ordered phase, :math:`q^* = 0` would make every input 0; the inputs
    then take unit variance.
    """
    q_star = theory.q_fixed_point(act, sigma_w, sigma_b)
    return q_star if q_star > 0 else 1.0


def measure_chi_1(
    activation: str,
    sigma_w: float,
    sigma_b: float = 0.0,
    *,
    width: int = 500,
    depth: int = 30,
    seeds: Sequence[int] = (0, 1, 2),
    n_samples: int = 16,
    skip: int = 5,
) -> tuple[float, Array]:
    r"""Measure the per-layer factor of the squared gradient norm in wide random networks.

    For each seed, builds :func:`random_mlp`, draws inputs already at the fixed point
    (:math:`x = g(\sqrt{q^*}\,z)` with :math:`z \sim \mathcal N(0, 1)`, so every layer is
    statistically alike) and a standard normal output gradient, and backpropagates with
    :func:`backprop_norms`. The factor is the geometric mean over the
    middle layers (``skip`` layers left out at each end) of
    :math:`\lVert\partial L/\partial a^{(l-1)}\rVert^2 / \lVert\partial L/\partial a^{(l)}\rVert^2`,
    averaged in log over the seeds. Mean-field theory predicts
    :func:`gradwatch.theory.chi_1`. Where
    :math:`q^* = 0` (no bias, ordered phase) the inputs take :math:`q = 1` instead.

    Parameters
    ----------
    activation : str
    sigma_w, sigma_b : float
    width, depth : int, default 500 and 30
    seeds : sequence of int, default (0, 1, 2)
        One network (and one batch) per seed.
    n_samples : int, default 16
    skip : int, default 5
        Layers left out at each end; ``depth > 2 * skip`` is required.

    Returns
    -------
    factor : float
        Geometric-mean per-layer factor of the squared norm.
    profile : ndarray, shape (depth + 1,)
        Mean over seeds (in log) of :math:`\lVert\partial L/\partial a^{(l)}\rVert^2` relative
        to the output's, input first.

    Examples
    --------
    >>> import gradwatch as gw
    >>> factor, profile = gw.diagnostics.measure_chi_1("relu", 1.2, width=200, depth=12, skip=2)
    >>> round(factor / gw.theory.chi_1("relu", 1.2), 1), profile.shape
    (1.0, (13,))
    """
    layers = check_positive_int(depth, "depth")
    margin = int(skip)
    if margin < 0 or layers <= 2 * margin:
        raise ValueError(f"skip must be in [0, depth/2), got skip={skip!r} for depth={depth!r}")
    if len(seeds) == 0:
        raise ValueError("seeds must name at least one seed")
    act = activations.get(activation)
    q_input = _input_variance(act, sigma_w, sigma_b)
    logs = []
    for seed in seeds:
        rng = make_rng(int(seed), "seeds")
        net = random_mlp(width, layers, act.name, sigma_w, sigma_b, seed=rng)
        x = act(np.sqrt(q_input) * rng.standard_normal((int(n_samples), int(width))))
        norms = backprop_norms(net, x, seed=rng)
        logs.append(2.0 * np.log(norms / norms[-1]))
    mean_log = np.mean(logs, axis=0)
    inner = mean_log[margin : layers + 1 - margin]
    factor = float(np.exp((inner[0] - inner[-1]) / (inner.size - 1)))
    profile: Array = np.exp(mean_log)
    return factor, profile


def jacobian_spectra(
    width: int,
    depth: int,
    activation: str = "tanh",
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    *,
    seed: int = 0,
) -> dict[str, Array]:
    r"""Compute the input-output Jacobian's singular values for Gaussian and orthogonal weights.

    Builds :func:`random_mlp` twice from the same seed, with ``weights="normal"`` and
    ``"orthogonal"``, and takes :func:`jacobians` at one input drawn at
    the fixed point (:math:`x = g(\sqrt{q^*} z)`). Orthogonal weights keep every singular value
    of each :math:`W` at :math:`\sigma_w`, the condition for dynamical isometry
    :cite:p:`saxe2014,pennington2017`.

    Parameters
    ----------
    width, depth : int
    activation : str, default "tanh"
    sigma_w, sigma_b : float
    seed : int, default 0

    Returns
    -------
    dict of str to ndarray, shape (width,)
        ``{"gaussian": ..., "orthogonal": ...}``, singular values in decreasing order.

    Examples
    --------
    >>> import gradwatch as gw
    >>> spectra = gw.diagnostics.jacobian_spectra(16, 4, "identity", seed=0)
    >>> sorted(set(spectra["orthogonal"].round(6).tolist()))
    [1.0]
    """
    act = activations.get(activation)
    q_input = _input_variance(act, sigma_w, sigma_b)
    rng = make_rng(seed, "seed")
    x = act(np.sqrt(q_input) * rng.standard_normal(check_positive_int(width, "width")))
    result = {}
    for kind in ("normal", "orthogonal"):
        net = random_mlp(width, depth, act.name, sigma_w, sigma_b, seed=seed, weights=kind)
        label = "gaussian" if kind == "normal" else kind
        result[label] = jacobians(net, x).product_singular_values
    return result


def chi_1_comparison(
    activation: str,
    sigma_ws: Sequence[float],
    sigma_b: float,
    *,
    width: int,
    depth: int,
    seeds: Sequence[int],
    n_samples: int = 16,
    skip: int = 4,
) -> dict[str, Array]:
    r"""Compare the predicted :math:`\chi_1` with the measured per-layer factor.

    Calls :func:`gradwatch.theory.chi_1` and :func:`measure_chi_1` for each :math:`\sigma_w`.

    Parameters
    ----------
    activation : str
    sigma_ws : sequence of float, shape (n,)
    sigma_b : float
    width, depth : int
    seeds : sequence of int
    n_samples, skip : int

    Returns
    -------
    dict of str to ndarray
        ``"sigma_w"`` (n,), ``"predicted"`` (n,), ``"measured"`` (n,), and ``"profiles"``
        (n, depth + 1): measured squared gradient norm at each layer relative to the output.

    Examples
    --------
    >>> import gradwatch as gw
    >>> table = gw.diagnostics.chi_1_comparison(
    ...     "relu", [1.0], 0.0, width=100, depth=8, seeds=[0], skip=2)
    >>> table["predicted"].tolist(), table["profiles"].shape
    ([0.5], (1, 9))
    """
    predicted, measured, profiles = [], [], []
    for w in sigma_ws:
        factor, profile = measure_chi_1(
            activation,
            w,
            sigma_b,
            width=width,
            depth=depth,
            seeds=seeds,
            n_samples=n_samples,
            skip=skip,
        )
        predicted.append(theory.chi_1(activation, w, sigma_b))
        measured.append(factor)
        profiles.append(profile)
    return {
        "sigma_w": np.asarray(sigma_ws, dtype=np.float64),
        "predicted": np.asarray(predicted),
        "measured": np.asarray(measured),
        "profiles": np.asarray(profiles),
    }
