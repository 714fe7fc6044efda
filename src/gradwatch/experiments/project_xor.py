r"""A 2-4-1 sigmoid network learns XOR, and a classic backpropagation bug stalls it.

The experiment of the page ``docs/project_xor.md``, with its settings in
``conf/project_xor.toml``, run by ``python -m gradwatch run project_xor`` or by :func:`run`
(see its example). The network is trained by full-batch gradient descent on the four points of
XOR, once with the correct sigmoid derivative :math:`a(1 - a)` and once with
:class:`SigmoidAppliedTwice`, whose backward pass evaluates :math:`\sigma'` at the output
:math:`a` instead of at :math:`z`. The gradient check (:func:`gradwatch.gradcheck`) of the
untrained networks tells the two apart at once, and at the weights where the buggy run ended
the true gradient is several times the computed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import losses, optim, plotting, training
from gradwatch._validation import Array
from gradwatch.activations import Activation, Sigmoid
from gradwatch.clip import global_norm
from gradwatch.experiments import Progress, Result, no_progress

# isort: split
from gradwatch.experiments import activation, at_most, non_negative, positive, require
from gradwatch.gradcheck import GradCheckReport, gradcheck
from gradwatch.network import MLP
from gradwatch.training import History


@dataclass(frozen=True)
class Settings:
    """Settings of the XOR project page (``conf/project_xor.toml``).

    Attributes
    ----------
    sizes : list of int
        Widths: two inputs, the hidden layers, one output.
    activation : str
        Activation of the hidden and the output layers.
    loss : str
        Name of the loss (see :func:`gradwatch.losses.names`).
    lr : float
        Learning rate of plain gradient descent.
    steps : int
        Full-batch steps of training.
    seed : int
        Seed of the initial weights.
    eps : float
        Step of the gradient check's finite differences.
    rtol : float
        Largest relative error that passes the gradient check.
    scratch_seeds : list of int
        Initial weights of the from-scratch networks, one pair of runs per seed.
    scratch_steps : int
        Updates of each from-scratch run.
    scratch_budget : int
        The number of updates within which the page counts the runs that solved XOR (at most
        ``scratch_steps``).

    Examples
    --------
    >>> Settings().sizes
    [2, 4, 1]
    >>> Settings(sizes=[3, 4, 1])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'sizes' = [3, 4, 1]: expected two inputs ...
    """

    sizes: list[int] = field(default_factory=lambda: [2, 4, 1])
    activation: str = "sigmoid"
    loss: str = "mse"
    lr: float = 2.0
    steps: int = 1000
    seed: int = 0
    eps: float = 1e-6
    rtol: float = 1e-6
    scratch_seeds: list[int] = field(default_factory=lambda: list(range(10)))
    scratch_steps: int = 2000
    scratch_budget: int = 600

    def __post_init__(self) -> None:
        positive("sizes", self.sizes)
        require(
            len(self.sizes) >= 2 and self.sizes[0] == 2 and self.sizes[-1] == 1,
            "sizes",
            self.sizes,
            "two inputs first and one output last, e.g. [2, 4, 1]",
        )
        activation("activation", self.activation)
        require(self.loss in losses.names(), "loss", self.loss, f"one of: {losses.names()}")
        positive("lr", self.lr)  # SGD refuses lr = 0: reject it when the file loads
        positive("steps", self.steps)
        non_negative("seed", self.seed)
        positive("eps", self.eps)
        positive("rtol", self.rtol)
        non_negative("scratch_seeds", self.scratch_seeds)
        positive("scratch_steps", self.scratch_steps)
        positive("scratch_budget", self.scratch_budget)
        at_most("scratch_budget", self.scratch_budget, self.scratch_steps, limit="scratch_steps")


class SigmoidAppliedTwice(Sigmoid):
    r"""The sigmoid with a wrong backward pass: :math:`\sigma'` evaluated at :math:`a = \sigma(z)`.

    The forward pass is the sigmoid's; the slope is :math:`\sigma(a)(1 - \sigma(a))` where the
    right one is :math:`a(1 - a)`.

    Examples
    --------
    >>> a = np.array([0.0, 0.5, 1.0])
    >>> SigmoidAppliedTwice().derivative_from_output(a).round(3)
    array([0.25 , 0.235, 0.197])
    >>> Sigmoid().derivative_from_output(a)
    array([0.  , 0.25, 0.  ])
    """

    def derivative_from_output(self, a: Array) -> Array:
        r"""Return :math:`\sigma(a)(1 - \sigma(a))`, the sigmoid's slope at :math:`a`: the bug."""
        return super().derivative(a)  # sigma(a) * (1 - sigma(a)); the right slope is a * (1 - a)


