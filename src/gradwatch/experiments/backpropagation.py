r"""Backpropagation on a network small enough to print, checked two ways.

The experiment of the page ``docs/backpropagation.md``, with its settings in
``conf/backpropagation.toml``, run by ``python -m gradwatch run backpropagation`` or by
:func:`run` (see its example). A small regression network (by default 2-3-1 with tanh hidden
units and a linear output, on two samples) is differentiated twice: by the library's batch
backward pass, and by :func:`column_backprop`, the textbook column-vector equations applied one
sample at a time. The two must agree to rounding. Then the backward pass is checked against
central finite differences (:func:`gradwatch.gradcheck`) for the same network with each
activation of the settings.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from gradwatch import losses, plotting
from gradwatch._validation import Array
from gradwatch.activations import Activation
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import activation, non_negative, positive, require
from gradwatch.gradcheck import GradCheckReport, gradcheck
from gradwatch.network import MLP


@dataclass(frozen=True)
class Settings:
    """Settings of the backpropagation page (``conf/backpropagation.toml``).

    Attributes
    ----------
    sizes : list of int
        Widths of the layers: inputs, hidden units, outputs (at least two entries).
    activation : str
        Hidden activation of the worked example (the output is linear); one of ``activations``.
    activations : list of str
        One gradient check per activation.
    n_samples : int
        Samples in the batch.
    seed : int
        Seed of the weights and of the data.
    eps : float
        Step of the central finite differences.
    rtol : float
        Largest relative error that passes the gradient check.
    timing_sizes : list of int
        Widths of the network whose forward and backward passes are timed.
    timing_samples : int
        Samples in its batch.
    timing_repeats : int
        Timed passes; the fastest counts.

    Examples
    --------
    >>> Settings().sizes
    [2, 3, 1]
    >>> Settings(activation="relu", activations=["tanh"])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'activation' = 'relu': expected one of the ...
    """

    sizes: list[int] = field(default_factory=lambda: [2, 3, 1])
    activation: str = "tanh"
    activations: list[str] = field(default_factory=lambda: ["sigmoid", "tanh", "relu", "gelu"])
    n_samples: int = 2
    seed: int = 0
    eps: float = 1e-6
    rtol: float = 1e-6
    timing_sizes: list[int] = field(default_factory=lambda: [512, 512, 512, 512, 512])
    timing_samples: int = 512
    timing_repeats: int = 10

    def __post_init__(self) -> None:
        positive("sizes", self.sizes)
        require(len(self.sizes) >= 2, "sizes", self.sizes, "at least two widths (in and out)")
        activation("activation", self.activation)
        activation("activations", self.activations)
        require(
            self.activation in self.activations,
            "activation",
            self.activation,
            f"one of the activations, {self.activations}",
        )
        positive("n_samples", self.n_samples)
        non_negative("seed", self.seed)
        positive("eps", self.eps)
        positive("rtol", self.rtol)
        positive("timing_sizes", self.timing_sizes)
        require(len(self.timing_sizes) >= 2, "timing_sizes", self.timing_sizes, "two widths")
        positive("timing_samples", self.timing_samples)
        positive("timing_repeats", self.timing_repeats)


def problem(settings: Settings, activation: str | None = None) -> tuple[MLP, Array, Array]:
    """Build the small regression problem of the page: a network and its data.

    Inputs and targets are standard normal, drawn from ``numpy.random.default_rng(seed)``; the
    network is an :class:`~gradwatch.MLP` with widths ``sizes``, the hidden activation
    ``activation`` and a linear output, its weights drawn from the same ``seed``.

    Parameters
    ----------
    settings : Settings
    activation : str, optional
        Overrides ``settings.activation``.

    Returns
    -------
    net : MLP
    x : ndarray, shape (n_samples, sizes[0])
    y : ndarray, shape (n_samples, sizes[-1])

    Examples
    --------
    >>> net, x, y = problem(Settings(sizes=[2, 3, 1], n_samples=2))
    >>> net.sizes, x.shape, y.shape
    ([2, 3, 1], (2, 2), (2, 1))
    """
    rng = np.random.default_rng(settings.seed)
    x = rng.normal(size=(settings.n_samples, settings.sizes[0]))
    y = rng.normal(size=(settings.n_samples, settings.sizes[-1]))
    name = settings.activation if activation is None else activation
    net = MLP(settings.sizes, activation=name, seed=settings.seed)
    return net, x, y


def textbook_backward(
    W: Array, x: Array, z: Array, da: Array, g: Activation
) -> tuple[Array, Array, Array]:
    r"""Backpropagate through one dense layer, as a textbook writes it.

    The rows of the table of the page, one line each: the same results as
    :meth:`gradwatch.Dense.backward`, which computes them in place and saves memory.

    Parameters
    ----------
    W : ndarray, shape (n_in, n_out)
    x : ndarray, shape (n_samples, n_in)
        The layer's input.
    z : ndarray, shape (n_samples, n_out)
        Its pre-activation, ``x @ W + b``.
    da : ndarray, shape (n_samples, n_out)
        :math:`\partial J/\partial a`, from the layer above.
    g : Activation

    Returns
    -------
    dW : ndarray, shape (n_in, n_out)
    db : ndarray, shape (n_out,)
    dx : ndarray, shape (n_samples, n_in)

    Examples
    --------
    >>> import gradwatch as gw
    >>> W, x = np.array([[1.0], [2.0]]), np.array([[1.0, 1.0]])
    >>> dW, db, dx = textbook_backward(W, x, x @ W, np.ones((1, 1)), gw.activations.get("identity"))
    >>> dW.ravel().tolist(), db.tolist(), dx.tolist()
    ([1.0, 1.0], [1.0], [[1.0, 2.0]])
    """
    dz = da * g.derivative(z)  # through the activation
    dW = x.T @ dz  # weights: one matrix product
    db = dz.sum(axis=0)  # bias
    dx = dz @ W.T  # input of the layer, handed down: the second product
    return dW, db, dx


def multiply_adds(sizes: Sequence[int], n_samples: int) -> tuple[int, int]:
    """Count the multiply-adds of the matrix products of a forward and a backward pass.

    Per layer, the forward pass has one product, ``x @ W``; the backward pass two, ``x.T @ dz``
    and ``dz @ W.T``, of the same size, but the first layer's ``dx`` is not needed (a
    network's :meth:`~gradwatch.MLP.loss_and_grads` skips it).

    Parameters
    ----------
    sizes : sequence of int
        Widths of the layers, input first.
    n_samples : int

    Returns
    -------
    forward, backward : int

    Examples
    --------
    >>> multiply_adds([2, 3, 1], 2)
    (18, 24)
    """
    products = [n_samples * n_in * n_out for n_in, n_out in itertools.pairwise(sizes)]
    return sum(products), 2 * sum(products) - products[0]


class PassTimes(NamedTuple):
    """Seconds of a forward and a backward pass, and of the forward pass's activations alone."""

    forward: float
    backward: float
    activation: float


