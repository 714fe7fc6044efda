r"""Exploding gradients in recurrent networks: the experiment of the page ``docs/rnn.md``.

Unrolled over :math:`T` steps, a recurrent network is a network :math:`T` layers deep whose
layers share one matrix, so the gradient through time is a product of one repeated factor
(Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013). The experiment

- measures the gradient against the number of steps back for orthogonal recurrent weights of
  several spectral radii (:func:`gradient_norms_over_time`, :func:`per_step_factors`), and
  checks the order of the product of Jacobians against backpropagation (:func:`product_order`);
- draws the "cliff" in the loss surface of a one-unit recurrent network and crosses it by
  gradient descent with and without clipping by norm (:func:`one_unit_rnn`,
  :func:`cliff_descent`);
- trains a small :class:`~gradwatch.RNN` on a memory task with and without clipping by global
  norm, and without clipping at a sweep of learning rates and at the clipped run's average
  step, each over several seeds (:func:`training_comparison`).

Its settings are in ``conf/rnn.toml``; ``python -m gradwatch run rnn`` runs it, and so does
:func:`run` (its example runs it on small settings).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from gradwatch import clip, diagnostics, landscape, optim, plotting
from gradwatch._validation import Array, check_positive_int
from gradwatch.experiments import Progress, Result, _common, no_progress

# isort: split
from gradwatch.experiments import at_most, distinct, finite, non_negative, positive, require
from gradwatch.experiments._common import effective_lr, seed_summary
from gradwatch.rnn import RNN
from gradwatch.training import History, train


@dataclass(frozen=True)
class Settings:
    r"""The settings of the recurrent-network experiment (``conf/rnn.toml``).

    Attributes
    ----------
    radii : list of float
        Spectral radii of the recurrent weights in the gradient-through-time measurement: at
        least one below 1 and one above 1 (the page compares the radii nearest one on either
        side).
    time_hidden, time_steps, time_samples : int
        Hidden units, time steps (at least 2) and samples of that measurement.
    time_input_std : float
        Standard deviation of its inputs, small so that tanh stays in its linear regime.
    time_seed : int
    cliff_h0, cliff_target : float
        Initial state :math:`h_0` and target :math:`y` of the one-unit network
        :math:`h_t = \tanh(w h_{t-1} + b)`, whose loss is :math:`(h_T - y)^2`.
    cliff_steps : int
        Its number of steps :math:`T`.
    cliff_start : list of float
        The start :math:`(w_0, b_0)` of gradient descent.
    cliff_lr : float
        Its learning rate.
    cliff_descent_steps : int
        Its number of updates.
    cliff_max_norm : float
        The clipped run's threshold.
    cliff_extent : list of float
        The plotted window ``[w_min, w_max, b_min, b_max]``.
    train_hidden, train_steps_in_time, train_samples : int
        Hidden units, sequence length and number of sequences of the memory task.
    train_radius : float
        Spectral radius of the trained RNN's recurrent weights at the start.
    train_lr : float
        SGD learning rate of the clipped run (and of the unclipped one drawn beside it).
    train_lrs : list of float
        Learning rates of plain SGD in the sweep without clipping; ``train_lr`` is one of
        them.
    train_steps, train_batch_size : int
        SGD steps and samples per step (at most ``train_samples``).
    train_max_norm : float
        Threshold of clipping by global norm in the clipped run.
    train_seed : int
        Seed of the runs drawn; one of ``train_seeds``.
    train_seeds : list of int
        Seeds of the repeated runs (each draws its own sequences, weights and mini-batches).

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> rnn.Settings().radii
    [0.8, 0.9, 1.0, 1.1, 1.2]
    >>> rnn.Settings(radii=[1.1, 1.2])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'radii' = [1.1, 1.2]: expected ...
    """

    radii: list[float] = field(default_factory=lambda: [0.8, 0.9, 1.0, 1.1, 1.2])
    time_hidden: int = 32
    time_steps: int = 30
    time_samples: int = 16
    time_input_std: float = 0.001
    time_seed: int = 0
    cliff_h0: float = -0.5
    cliff_target: float = -0.5
    cliff_steps: int = 30
    cliff_start: list[float] = field(default_factory=lambda: [2.5, 0.0])
    cliff_lr: float = 0.1
    cliff_descent_steps: int = 120
    cliff_max_norm: float = 0.5
    cliff_extent: list[float] = field(default_factory=lambda: [0.0, 3.5, -4.6, 1.0])
    train_hidden: int = 16
    train_steps_in_time: int = 20
    train_samples: int = 128
    train_radius: float = 1.5
    train_lr: float = 0.1
    train_steps: int = 150
    train_batch_size: int = 32
    train_max_norm: float = 1.0
    train_seed: int = 0
    train_seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    train_lrs: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.1])

    def __post_init__(self) -> None:
        positive("radii", self.radii)
        require(
            min(self.radii) < 1 < max(self.radii),
            "radii",
            self.radii,
            "at least one radius below 1 and one above 1",
        )
        positive("time_hidden", self.time_hidden)
        require(self.time_steps >= 2, "time_steps", self.time_steps, "an int >= 2")
        positive("time_samples", self.time_samples)
        non_negative("time_input_std", self.time_input_std)
        non_negative("time_seed", self.time_seed)
        finite("cliff_h0", self.cliff_h0)
        finite("cliff_target", self.cliff_target)
        positive("cliff_steps", self.cliff_steps)
        require(len(self.cliff_start) == 2, "cliff_start", self.cliff_start, "2 numbers (w, b)")
        finite("cliff_start", self.cliff_start)
        positive("cliff_lr", self.cliff_lr)
        positive("cliff_descent_steps", self.cliff_descent_steps)
        positive("cliff_max_norm", self.cliff_max_norm)
        extent = self.cliff_extent
        require(
            len(extent) == 4
            and all(math.isfinite(v) for v in extent)
            and extent[0] < extent[1]
            and extent[2] < extent[3],
            "cliff_extent",
            extent,
            "4 finite numbers [w_min, w_max, b_min, b_max] with w_min < w_max, b_min < b_max",
        )
        positive("train_hidden", self.train_hidden)
        positive("train_steps_in_time", self.train_steps_in_time)
        positive("train_samples", self.train_samples)
        positive("train_radius", self.train_radius)
        positive("train_lr", self.train_lr)
        positive("train_steps", self.train_steps)
        positive("train_batch_size", self.train_batch_size)
        at_most(
            "train_batch_size", self.train_batch_size, self.train_samples, limit="train_samples"
        )
        positive("train_max_norm", self.train_max_norm)
        non_negative("train_seed", self.train_seed)
        non_negative("train_seeds", self.train_seeds)
        distinct("train_seeds", self.train_seeds)
        require(
            self.train_seed in self.train_seeds,
            "train_seed",
            self.train_seed,
            f"one of train_seeds = {self.train_seeds}",
        )
        positive("train_lrs", self.train_lrs)
        distinct("train_lrs", self.train_lrs)
        require(
            self.train_lr in self.train_lrs,
            "train_lr",
            self.train_lr,
            f"one of train_lrs = {self.train_lrs}",
        )


# ---------------------------------------------------------------------------------------------
# The gradient through time.
# ---------------------------------------------------------------------------------------------


def gradient_norms_over_time(settings: Settings) -> dict[float, Array]:
    r"""Size of :math:`\partial L/\partial h_{T-k}` against the number of steps :math:`k` back.

    For each spectral radius ``r`` of ``radii``, an
    ``RNN(1, time_hidden, 1, spectral_radius=r, seed=time_seed)`` (orthogonal :math:`W_{hh}`
    rescaled, so every singular value is ``r``) reads ``time_samples`` sequences of
    ``time_steps`` inputs :math:`x_t \sim \mathcal N(0, \text{time\_input\_std}^2)`; a standard
    normal gradient arrives at its last output and ``RNN.hidden_grad_norms`` is read after the
    backward pass. Small inputs keep the hidden state near zero, where
    :math:`\tanh' \approx 1`, so the gradient is multiplied by about ``r`` per step back.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    dict of float to ndarray, shape (time_steps,)
        Entry ``k`` is the gradient size at :math:`h_{T-k}` over that at :math:`h_T`.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(radii=[0.5, 2.0], time_hidden=8, time_steps=5,
    ...                         time_input_std=0.01)
    >>> norms = rnn.gradient_norms_over_time(settings)
    >>> [round(float(v[-1]), 2) for v in norms.values()]     # about 0.5**4 and 2**4
    [0.06, 15.89]
    """
    x, dy = _common.sequence_probe(
        settings.time_seed, settings.time_samples, settings.time_steps, settings.time_input_std
    )
    result: dict[float, Array] = {}
    for r in settings.radii:
        net = RNN(1, settings.time_hidden, 1, spectral_radius=float(r), seed=settings.time_seed)
        net.forward(x)
        net.backward(dy)
        backwards = net.hidden_grad_norms[::-1]
        result[float(r)] = np.asarray(backwards / backwards[0])
    return result


def per_step_factors(norms: Mapping[float, Array]) -> dict[float, float]:
    """Fit, for each radius, the factor by which each step back multiplies the gradient.

    Parameters
    ----------
    norms : dict of float to ndarray
        From :func:`gradient_norms_over_time`.

    Returns
    -------
    dict of float to float
        :func:`gradwatch.diagnostics.fit_per_layer_factor` of each radius's norms.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import rnn
    >>> rnn.per_step_factors({0.5: np.array([1.0, 0.5, 0.25])})
    {0.5: 0.5}
    """
    return {r: diagnostics.fit_per_layer_factor(v) for r, v in norms.items()}


def product_order(settings: Settings, input_std: float = 1.0) -> dict[str, float]:
    r"""Check the order of the Jacobians in :math:`\partial L/\partial h_{T-k}` against BPTT.

    With :math:`J_t = \partial h_t/\partial h_{t-1} = \operatorname{diag}(1 - h_t^2)
    W_{hh}^\top` (:meth:`gradwatch.RNN.recurrent_jacobians`), the row gradient is
    :math:`\partial L/\partial h_{T-k} = \partial L/\partial h_T\, J_T J_{T-1} \cdots
    J_{T-k+1}`. With inputs of standard deviation ``input_std`` the states leave the linear
    regime, the factors no longer commute, and the reversed product
    :math:`J_{T-k+1} \cdots J_T` gives another vector.

    Parameters
    ----------
    settings : Settings
        ``time_hidden``, ``time_steps`` and ``time_seed``; the largest of ``radii``.
    input_std : float, default 1.0
        Standard deviation of the inputs of the one sequence used.

    Returns
    -------
    dict
        ``ordered`` and ``reversed``: the largest relative difference, over
        :math:`k = 1, \dots, T-1`, between the norm of each product times
        :math:`\partial L/\partial h_T` and the norm that backpropagation records
        (``hidden_grad_norms``).

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> errors = rnn.product_order(rnn.Settings(time_hidden=6, time_steps=8))
    >>> errors["ordered"] < 1e-12 < 0.01 < errors["reversed"]
    True
    """
    rng = np.random.default_rng(settings.time_seed)
    x = input_std * rng.standard_normal((1, settings.time_steps, 1))
    net = RNN(
        1, settings.time_hidden, 1, spectral_radius=max(settings.radii), seed=settings.time_seed
    )
    J = net.recurrent_jacobians(x)[0]  # J[t - 1] is J_t = dh_t/dh_{t-1}, t = 1, ..., T
    dy = np.ones((1, 1))
    net.backward(dy)
    measured = net.hidden_grad_norms  # entry t - 1 is the norm at h_t
    n_steps = settings.time_steps
    ordered, reversed_ = (np.asarray(dy @ net.W_hy.T),) * 2
    errors = {"ordered": 0.0, "reversed": 0.0}
    for k in range(1, n_steps):
        ordered = ordered @ J[n_steps - k]  # dL/dh_T J_T ... J_{T-k+1}
        reversed_ = dy @ net.W_hy.T
        for t in range(n_steps - k, n_steps):  # dL/dh_T J_{T-k+1} ... J_T
            reversed_ = reversed_ @ J[t]
        target = float(measured[n_steps - k - 1])
        for name, vector in (("ordered", ordered), ("reversed", reversed_)):
            error = abs(float(np.linalg.norm(vector)) - target) / target
            errors[name] = max(errors[name], error)
    return errors


# ---------------------------------------------------------------------------------------------
# The cliff: a one-unit recurrent network.
# ---------------------------------------------------------------------------------------------


def one_unit_rnn(
    w: Array | float, b: Array | float, *, h0: float, n_steps: int
) -> tuple[Array, Array, Array]:
    r"""Run the one-unit network :math:`h_t = \tanh(w h_{t-1} + b)`; return the end and slopes.

    The derivatives are carried forward with the states (forward-mode differentiation):
    :math:`\partial h_t/\partial w = (1 - h_t^2)(h_{t-1} + w\, \partial h_{t-1}/\partial w)` and
    :math:`\partial h_t/\partial b = (1 - h_t^2)(1 + w\, \partial h_{t-1}/\partial b)`, so a
    whole grid of :math:`(w, b)` runs at once.

    Parameters
    ----------
    w, b : float or ndarray
        Recurrent weight and bias, broadcast together.
    h0 : float
        Initial state.
    n_steps : int
        Number of steps :math:`T`.

    Returns
    -------
    h, dh_dw, dh_db : ndarray
        :math:`h_T`, :math:`\partial h_T/\partial w` and :math:`\partial h_T/\partial b`, of the
        broadcast shape.

    Raises
    ------
    ValueError
        If ``n_steps`` is not a positive int.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> h, dw, db = rnn.one_unit_rnn(0.0, 0.5, h0=0.0, n_steps=3)
    >>> round(float(h), 4), round(float(dw), 4), round(float(db), 4)
    (0.4621, 0.3634, 0.7864)
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    w_arr, b_arr = np.broadcast_arrays(
        np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    )
    h = np.full(w_arr.shape, float(h0))
    dh_dw = np.zeros_like(h)
    dh_db = np.zeros_like(h)
    for _ in range(n_steps):
        h_next = np.tanh(w_arr * h + b_arr)
        slope = 1.0 - h_next * h_next
        dh_dw = slope * (h + w_arr * dh_dw)
        dh_db = slope * (1.0 + w_arr * dh_db)
        h = h_next
    return h, dh_dw, dh_db