def xor_data() -> tuple[Array, Array]:
    """Return the four points of XOR: the target is 1 when exactly one input is 1.

    Returns
    -------
    x : ndarray, shape (4, 2)
        ``[[0, 0], [0, 1], [1, 0], [1, 1]]``, float64.
    y : ndarray, shape (4, 1)
        ``[[0], [1], [1], [0]]``, float64.

    Examples
    --------
    >>> x, y = xor_data()
    >>> x.tolist(), y.ravel().tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return x, y


# ---------------------------------------------------------------------------------------------
# The article's network from scratch, in plain NumPy (no gradwatch inside), and its fix.
# ---------------------------------------------------------------------------------------------


def sigmoid(z: Array) -> Array:
    r"""Return :math:`\sigma(z) = 1/(1 + e^{-z})`, as the article writes it.

    Examples
    --------
    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    result: Array = 1.0 / (1.0 + np.exp(-z))
    return result


def sigmoid_derivative(z: Array) -> Array:
    r"""Return :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`: a function of :math:`z`.

    Examples
    --------
    >>> sigmoid_derivative(np.array([0.0]))
    array([0.25])
    """
    result: Array = sigmoid(z) * (1.0 - sigmoid(z))
    return result


class ArticleNetwork:
    """The article's 2-4-1 network: sigmoid layers, no biases, weights from U[0, 1), its bug.

    Plain NumPy. The loss is the sum of squared errors; ``backprop`` adds the negative gradient
    (built from ``y - output``) to the weights, a gradient-descent step with learning rate 1.

    Examples
    --------
    >>> x, y = xor_data()
    >>> net = ArticleNetwork(x, y, np.random.default_rng(0))
    >>> net.feedforward()
    >>> net.output.shape, net.weights1.shape
    ((4, 1), (2, 4))
    """

    def __init__(self, x: Array, y: Array, rng: np.random.Generator) -> None:
        self.input = x
        self.weights1 = rng.random((x.shape[1], 4))  # U[0, 1), no biases
        self.weights2 = rng.random((4, 1))
        self.y = y
        self.output: Array = np.zeros(y.shape)

    def slope(self, a: Array) -> Array:
        """Return the sigmoid's slope from a layer's output ``a``: here, the bug."""
        return sigmoid_derivative(a)  # BUG: sigmoid_derivative wants z, and a is sigmoid(z)

    def feedforward(self) -> None:
        """Compute the hidden layer and the output for the four inputs."""
        self.layer1 = sigmoid(self.input @ self.weights1)
        self.output = sigmoid(self.layer1 @ self.weights2)

    def backprop(self) -> None:
        """Add the negative gradient of the summed squared error to the weights."""
        delta2 = 2 * (self.y - self.output) * self.slope(self.output)
        delta1 = (delta2 @ self.weights2.T) * self.slope(self.layer1)
        self.weights2 += self.layer1.T @ delta2  # += with y - output: a step downhill
        self.weights1 += self.input.T @ delta1


class CorrectedNetwork(ArticleNetwork):
    """The article's network with the sigmoid's slope computed from its output: the fix.

    Examples
    --------
    >>> x, y = xor_data()
    >>> CorrectedNetwork(x, y, np.random.default_rng(0)).slope(np.array([0.5]))
    array([0.25])
    """

    def slope(self, a: Array) -> Array:
        r"""Return :math:`\sigma'(z) = a(1 - a)` from the output :math:`a = \sigma(z)`."""
        return a * (1.0 - a)