def time_passes(settings: Settings) -> PassTimes:
    """Time a forward and a backward pass of a wide network: the fastest of several runs.

    The forward pass evaluates the activation of every hidden layer, which the backward pass
    does not repeat (it takes the slope from the output): ``activation`` times those
    evaluations alone, on pre-activations of the same shapes drawn from a standard normal, so
    that the rest of the forward pass can be compared with the backward pass's products.

    Parameters
    ----------
    settings : Settings
        ``timing_sizes`` (the network), ``timing_samples``, ``timing_repeats`` and
        ``activation``.

    Returns
    -------
    PassTimes
        ``forward``, ``backward`` and ``activation``, in seconds; the backward pass sets every
        gradient, as training needs (:meth:`~gradwatch.MLP.backward_params`).

    Examples
    --------
    >>> times = time_passes(Settings(timing_sizes=[64, 64, 64], timing_repeats=2))
    >>> times.forward > times.activation > 0 and times.backward > 0
    True
    """
    net = MLP(settings.timing_sizes, activation=settings.activation, seed=settings.seed)
    rng = np.random.default_rng(settings.seed)
    x = rng.normal(size=(settings.timing_samples, settings.timing_sizes[0]))
    dy = rng.normal(size=(settings.timing_samples, settings.timing_sizes[-1]))
    hidden = net.layers[:-1]  # the output layer is linear
    pre = [rng.normal(size=(settings.timing_samples, layer.n_out)) for layer in hidden]
    scratch = [np.empty_like(z) for z in pre]
    forward, backward, activations = [], [], []
    for _ in range(settings.timing_repeats):
        start = time.perf_counter()
        net.forward(x)
        middle = time.perf_counter()
        net.backward_params(dy)
        end = time.perf_counter()
        forward.append(middle - start)
        backward.append(end - middle)
        spent = 0.0
        for layer, z, out in zip(hidden, pre, scratch, strict=True):
            np.copyto(out, z)  # untimed: call_inplace overwrites its argument
            start = time.perf_counter()
            layer.activation.call_inplace(out)  # as Dense.forward evaluates it
            spent += time.perf_counter() - start
        activations.append(spent)
    return PassTimes(min(forward), min(backward), min(activations))