def _at_points(
    params: Array | list[float], *, h0: float, n_steps: int
) -> tuple[Array, Array, Array]:
    """:func:`one_unit_rnn` at the points ``params = (w, b)``, shape ``(..., 2)``."""
    p = np.asarray(params, dtype=np.float64)
    if p.shape[-1:] != (2,):
        raise ValueError(f"params must have shape (..., 2) holding (w, b), got {p.shape}")
    return one_unit_rnn(p[..., 0], p[..., 1], h0=h0, n_steps=n_steps)


def one_unit_loss(params: Array | list[float], *, h0: float, n_steps: int, target: float) -> Array:
    r"""Loss :math:`(h_T - y)^2` of the one-unit network at ``params = (w, b)``.

    Parameters
    ----------
    params : ndarray, shape (..., 2)
        Points :math:`(w, b)`, e.g. a grid stacked on the last axis.
    h0, target : float
    n_steps : int

    Returns
    -------
    ndarray, shape (...)

    Raises
    ------
    ValueError
        If the last axis of ``params`` does not have length 2.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> round(float(rnn.one_unit_loss([0.0, 0.0], h0=0.5, n_steps=2, target=1.0)), 6)
    1.0
    """
    h, _, _ = _at_points(params, h0=h0, n_steps=n_steps)
    return np.asarray((h - target) ** 2)