def solve_from_scratch(
    network: type[ArticleNetwork], seed: int, steps: int
) -> tuple[int | None, Array]:
    """Train a from-scratch network on XOR and find the first step at which it solves it.

    Parameters
    ----------
    network : type
        :class:`ArticleNetwork` or :class:`CorrectedNetwork`.
    seed : int
        Draws the initial weights.
    steps : int
        Updates (full batch).

    Returns
    -------
    solved_at : int or None
        The number of updates after which every output first lies on its target's side of
        0.5 (None if never within ``steps``).
    losses : ndarray, shape (steps + 1,)
        Mean squared error before each update and after the last.

    Examples
    --------
    >>> solved_at, losses = solve_from_scratch(CorrectedNetwork, seed=0, steps=400)
    >>> solved_at is not None and solved_at < 400, losses.shape
    (True, (401,))
    """
    x, y = xor_data()
    net = network(x, y, np.random.default_rng(seed))
    solved_at, losses = None, []
    for step in range(steps + 1):
        net.feedforward()
        losses.append(float(np.mean((net.output - y) ** 2)))
        if solved_at is None and bool(np.all((net.output > 0.5) == (y > 0.5))):
            solved_at = step
        if step < steps:
            net.backprop()
    return solved_at, np.asarray(losses)


def from_scratch(settings: Settings) -> dict[str, list[int | None]]:
    """Train the article's network and the corrected one from the same weights, every seed.

    Parameters
    ----------
    settings : Settings
        ``scratch_seeds`` and ``scratch_steps``.

    Returns
    -------
    dict
        ``{"article": [...], "corrected": [...]}``: per seed, the step at which the network
        first solved XOR, or None.

    Examples
    --------
    >>> runs = from_scratch(Settings(scratch_seeds=[0, 1], scratch_steps=300, scratch_budget=300))
    >>> runs["article"], [step is not None for step in runs["corrected"]]
    ([None, None], [True, True])
    """
    networks = {"article": ArticleNetwork, "corrected": CorrectedNetwork}
    return {
        label: [
            solve_from_scratch(network, seed, settings.scratch_steps)[0]
            for seed in settings.scratch_seeds
        ]
        for label, network in networks.items()
    }


def network(settings: Settings, activation: str | Activation | None = None) -> MLP:
    """Build the untrained network of the project: one activation in every layer.

    Parameters
    ----------
    settings : Settings
    activation : str or Activation, optional
        Used in the hidden and the output layers instead of ``settings.activation``.

    Returns
    -------
    MLP
        Widths ``settings.sizes``, weights drawn from ``settings.seed``.

    Examples
    --------
    >>> network(Settings())
    MLP([2, 4, 1], activation=Sigmoid(), output_activation=Sigmoid(), dtype=float64)
    """
    act = settings.activation if activation is None else activation
    return MLP(settings.sizes, activation=act, output_activation=act, seed=settings.seed)


def train(settings: Settings, activation: str | Activation | None = None) -> tuple[MLP, History]:
    """Train the network of :func:`network` on :func:`xor_data` with plain gradient descent.

    Every step uses the four points (full batch) and ``SGD(lr)``, for ``steps`` steps.

    Parameters
    ----------
    settings : Settings
    activation : str or Activation, optional
        Passed to :func:`network`.

    Returns
    -------
    net : MLP
        The trained network.
    history : History
        What :func:`gradwatch.train` recorded.

    Examples
    --------
    >>> net, history = train(Settings(lr=1.0, steps=50))
    >>> history.steps, bool(history.loss[-1] < history.loss[0])
    (50, True)
    """
    x, y = xor_data()
    net = network(settings, activation)
    history = training.train(
        net,
        x,
        y,
        loss=settings.loss,
        optimizer=optim.SGD(lr=settings.lr),
        steps=settings.steps,
        seed=settings.seed,
        progress=False,
    )
    return net, history


def gradient_norms(net: MLP, settings: Settings) -> tuple[float, float]:
    """Norms of the computed (backpropagated) and of the true (finite-difference) gradient.

    Parameters
    ----------
    net : MLP
        Checked at its current weights, on :func:`xor_data`.
    settings : Settings
        ``loss``, ``eps`` and ``rtol`` of the check.

    Returns
    -------
    computed, true : float
        Global norms of the two gradients (:func:`gradwatch.clip.global_norm`).

    Examples
    --------
    >>> settings = Settings()
    >>> computed, true = gradient_norms(network(settings), settings)
    >>> bool(np.isclose(computed, true))
    True
    """
    x, y = xor_data()
    report = gradcheck(net, x, y, loss=settings.loss, eps=settings.eps, rtol=settings.rtol)
    computed = global_norm(list(report.analytic.values()))
    true = global_norm(list(report.numeric.values()))
    return computed, true