def column_backprop(net: MLP, x: Array, y: Array, loss: str = "mse") -> list[Array]:
    r"""Gradients of a network from the column-vector equations, one sample at a time.

    A reference implementation of backpropagation written as the textbooks write it. For each
    sample :math:`n` the input is a column :math:`a^{(0)} = x_n` of shape ``(n_in, 1)``, each
    layer's matrix is :math:`W^{(l)}` = ``layer.W.T`` of shape ``(n_out, n_in)``, and

    .. math::

        z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)}, \qquad a^{(l)} = g^{(l)}(z^{(l)}), \\
        \delta^{(l)} = \frac{\partial J}{\partial a^{(l)}} \odot g'^{(l)}(z^{(l)}), \quad
        \frac{\partial J}{\partial W^{(l)}} = \delta^{(l)} a^{(l-1)\top}, \quad
        \frac{\partial J}{\partial b^{(l)}} = \delta^{(l)}, \quad
        \frac{\partial J}{\partial a^{(l-1)}} = W^{(l)\top} \delta^{(l)} .

    The output gradient of sample :math:`n` is row :math:`n` of the gradient of the mean loss, so
    it carries the factor :math:`1/N`, and the batch gradient is the sum over the samples. The
    result should equal :meth:`MLP.loss_and_grads <gradwatch.MLP.loss_and_grads>` to rounding.

    Parameters
    ----------
    net : MLP
        Its parameters are read, not changed; its forward caches are overwritten.
    x : ndarray, shape (n_samples, n_in)
    y : ndarray
        Targets for the loss.
    loss : str, default "mse"

    Returns
    -------
    list of ndarray
        ``[dW1, db1, dW2, db2, ...]`` in the library's shapes, ``(n_in, n_out)`` and
        ``(n_out,)``, in the order of :meth:`MLP.params <gradwatch.MLP.params>`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], activation="tanh", seed=0)
    >>> x, y = np.array([[0.5, -1.0], [2.0, 0.1]]), np.array([[1.0], [0.0]])
    >>> _, grads = net.loss_and_grads(x, y)
    >>> columns = column_backprop(net, x, y)
    >>> all(np.allclose(g, c) for g, c in zip(grads, columns))
    True
    """
    x_array = np.asarray(x, dtype=net.dtype)
    _, dy = losses.get(loss).value_and_grad(net.forward(x_array), y)  # (n_samples, n_out)
    grads = [np.zeros_like(p) for p in net.params()]
    for n in range(x_array.shape[0]):
        a = x_array[n].reshape(-1, 1)  # a^(0): (n_in, 1)
        inputs, pre_activations = [], []
        for layer in net.layers:
            W, b = layer.W.T, layer.b.reshape(-1, 1)  # (n_out, n_in), (n_out, 1)
            z = W @ a + b  # (n_out, 1)
            inputs.append(a)
            pre_activations.append(z)
            a = layer.activation(z)
        da = dy[n].reshape(-1, 1)  # dJ/da^(L) of this sample: (n_out, 1)
        for index in reversed(range(len(net.layers))):
            layer = net.layers[index]
            dz = da * layer.activation.derivative(pre_activations[index])  # (n_out, 1)
            dW = dz @ inputs[index].T  # (n_out, n_in)
            grads[2 * index] += dW.T  # stored as (n_in, n_out), like layer.W
            grads[2 * index + 1] += dz[:, 0]
            da = layer.W @ dz  # W^(l)T dz: (n_in, 1)
    return grads