def one_unit_grad(params: Array | list[float], *, h0: float, n_steps: int, target: float) -> Array:
    r"""Gradient :math:`(\partial L/\partial w, \partial L/\partial b)` of :func:`one_unit_loss`.

    The arguments and the error are those of :func:`one_unit_loss`; the result has the shape of
    ``params``, ``(..., 2)``.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> rnn.one_unit_grad([0.0, 0.0], h0=0.5, n_steps=1, target=1.0).round(3).tolist()
    [-1.0, -2.0]
    """
    h, dh_dw, dh_db = _at_points(params, h0=h0, n_steps=n_steps)
    residual = 2.0 * (h - target)
    return np.stack([residual * dh_dw, residual * dh_db], axis=-1)


class _Cliff(TypedDict):
    """The keyword arguments of :func:`one_unit_loss` and :func:`one_unit_grad`."""

    h0: float
    n_steps: int
    target: float


def _cliff(settings: Settings) -> _Cliff:
    """Return the settings' one-unit network as keyword arguments of :func:`one_unit_loss`."""
    return _Cliff(h0=settings.cliff_h0, n_steps=settings.cliff_steps, target=settings.cliff_target)


def cliff_loss(settings: Settings) -> Callable[[Array], Array]:
    """Return the loss of the settings' one-unit network, a function of ``(w, b)`` points.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> loss = rnn.cliff_loss(rnn.Settings())
    >>> round(float(loss([2.5, 0.0])), 4)
    0.2358
    """
    return functools.partial(one_unit_loss, **_cliff(settings))