def check_untrained(settings: Settings) -> dict[str, GradCheckReport]:
    """Gradient checks of the untrained network, with the correct and with the buggy sigmoid.

    Parameters
    ----------
    settings : Settings
        The network of :func:`network`, checked with ``loss``, ``eps`` and ``rtol``.

    Returns
    -------
    dict
        ``{"correct": report, "buggy": report}``; the buggy network uses
        :class:`SigmoidAppliedTwice` in both layers.

    Examples
    --------
    >>> reports = check_untrained(Settings())
    >>> reports["correct"].passed, reports["buggy"].passed
    (True, False)
    """
    x, y = xor_data()
    nets = {"correct": network(settings), "buggy": network(settings, SigmoidAppliedTwice())}
    return {
        label: gradcheck(net, x, y, loss=settings.loss, eps=settings.eps, rtol=settings.rtol)
        for label, net in nets.items()
    }


def _predictions(net: MLP) -> dict[str, float]:
    """Return the outputs of ``net`` for the four points of XOR, as ``{"p0": ..., "p3": ...}``."""
    x, _ = xor_data()
    return {f"p{i}": float(p) for i, p in enumerate(net.forward(x).ravel())}


def summarise(
    settings: Settings,
    trained: tuple[MLP, History],
    buggy: tuple[MLP, History],
    end_norms: tuple[float, float],
    reports: Mapping[str, GradCheckReport],
    scratch: Mapping[str, list[int | None]],
) -> dict[str, Any]:
    """Turn the steps' results into the numbers of the page, JSON-ready.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`train` with the correct sigmoid and with :class:`SigmoidAppliedTwice`,
    :func:`gradient_norms` at the weights where the buggy run ended, :func:`check_untrained`
    and :func:`from_scratch`.

    Returns
    -------
    dict
        The settings shown (``steps``, ``lr``, ``rtol``); the losses (``initial_loss``,
        ``final_loss``, ``buggy_final_loss``, ``loss_ratio``); the outputs for the four points
        (``predictions`` and ``buggy_predictions``, keys ``p0`` to ``p3``), the buggy network's
        points on the right side of 0.5 (``buggy_right``, and in words ``buggy_right_text``)
        and the margins
        (``buggy_confidence``, the largest distance of its outputs from 0.5;
        ``correct_confidence``, the smallest of the correct network); the gradient norms at
        the end of the buggy run (``end_computed``, ``end_true``, ``end_ratio``); the checks
        (``max_rel_error`` and ``passed`` of ``correct`` and ``buggy``, ``buggy_min_rel_error``,
        the smallest per-parameter error of the buggy check, and as Markdown ``worst``, its
        worst entry, and ``buggy_rel_errors``, its error per parameter); ``scratch``: the
        from-scratch runs (``n_seeds``, ``steps``, ``budget``; per network, ``article`` and
        ``corrected``, the runs that solved XOR within the budget, ``within``, and at all,
        ``solved``, the ``median``, ``fastest`` and ``slowest`` step at which they did, and as
        Markdown ``within_text``, e.g. "1 of the 10 runs"; ``slowdown``, the ratio of the
        medians).

    Examples
    --------
    >>> settings = Settings(steps=20)
    >>> net, history = train(settings)
    >>> buggy_net, buggy_history = train(settings, activation=SigmoidAppliedTwice())
    >>> numbers = summarise(
    ...     settings,
    ...     (net, history),
    ...     (buggy_net, buggy_history),
    ...     gradient_norms(buggy_net, settings),
    ...     check_untrained(settings),
    ...     {"article": [700, None], "corrected": [150, 140]},
    ... )
    >>> numbers["passed"], numbers["steps"], sorted(numbers["predictions"])
    ({'correct': True, 'buggy': False}, 20, ['p0', 'p1', 'p2', 'p3'])
    """
    net, history = trained
    buggy_net, buggy_history = buggy
    x, y = xor_data()
    predictions, buggy_predictions = net.forward(x), buggy_net.forward(x)
    computed, true = end_norms
    name, index = reports["buggy"].worst
    rel_errors = reports["buggy"].rel_errors
    buggy_right = int(np.sum((buggy_predictions > 0.5) == (y > 0.5)))
    return {
        "scratch": _summarise_scratch(settings, scratch),
        "steps": settings.steps,
        "lr": settings.lr,
        "rtol": settings.rtol,
        "initial_loss": float(history.loss[0]),
        "final_loss": float(history.loss[-1]),
        "buggy_final_loss": float(buggy_history.loss[-1]),
        "loss_ratio": float(buggy_history.loss[-1] / history.loss[-1]),
        "predictions": _predictions(net),
        "buggy_predictions": _predictions(buggy_net),
        "buggy_right": buggy_right,
        "buggy_right_text": _points(buggy_right),
        "buggy_confidence": float(np.max(np.abs(buggy_predictions - 0.5))),
        "correct_confidence": float(np.min(np.abs(predictions - 0.5))),
        "end_computed": computed,
        "end_true": true,
        "end_ratio": true / computed,
        "max_rel_error": {key: report.max_rel_error for key, report in reports.items()},
        "passed": {key: report.passed for key, report in reports.items()},
        "buggy_min_rel_error": min(rel_errors.values()),
        "worst": f"`{name}{list(index)}`",
        "buggy_rel_errors": ", ".join(f"`{key}` {value:.2f}" for key, value in rel_errors.items()),
    }