def batch_and_column_grads(net: MLP, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
    """Compute the gradients of the mean squared error by the batch and the column equations.

    Parameters
    ----------
    net : MLP
        Its gradients (``dW``, ``db``) and forward caches are overwritten.
    x : ndarray, shape (n_samples, n_in)
    y : ndarray, shape (n_samples, n_out)

    Returns
    -------
    batch_grads : list of ndarray
        From :meth:`MLP.loss_and_grads <gradwatch.MLP.loss_and_grads>` (copies).
    column_grads : list of ndarray
        From :func:`column_backprop`, in the same order and shapes.

    Examples
    --------
    >>> batch, columns = batch_and_column_grads(*problem(Settings()))
    >>> [g.shape for g in batch] == [c.shape for c in columns]
    True
    """
    _, grads = net.loss_and_grads(x, y, loss="mse")
    batch_grads = [g.copy() for g in grads]
    return batch_grads, column_backprop(net, x, y, loss="mse")


def largest_difference(first: Sequence[Array], second: Sequence[Array]) -> float:
    """Largest absolute difference between matching entries of two lists of arrays.

    Examples
    --------
    >>> largest_difference([np.array([1.0, 2.0])], [np.array([1.0, 2.5])])
    0.5
    """
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first, second, strict=True))


def gradcheck_by_activation(
    settings: Settings, progress: Progress = no_progress
) -> dict[str, GradCheckReport]:
    """Check backpropagation against finite differences for each activation of the settings.

    One network and data set per activation, from :func:`problem`, checked by
    :func:`gradwatch.gradcheck` with the mean squared error, ``eps`` and ``rtol``.
    ``progress("gradcheck", done, total)`` follows the activations.

    Returns
    -------
    dict of str to GradCheckReport
        One report per activation, in the order of ``settings.activations``.

    Examples
    --------
    >>> reports = gradcheck_by_activation(Settings(activations=["tanh", "relu"]))
    >>> {name: report.passed for name, report in reports.items()}
    {'tanh': True, 'relu': True}
    """
    reports = {}
    for done, name in enumerate(settings.activations, start=1):
        net, x, y = problem(settings, activation=name)
        reports[name] = gradcheck(net, x, y, loss="mse", eps=settings.eps, rtol=settings.rtol)
        progress("gradcheck", done, len(settings.activations))
    return reports


def summarise(
    settings: Settings,
    batch_grads: Sequence[Array],
    column_grads: Sequence[Array],
    reports: dict[str, GradCheckReport],
) -> dict[str, Any]:
    """Turn the steps' results into the numbers of the page, JSON-ready.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`batch_and_column_grads` (its two lists) and
    :func:`gradcheck_by_activation`.

    Returns
    -------
    dict
        ``column_difference`` (largest absolute difference between the two gradients),
        ``grad_scale`` (largest absolute gradient entry), ``eps`` and ``rtol`` (of the check),
        ``n_params``, ``n_activations``, ``max_rel_error`` and ``passed`` (by activation),
        ``worst`` (the largest relative error over all checks), ``all_passed`` and
        ``example_rel_error`` (the check of ``settings.activation``); ``cost``: the
        multiply-adds of the forward and the backward pass of the worked example
        (``forward``, ``backward``, ``ratio``) and of the network of :func:`time_passes`
        (``timed_ratio``, ``timed_layers``, ``timed_width``, ``timed_samples``); the times
        themselves change from run to run and are not among the numbers.

    Examples
    --------
    >>> settings = Settings(activations=["tanh"])
    >>> numbers = summarise(
    ...     settings,
    ...     *batch_and_column_grads(*problem(settings)),
    ...     gradcheck_by_activation(settings),
    ... )
    >>> numbers["n_params"], numbers["passed"], numbers["column_difference"] < 1e-12
    (13, {'tanh': True}, True)
    """
    forward, backward = multiply_adds(settings.sizes, settings.n_samples)
    timed_forward, timed_backward = multiply_adds(settings.timing_sizes, settings.timing_samples)
    return {
        "cost": {
            "forward": forward,
            "backward": backward,
            "ratio": backward / forward,
            "timed_ratio": timed_backward / timed_forward,
            "timed_layers": len(settings.timing_sizes) - 1,
            "timed_width": max(settings.timing_sizes),
            "timed_samples": settings.timing_samples,
        },
        "column_difference": largest_difference(batch_grads, column_grads),
        "grad_scale": max(float(np.max(np.abs(g))) for g in batch_grads),
        "eps": settings.eps,
        "rtol": settings.rtol,
        "n_params": sum(int(g.size) for g in batch_grads),
        "n_activations": len(reports),
        "max_rel_error": {name: report.max_rel_error for name, report in reports.items()},
        "passed": {name: report.passed for name, report in reports.items()},
        "worst": max(report.max_rel_error for report in reports.values()),
        "all_passed": all(report.passed for report in reports.values()),
        "example_rel_error": reports[settings.activation].max_rel_error,
    }