def cliff_descent(settings: Settings, max_norm: float | None = None) -> tuple[Array, Array]:
    r"""Gradient descent on :func:`one_unit_loss` from ``cliff_start``, optionally clipped.

    Parameters
    ----------
    settings : Settings
        The one-unit network (``cliff_h0``, ``cliff_steps``, ``cliff_target``) and the descent
        (``cliff_start``, ``cliff_lr``, ``cliff_descent_steps``).
    max_norm : float, optional
        If given, every gradient longer than ``max_norm`` is rescaled to that length
        (:func:`gradwatch.clip.clip_by_global_norm`) before the step.

    Returns
    -------
    path : ndarray, shape (cliff_descent_steps + 1, 2)
        The points visited, ``cliff_start`` first.
    grad_norm : ndarray, shape (cliff_descent_steps + 1,)
        :math:`G = \lVert \nabla L \rVert` at each point, before clipping.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(cliff_start=[0.5, 0.0], cliff_descent_steps=3, cliff_h0=0.5,
    ...                         cliff_steps=5, cliff_target=0.2)
    >>> path, G = rnn.cliff_descent(settings, max_norm=0.01)
    >>> path.shape, round(float(np.linalg.norm(path[1] - path[0])), 6)
    ((4, 2), 0.001)
    """
    grad = functools.partial(one_unit_grad, **_cliff(settings))

    def step_direction(w: Array) -> Array:
        g = grad(w)
        if max_norm is None:
            return g
        (clipped,), _ = clip.clip_by_global_norm([g], max_norm)
        return np.asarray(clipped)

    path = landscape.descent_path(
        step_direction, settings.cliff_start, settings.cliff_lr, settings.cliff_descent_steps
    )
    return path, np.linalg.norm(grad(path), axis=-1)