def _points(count: int) -> str:
    """``"none of the four points"``, ``"three of the four points"``, ``"all four points"``."""
    words = ["none", "one", "two", "three"]
    return "all four points" if count == 4 else f"{words[count]} of the four points"


def _runs(count: int, total: int) -> str:
    """``"none of the 10 runs"``, ``"1 of the 10 runs"``, ``"all 10 runs"``."""
    if count == 0:
        return f"none of the {total} runs"
    if count == total:
        return f"all {total} runs" if total > 1 else "the one run"
    return f"{count} of the {total} runs"


def _summarise_scratch(
    settings: Settings, scratch: Mapping[str, list[int | None]]
) -> dict[str, Any]:
    """Return the numbers of the from-scratch runs (see :func:`summarise`)."""
    total = len(settings.scratch_seeds)
    numbers: dict[str, Any] = {
        "n_seeds": total,
        "steps": settings.scratch_steps,
        "budget": settings.scratch_budget,
    }
    for label, solved_at in scratch.items():
        steps = [step for step in solved_at if step is not None]
        within = sum(step <= settings.scratch_budget for step in steps)
        numbers[label] = {
            "within": within,
            "within_text": _runs(within, total),
            "solved": len(steps),
            "solved_text": _runs(len(steps), total),
            "median": float(np.median(steps)) if steps else 0.0,
            "fastest": min(steps, default=0),
            "slowest": max(steps, default=0),
        }
    article, corrected = numbers["article"]["median"], numbers["corrected"]["median"]
    numbers["slowdown"] = article / corrected if article and corrected else 0.0
    return numbers


def figure_loss_curves(histories: Mapping[str, Any], *, logy: bool = True) -> Any:
    """Plot the loss per step of one or more training runs on shared axes.

    Parameters
    ----------
    histories : mapping of label to History or sequence of float
        A :class:`~gradwatch.History` (its ``loss`` is drawn) or the losses themselves.
    logy : bool, default True
        Logarithmic y axis.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = figure_loss_curves({"a": [1.0, 0.5], "b": [1.0, 0.1, 0.01]})
    >>> fig.axes[0].get_ylabel(), [len(line.get_xdata()) for line in fig.axes[0].get_lines()]
    ('loss', [2, 3])
    """
    fig, ax = plotting.figure(height=3.6)
    with plotting.style():
        for i, (label, run_) in enumerate(histories.items()):
            values = np.asarray(getattr(run_, "loss", run_), dtype=float)
            ax.plot(
                np.arange(1, values.size + 1), values, color=plotting.COLORS[i % 7], label=label
            )
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
    return fig