def figure_gradcheck(report: GradCheckReport, *, title: str | None = None) -> Any:
    """Backpropagated against finite-difference gradients, and the relative error of each entry.

    Parameters
    ----------
    report : GradCheckReport
        From :func:`gradwatch.gradcheck`.
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure
        Left: one point per parameter entry, backpropagated value against the finite-difference
        one, on the diagonal when they agree. Right: each entry's relative error (log scale) with
        the tolerance ``rtol`` as a dashed line.

    Examples
    --------
    >>> settings = Settings(activations=["tanh"])
    >>> fig = figure_gradcheck(gradcheck_by_activation(settings)["tanh"])
    >>> len(fig.axes), sum(len(line.get_xdata()) for line in fig.axes[0].get_lines())
    (2, 15)
    """
    colors = plotting.COLORS
    fig, (left, right) = plotting.figure(1, 2, width=8.0, height=3.6)
    floor = report.atol / report.rtol
    start = 0
    lowest = report.rtol
    with plotting.style():
        for i, name in enumerate(report.analytic):
            analytic = np.ravel(report.analytic[name])
            numeric = np.ravel(report.numeric[name])
            color = colors[i % 7]
            left.plot(numeric, analytic, "o", ms=5, color=color, label=name, alpha=0.85)
            scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
            errors = np.abs(analytic - numeric) / scale
            shown = np.maximum(errors, 1e-17)  # an exact match would have no place on a log axis
            index = np.arange(start, start + shown.size)
            right.plot(index, shown, "o", ms=5, color=color)
            start += shown.size
            lowest = min(lowest, float(shown.min()))
        everything = np.concatenate([np.ravel(g) for g in report.numeric.values()])
        low, high = float(everything.min()), float(everything.max())
        pad = 0.05 * max(high - low, 1e-12)
        left.plot([low - pad, high + pad], [low - pad, high + pad], "--", color="#555555", lw=1.0)
        left.set_xlabel("finite-difference gradient")
        left.set_ylabel("backpropagated gradient")
        left.legend(fontsize=8.5)
        rtol_label = f"rtol = {report.rtol:g}"
        right.axhline(report.rtol, ls="--", color=colors[1], lw=1.2, label=rtol_label)
        right.set_yscale("log")
        right.set_ylim(min(lowest, report.rtol) / 10.0, max(report.max_rel_error, report.rtol) * 10)
        right.set_xlabel("parameter entry")
        right.set_ylabel("relative error")
        right.legend(fontsize=8.5, loc="upper left")
        if title:
            fig.suptitle(title)
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: batch against per-sample gradients, a gradient check per activation.

    The figure is ``gradcheck_scatter``, the check of ``settings.activation``; ``progress``
    reports the label of :func:`gradcheck_by_activation`.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> result = run(Settings(activations=["tanh"]))
    >>> result.numbers["all_passed"], sorted(result.figures)
    (True, ['gradcheck_scatter'])
    """
    net, x, y = problem(settings)
    batch_grads, column_grads = batch_and_column_grads(net, x, y)
    reports = gradcheck_by_activation(settings, progress)
    numbers = summarise(settings, batch_grads, column_grads, reports)
    if not figures:
        return Result(numbers=numbers)
    figure = figure_gradcheck(reports[settings.activation])
    return Result(numbers=numbers, figures={"gradcheck_scatter": figure})