# ---------------------------------------------------------------------------------------------
# Training with and without clipping.
# ---------------------------------------------------------------------------------------------


def memory_task(settings: Settings, seed: int) -> tuple[Array, Array]:
    r"""Draw the sequences of the memory task: output the first of :math:`T` numbers at the end.

    Returns ``x`` of shape ``(train_samples, train_steps_in_time, 1)``, standard normal, and
    ``y = x[:, 0, :]``: the gradient that teaches it must cross all :math:`T` steps.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(train_samples=4, train_steps_in_time=3, train_batch_size=4)
    >>> x, y = rnn.memory_task(settings, seed=0)
    >>> x.shape, bool((y == x[:, 0]).all())
    ((4, 3, 1), True)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((settings.train_samples, settings.train_steps_in_time, 1))
    return x, x[:, 0, :]


@dataclass(frozen=True)
class TrainingRun:
    """One training run and the loss of the trained network on all its sequences.

    Attributes
    ----------
    history : History
        What :func:`gradwatch.train` recorded (mini-batch losses).
    final_loss : float
        Loss on all ``train_samples`` sequences after the last step; inf if it diverged.
    """

    history: History
    final_loss: float


def train_memory(
    settings: Settings, seed: int, lr: float, max_norm: float | None = None
) -> TrainingRun:
    """Train ``RNN(1, train_hidden, 1, spectral_radius=train_radius)`` on the memory task.

    Parameters
    ----------
    settings : Settings
    seed : int
        Seed of the sequences, the weights and the mini-batch order.
    lr : float
        SGD learning rate.
    max_norm : float, optional
        Clip by global norm at this threshold; None trains plain SGD.

    Returns
    -------
    TrainingRun

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(train_hidden=4, train_steps_in_time=5, train_samples=16,
    ...                         train_steps=3, train_batch_size=8)
    >>> run = rnn.train_memory(settings, seed=0, lr=0.1, max_norm=0.5)
    >>> run.history.steps, bool(run.history.clipped.all())
    (3, True)
    """
    x, y = memory_task(settings, seed)
    net = RNN(1, settings.train_hidden, 1, spectral_radius=settings.train_radius, seed=seed)
    clip_function = (
        None if max_norm is None else functools.partial(clip.clip_by_global_norm, max_norm=max_norm)
    )
    history = train(
        net,
        x,
        y,
        optimizer=optim.SGD(lr=lr),
        steps=settings.train_steps,
        batch_size=settings.train_batch_size,
        clip=clip_function,
        seed=seed,
        progress=False,
    )
    if history.diverged:
        return TrainingRun(history, math.inf)
    with np.errstate(over="ignore", invalid="ignore"):  # weights thrown far off: inf, no warning
        final = float(net.loss_and_grads(x, y)[0])
    return TrainingRun(history, final if math.isfinite(final) else math.inf)


def matched_lr(settings: Settings, clipped: History) -> float:
    """Average learning rate of a run clipped at ``train_max_norm`` with ``train_lr``.

    See ``effective_lr``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> from gradwatch.experiments import rnn
    >>> G = np.array([4.0, 0.5])
    >>> rnn.matched_lr(rnn.Settings(), gw.History(loss=np.ones(2), grad_norm=G))
    0.0625
    """
    return effective_lr(clipped, settings.train_lr, settings.train_max_norm)


@dataclass(frozen=True)
class TrainingComparison(_common.StepSizeControl[TrainingRun]):
    """The training runs of the page, each once per seed of ``train_seeds``.

    The attributes of ``_common.StepSizeControl``: ``plain`` at each
    learning rate of ``train_lrs``, ``clipped`` at ``train_max_norm`` with learning rate
    ``train_lr``, and ``matched`` at the average learning rate (:func:`matched_lr`) of that
    seed's clipped run.
    """

    def shown(self, settings: Settings) -> dict[str, History]:
        """Return the three runs of seed ``train_seed`` that the page draws, by label.

        Examples
        --------
        >>> from gradwatch.experiments import rnn
        >>> settings = rnn.Settings(train_hidden=4, train_steps_in_time=5, train_samples=16,
        ...                         train_steps=3, train_batch_size=8, train_seeds=[0])
        >>> list(rnn.training_comparison(settings).shown(settings))
        ['no clipping, η = 0.1', 'clipped at 1, η = 0.1', 'no clipping, η = 0.04']
        """
        seed, lr = settings.train_seed, settings.train_lr
        average = matched_lr(settings, self.clipped[seed].history)
        return {
            f"no clipping, η = {lr:g}": self.plain[lr][seed].history,
            f"clipped at {settings.train_max_norm:g}, η = {lr:g}": self.clipped[seed].history,
            f"no clipping, η = {average:.2g}": self.matched[seed].history,
        }


def training_comparison(settings: Settings, progress: Progress = no_progress) -> TrainingComparison:
    r"""Train the RNN of :func:`train_memory` with and without clipping, once per seed.

    Every seed's runs share their sequences, initial weights and mini-batches: plain SGD at
    each learning rate of ``train_lrs``; clipped by global norm at ``train_max_norm`` with
    ``train_lr``; and plain SGD at the clipped run's average learning rate, the control for
    clipping acting as a smaller step. ``progress("training", done, total)`` follows the seeds.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(train_hidden=4, train_steps_in_time=5, train_samples=16,
    ...                         train_steps=3, train_batch_size=8, train_seeds=[0, 1])
    >>> runs = rnn.training_comparison(settings)
    >>> list(runs.plain), list(runs.clipped), list(runs.matched)
    ([0.01, 0.03, 0.1], [0, 1], [0, 1])
    """
    plain: dict[float, dict[int, TrainingRun]] = {lr: {} for lr in settings.train_lrs}
    clipped: dict[int, TrainingRun] = {}
    matched: dict[int, TrainingRun] = {}
    for i, seed in enumerate(settings.train_seeds):
        for lr in settings.train_lrs:
            plain[lr][seed] = train_memory(settings, seed, lr)
        clipped[seed] = train_memory(settings, seed, settings.train_lr, settings.train_max_norm)
        matched[seed] = train_memory(settings, seed, matched_lr(settings, clipped[seed].history))
        progress("training", i + 1, len(settings.train_seeds))
    return TrainingComparison(plain=plain, clipped=clipped, matched=matched)


# ---------------------------------------------------------------------------------------------
# The numbers of the page.
# ---------------------------------------------------------------------------------------------


def _key(radius: float) -> str:
    return f"{radius:g}"


def summarise(
    settings: Settings,
    order: Mapping[str, float],
    norms: Mapping[float, Array],
    plain: Array,
    plain_G: Array,
    clipped: Array,
    runs: TrainingComparison,
) -> dict[str, Any]:
    """Turn the steps' results into the numbers of the page, JSON-ready.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`product_order`, :func:`gradient_norms_over_time`, :func:`cliff_descent`
    without clipping (the path and its gradient norms) and with clipping (the path), and
    :func:`training_comparison`.

    Returns
    -------
    dict
        ``order`` (the product of Jacobians in both orders against backpropagation),
        ``time`` (the gradient through time: per-step factors, norms after all steps, the
        radii nearest one and the extreme ones), ``cliff`` (the plateaus, the wall, the jump,
        the final losses) and ``train`` (the runs of seed ``train_seed``, and every run over
        the seeds: see ``seed_summary``).

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(cliff_descent_steps=10, train_steps=3, train_seeds=[0])
    >>> plain, plain_G = rnn.cliff_descent(settings)
    >>> clipped, _ = rnn.cliff_descent(settings, max_norm=settings.cliff_max_norm)
    >>> numbers = rnn.summarise(
    ...     settings,
    ...     rnn.product_order(settings),
    ...     rnn.gradient_norms_over_time(settings),
    ...     plain,
    ...     plain_G,
    ...     clipped,
    ...     rnn.training_comparison(settings),
    ... )
    >>> numbers["time"]["below"]["radius"], numbers["time"]["above"]["radius"]
    (0.9, 1.1)
    >>> print(numbers["time"]["factor_list"])
    0.8000 for *r* = 0.8, 0.9000 for *r* = 0.9, 1.0000 for *r* = 1, 1.1000 for *r* = 1.1, ...
    """
    factors = per_step_factors(norms)
    radii = sorted(norms)
    below = max(r for r in radii if r < 1)
    above = min(r for r in radii if r > 1)

    jump = int(np.argmax(plain_G))
    step_length = np.linalg.norm(np.diff(plain, axis=0), axis=1)
    clipped_step = np.linalg.norm(np.diff(clipped, axis=0), axis=1)
    loss = cliff_loss(settings)
    y = settings.cliff_target

    def end_state(point: Array) -> float:
        h, _, _ = _at_points(point, h0=settings.cliff_h0, n_steps=settings.cliff_steps)
        return float(h)

    return {
        "order": {
            "ordered": float(order["ordered"]),
            "reversed": float(order["reversed"]),
            "reversed_percent": 100 * float(order["reversed"]),
        },
        "time": {
            "steps": settings.time_steps,
            "input_std": settings.time_input_std,
            "steps_back": settings.time_steps - 1,
            "factor": {_key(r): f for r, f in factors.items()},
            "norm_end": {_key(r): float(v[-1]) for r, v in norms.items()},
            "factor_list": ", ".join(f"{factors[r]:.4f} for *r* = {r:g}" for r in radii),
            "below": {"radius": below, "norm_end": float(norms[below][-1])},
            "above": {"radius": above, "norm_end": float(norms[above][-1])},
            "low": {"radius": radii[0], "norm_end": float(norms[radii[0]][-1])},
            "high": {"radius": radii[-1], "norm_end": float(norms[radii[-1]][-1])},
        },
        "cliff": {
            "lr": settings.cliff_lr,
            "max_norm": settings.cliff_max_norm,
            "step": jump,
            "G": float(plain_G[jump]),
            "jump": float(step_length[jump]) if jump < step_length.size else 0.0,
            "median_step": float(np.median(step_length[:jump])) if jump else None,
            "clipped_max_step": float(clipped_step.max()),
            "G_after": float(plain_G[-1]),
            "loss_start": float(loss(plain[0])),
            "loss_plain": float(loss(plain[-1])),
            "loss_clipped": float(loss(clipped[-1])),
            "h_start": end_state(plain[0]),
            "h_plain": end_state(plain[-1]),
            "h_clipped": end_state(clipped[-1]),
            "lower": (-1.0 - y) ** 2,
            "upper": (1.0 - y) ** 2,
            "max_loss_before": float(np.max(loss(plain[: jump + 1]))),
        },
        "train": _training_numbers(settings, runs),
    }


def _training_numbers(settings: Settings, runs: TrainingComparison) -> dict[str, Any]:
    """Return the numbers of the training comparison (see :func:`summarise`)."""
    seed, lr = settings.train_seed, settings.train_lr
    plain_run, clipped_run = runs.plain[lr][seed].history, runs.clipped[seed].history
    n_clipped, n_steps = int(clipped_run.clipped.sum()), clipped_run.steps
    plain = {
        rate: seed_summary([r.final_loss for r in by_seed.values()])
        for rate, by_seed in runs.plain.items()
    }
    clipped = seed_summary([r.final_loss for r in runs.clipped.values()])
    lrs = [matched_lr(settings, r.history) for r in runs.clipped.values()]
    matched = _common.matched_summary([r.final_loss for r in runs.matched.values()], lrs)
    worse = sum(
        runs.plain[lr][s].final_loss > runs.clipped[s].final_loss for s in settings.train_seeds
    )
    return {
        "radius": settings.train_radius,
        "time_steps": settings.train_steps_in_time,
        "max_norm": settings.train_max_norm,
        "lr": lr,
        "seed": seed,
        "seeds": len(settings.train_seeds),
        "steps": plain_run.steps,
        "first_loss": float(plain_run.loss[0]),
        "plain_loss": runs.plain[lr][seed].final_loss,
        "clipped_loss": runs.clipped[seed].final_loss,
        "plain_max_loss": float(np.max(plain_run.loss)),
        "plain_max_G": float(np.max(plain_run.grad_norm)),
        "clipped_count": n_clipped,
        "clipped_text": f"all {n_steps}"
        if n_clipped == n_steps
        else f"{n_clipped} of the {n_steps}",
        "clipped_median_G": float(np.median(clipped_run.grad_norm)),
        "matched_lr": matched_lr(settings, clipped_run),
        "plain": {f"{rate:g}": summary for rate, summary in plain.items()},
        "same_lr": plain[lr],
        "clipped": clipped,
        "matched": matched,
        "same_lr_worse": int(worse),
        "matched_ratio": matched["median"] / clipped["median"]
        if matched["median"] is not None and clipped["median"]
        else None,
    }


# ---------------------------------------------------------------------------------------------
# The figures (matplotlib is imported inside, through gradwatch.plotting).
# ---------------------------------------------------------------------------------------------


def figure_time(norms: Mapping[float, Array]) -> Any:
    """Draw the gradient against the steps back in time: measured (points), :math:`r^k` (lines).

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import rnn
    >>> fig = rnn.figure_time({0.5: np.array([1.0, 0.5, 0.25])})
    >>> fig.axes[0].get_xlabel()
    'steps back in time k'
    """
    return plotting.norms_against_depth(
        {f"r = {r:g}": v for r, v in norms.items()},
        {f"r = {r:g}": r ** np.arange(len(v)) for r, v in norms.items()},
        xlabel="steps back in time k",
        ylabel="gradient norm at $h_{T-k}$ / at $h_T$",
        theory_label="$r^k$",
    )


#: Lowest loss of the cliff's colour scale: the valley's smaller losses share its shade.
LOSS_FLOOR = 1e-3


def figure_cliff(
    settings: Settings,
    plain: Array,
    plain_G: Array,
    clipped: Array,
    clipped_G: Array,
    *,
    resolution: int = 240,
) -> Any:
    """Draw the one-unit loss surface with both descent paths, and their :math:`G` per step.

    Parameters
    ----------
    settings : Settings
        The network (its loss is drawn over ``cliff_extent``) and ``cliff_max_norm``.
    plain, plain_G, clipped, clipped_G : ndarray
        From :func:`cliff_descent` without and with clipping.
    resolution : int, default 240
        Grid points along each axis of the surface.

    Returns
    -------
    matplotlib.figure.Figure
        Left: the loss as shades of grey on a logarithmic scale (so that the valley near 0
        and the lower plateau near :math:`(-1 - y)^2` look different), with the paths; right:
        :math:`G` per step, logarithmic.

    Examples
    --------
    >>> import dataclasses
    >>> from gradwatch.experiments import rnn
    >>> settings = dataclasses.replace(rnn.Settings(), cliff_descent_steps=5)
    >>> plain, plain_G = rnn.cliff_descent(settings)
    >>> fig = rnn.figure_cliff(settings, plain, plain_G, plain, plain_G, resolution=20)
    >>> fig.axes[1].get_yscale(), fig.axes[0].get_xlabel()
    ('log', '$w$')
    """
    from matplotlib.colors import LogNorm

    label = f"clipped at {settings.cliff_max_norm:g}"
    paths = {"no clipping": plain, label: clipped}
    grad_norms = {"no clipping": plain_G, label: clipped_G}
    colors = plotting.COLORS
    x0, x1, y0, y1 = (float(v) for v in settings.cliff_extent)
    grid_x, grid_y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    surface = np.asarray(cliff_loss(settings)(np.stack([grid_x, grid_y], axis=-1)), dtype=float)
    fig, (left, right) = plotting.figure(1, 2, width=9.0, height=4.0, width_ratios=[1.15, 1.0])
    with plotting.style():
        # Logarithmic shades: on a linear scale the valley (loss near 0) and the lower plateau
        # (about 0.25) are the same light grey next to the upper plateau's 2.25.
        norm = LogNorm(vmin=LOSS_FLOOR, vmax=max(float(surface.max()), 10 * LOSS_FLOOR), clip=True)
        mesh = left.pcolormesh(grid_x, grid_y, surface, cmap="Greys", norm=norm, shading="auto")
        fig.colorbar(mesh, ax=left, label="loss (log scale)")
        left.grid(False)
        for i, (name, points) in enumerate(paths.items()):
            color = colors[(i + 1) % 7]
            p = np.asarray(points, dtype=float)
            left.plot(p[:, 0], p[:, 1], "o-", ms=2.5, lw=1.2, color=color, label=name)
            left.plot(p[-1, 0], p[-1, 1], "X", ms=9, color=color, mec="white")
            steps = np.arange(p.shape[0])
            right.plot(
                steps, np.asarray(grad_norms[name], dtype=float), color=color, lw=1.4, label=name
            )
        left.plot(*np.asarray(plain)[0], "s", ms=7, color="#000000", label="start")
        left.set_xlim(x0, x1)
        left.set_ylim(y0, y1)
        left.set_xlabel("$w$")
        left.set_ylabel("$b$")
        left.legend(loc="lower left", fontsize=9, facecolor="white", frameon=True)
        right.set_yscale("log")
        right.set_xlabel("step")
        right.set_ylabel("G before clipping")
        right.legend(fontsize=9)
    return fig


def figure_training(settings: Settings, runs: TrainingComparison) -> Any:
    """Draw the loss and :math:`G` per step of the three runs of seed ``train_seed``.

    Examples
    --------
    >>> from gradwatch.experiments import rnn
    >>> settings = rnn.Settings(train_hidden=4, train_steps_in_time=5, train_samples=16,
    ...                         train_steps=3, train_batch_size=8, train_seeds=[0])
    >>> fig = rnn.figure_training(settings, rnn.training_comparison(settings))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1]
    'clipped at 1, η = 0.1'
    """
    return plotting.training_curves(runs.shown(settings))


# ---------------------------------------------------------------------------------------------
# The whole experiment.
# ---------------------------------------------------------------------------------------------


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: gradient through time, the cliff, training with and without clipping.

    The figures are ``gradient_over_time``, ``cliff`` and ``training``; ``progress`` reports the
    label ``"cliff"`` once, then ``"training"`` after each seed.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> import dataclasses
    >>> from gradwatch.experiments import rnn
    >>> settings = dataclasses.replace(rnn.Settings(), cliff_descent_steps=10, train_steps=3,
    ...                                train_seeds=[0])
    >>> result = rnn.run(settings, figures=False)
    >>> sorted(result.numbers), result.figures
    (['cliff', 'order', 'time', 'train'], {})
    """
    order = product_order(settings)
    norms = gradient_norms_over_time(settings)
    plain, plain_G = cliff_descent(settings)
    clipped, clipped_G = cliff_descent(settings, max_norm=settings.cliff_max_norm)
    progress("cliff", 1, 1)
    runs = training_comparison(settings, progress)
    numbers = summarise(settings, order, norms, plain, plain_G, clipped, runs)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "gradient_over_time": figure_time(norms),
            "cliff": figure_cliff(settings, plain, plain_G, clipped, clipped_G),
            "training": figure_training(settings, runs),
        },
    )