def figure_decision_boundary(
    nets: MLP | Mapping[str, MLP],
    x: Array,
    y: Array,
    *,
    resolution: int = 101,
    margin: float = 0.5,
) -> Any:
    """Draw what a two-input network outputs over the plane, with its 0.5 level and the data.

    Parameters
    ----------
    nets : MLP or mapping of str to MLP
        One network (one panel) or several, one labelled panel each; two inputs, one output.
    x : ndarray, shape (n_samples, 2)
    y : ndarray, shape (n_samples,) or (n_samples, 1)
        Binary labels: class 1 is drawn as filled triangles, class 0 as open circles.
    resolution : int, default 101
        Grid points per axis.
    margin : float, default 0.5
        Space around the data.

    Returns
    -------
    matplotlib.figure.Figure
        The output as a shaded map between 0 and 1, the level 0.5 as a black line.

    Raises
    ------
    ValueError
        If ``x`` does not have two columns.

    Examples
    --------
    >>> net = network(Settings())
    >>> fig = figure_decision_boundary({"one": net, "two": net}, *xor_data(), resolution=21)
    >>> [ax.get_title() for ax in fig.axes[:2]], fig.axes[0].get_xlabel()
    (['one', 'two'], '$x_1$')
    """
    points = np.asarray(x, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"x must have shape (n_samples, 2), got {points.shape}")
    labels = np.asarray(y).reshape(-1) > 0.5
    panels = dict(nets) if isinstance(nets, Mapping) else {"": nets}
    fig, axes = plotting.figure(
        1, len(panels), width=3.6 * len(panels) + 0.9, height=3.5, squeeze=False
    )
    u = np.linspace(points[:, 0].min() - margin, points[:, 0].max() + margin, resolution)
    v = np.linspace(points[:, 1].min() - margin, points[:, 1].max() + margin, resolution)
    grid_u, grid_v = np.meshgrid(u, v)
    grid = np.column_stack([grid_u.ravel(), grid_v.ravel()])
    image = None
    with plotting.style():
        for ax, (label, net) in zip(axes[0], panels.items(), strict=True):
            output = np.asarray(net.forward(grid), dtype=float).reshape(grid_u.shape)
            image = ax.contourf(grid_u, grid_v, output, levels=np.linspace(0, 1, 11), cmap="PuOr_r")
            ax.contour(grid_u, grid_v, output, levels=[0.5], colors="black", linewidths=1.5)
            ax.scatter(*points[~labels].T, s=70, facecolors="white", edgecolors="black", zorder=3)
            ax.scatter(*points[labels].T, s=80, marker="^", color="black", zorder=3)
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
            ax.set_aspect("equal")
            ax.grid(False)
            if label:
                ax.set_title(label)
        fig.colorbar(image, ax=list(axes[0]), label="network output", shrink=0.9)
    return fig


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: train with the right and the wrong derivative, check, start from scratch.

    The figures are ``xor_loss_curves`` and ``xor_decision_boundary``; ``progress`` reports
    ``progress("training", done, 2)`` after each of the two runs.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> result = run(Settings(steps=20))
    >>> sorted(result.figures)
    ['xor_decision_boundary', 'xor_loss_curves']
    """
    net, history = train(settings)
    progress("training", 1, 2)
    buggy_net, buggy_history = train(settings, activation=SigmoidAppliedTwice())
    progress("training", 2, 2)
    end_norms = gradient_norms(buggy_net, settings)
    reports = check_untrained(settings)
    scratch = from_scratch(settings)
    numbers = summarise(
        settings, (net, history), (buggy_net, buggy_history), end_norms, reports, scratch
    )
    if not figures:
        return Result(numbers=numbers)
    x, y = xor_data()
    correct, wrong = "correct sigmoid'", "sigmoid' applied twice"
    return Result(
        numbers=numbers,
        figures={
            "xor_loss_curves": figure_loss_curves({correct: history, wrong: buggy_history}),
            "xor_decision_boundary": figure_decision_boundary(
                {correct: net, wrong: buggy_net}, x, y
            ),
        },
    )
