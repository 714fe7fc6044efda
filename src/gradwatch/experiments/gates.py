r"""Gates against vanishing over time: the experiment of the page ``docs/gates.md``.

The LSTM's cell is updated by :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`, so the gradient
along it is multiplied by :math:`\operatorname{diag}(f_t)` per step, with no weight matrix and
no squashing derivative (Hochreiter & Schmidhuber 1997); the GRU's update gate :math:`z_t` plays
the same role (Cho et al. 2014). The experiment compares :class:`~gradwatch.RNN`,
:class:`~gradwatch.LSTM` and :class:`~gradwatch.GRU` of one hidden width:

- the gradient at :math:`h_{T-k}` (and :math:`c_{T-k}`) against :math:`k` at initialisation,
  with the LSTM's forget-gate bias at each value of ``forget_biases``
  (:func:`gradient_over_time`), and the singular values of the recurrent Jacobians
  (:func:`jacobian_spectra`);
- the adding problem (:func:`adding_problem`) at several sequence lengths, a few seeds each,
  with clipping by global norm for all three (:func:`length_sweep`), and a GRU trained with
  truncated backpropagation through time, which cannot learn a dependency longer than its
  window (:func:`truncated_sweep`);
- the gradient and the spectra of the networks trained on the longest sequences.

Its settings are in ``conf/gates.toml``; ``python -m gradwatch run gates`` runs it, and so does
:func:`run` (its example runs it on small settings).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip, diagnostics, optim, plotting
from gradwatch._validation import Array
from gradwatch.experiments import Progress, Result, _common, no_progress

# isort: split
from gradwatch.experiments import at_least, at_most, finite, increasing, non_negative, positive

# isort: split
from gradwatch.experiments import distinct, require
from gradwatch.gated import GRU, LSTM
from gradwatch.rnn import RNN, Recurrent
from gradwatch.training import train

#: The three networks, in the order of every table and figure.
KINDS = ("RNN", "LSTM", "GRU")

#: Variance of the adding problem's target, the sum of two independent U(0, 1) numbers: the
#: mean squared error of always answering its mean, 1.
BASELINE_MSE = 1.0 / 6.0


@dataclass(frozen=True)
class Settings:
    r"""The settings of the gates experiment (``conf/gates.toml``).

    Attributes
    ----------
    time_hidden, time_steps, time_samples : int
        Hidden units of every network, time steps :math:`T` (at least 2) and samples of the
        gradient-through-time measurement at initialisation.
    time_input_std : float
        Standard deviation of its inputs :math:`x_t \sim \mathcal N(0, \sigma^2)`.
    time_seed : int
    forget_biases : list of float
        The LSTM's forget-gate biases compared there (distinct).
    task_lengths : list of int
        Sequence lengths :math:`T` of the adding problem, increasing, each at least 2.
    task_span : float
        Both markers fall in the first ``task_span`` of the sequence (in ``(0, 1]``), so every
        dependency is at least :math:`(1 - \text{task\_span})\, T` steps long.
    task_hidden : int
        Hidden units of the three networks trained on it.
    task_forget_bias : float
        Forget-gate bias of the trained LSTM.
    task_train_samples, task_test_samples : int
        Training sequences and fresh test sequences per run.
    task_steps, task_batch_size : int
        Adam steps and samples per step (at most ``task_train_samples``).
    task_lr : float
        Adam's learning rate, the same for every network.
    task_max_norm : float
        Every run clips its gradient by global norm at this threshold.
    task_seeds : list of int
        One run per seed (network, data and mini-batches), distinct.
    task_success : float
        A run solves the task when its test mean squared error is below ``task_success``
        times the baseline :data:`BASELINE_MSE` (in ``(0, 1)``).
    bptt_window : int
        Window of the truncated runs (a GRU with ``bptt_steps = bptt_window``), trained at
        every length longer than it.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> gates.Settings().task_lengths
    [8, 16, 32]
    >>> gates.Settings(task_lengths=[16, 8])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'task_lengths' = [16, 8]: expected ...
    """

    time_hidden: int = 32
    time_steps: int = 60
    time_samples: int = 16
    time_input_std: float = 1.0
    time_seed: int = 0
    forget_biases: list[float] = field(default_factory=lambda: [0.0, 1.0])
    task_lengths: list[int] = field(default_factory=lambda: [8, 16, 32])
    task_span: float = 0.5
    task_hidden: int = 16
    task_forget_bias: float = 1.0
    task_train_samples: int = 1024
    task_test_samples: int = 512
    task_steps: int = 180
    task_batch_size: int = 32
    task_lr: float = 0.02
    task_max_norm: float = 1.0
    task_seeds: list[int] = field(default_factory=lambda: [0, 1])
    task_success: float = 0.1
    bptt_window: int = 8

    def __post_init__(self) -> None:
        positive("time_hidden", self.time_hidden)
        at_least("time_steps", self.time_steps, 2)
        positive("time_samples", self.time_samples)
        positive("time_input_std", self.time_input_std)
        non_negative("time_seed", self.time_seed)
        finite("forget_biases", self.forget_biases)
        distinct("forget_biases", self.forget_biases)
        at_least("task_lengths", self.task_lengths, 2)
        increasing(
            "task_lengths",
            self.task_lengths,
            len(self.task_lengths),
            "increasing sequence lengths, each at least 2",
        )
        require(0 < self.task_span <= 1, "task_span", self.task_span, "a fraction in (0, 1]")
        positive("task_hidden", self.task_hidden)
        finite("task_forget_bias", self.task_forget_bias)
        positive("task_train_samples", self.task_train_samples)
        positive("task_test_samples", self.task_test_samples)
        positive("task_steps", self.task_steps)
        positive("task_batch_size", self.task_batch_size)
        at_most(
            "task_batch_size",
            self.task_batch_size,
            self.task_train_samples,
            limit="task_train_samples",
        )
        positive("task_lr", self.task_lr)
        positive("task_max_norm", self.task_max_norm)
        non_negative("task_seeds", self.task_seeds)
        distinct("task_seeds", self.task_seeds)
        require(0 < self.task_success < 1, "task_success", self.task_success, "a number in (0, 1)")
        positive("bptt_window", self.bptt_window)
        require(
            self.bptt_window < self.task_lengths[-1],
            "bptt_window",
            self.bptt_window,
            f"less than the longest task length, {self.task_lengths[-1]}",
        )


def network(
    kind: str,
    n_in: int,
    n_hidden: int,
    *,
    seed: int,
    forget_bias: float = 1.0,
    bptt_steps: int | None = None,
) -> Recurrent:
    """Build one of the three networks with one output, the library's default initialisers.

    Parameters
    ----------
    kind : {"RNN", "LSTM", "GRU"}
    n_in, n_hidden : int
    seed : int
    forget_bias : float, default 1.0
        The LSTM's (ignored by the others).
    bptt_steps : int, optional
        Truncated backpropagation through time.

    Returns
    -------
    RNN, LSTM or GRU

    Raises
    ------
    ValueError
        For an unknown ``kind``.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> gates.network("LSTM", 2, 4, seed=0, forget_bias=0.0)
    LSTM(n_in=2, n_hidden=4, n_out=1, dtype=float64)
    """
    if kind == "RNN":
        return RNN(n_in, n_hidden, 1, seed=seed, bptt_steps=bptt_steps)
    if kind == "LSTM":
        return LSTM(n_in, n_hidden, 1, forget_bias=forget_bias, seed=seed, bptt_steps=bptt_steps)
    if kind == "GRU":
        return GRU(n_in, n_hidden, 1, seed=seed, bptt_steps=bptt_steps)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


# ---------------------------------------------------------------------------------------------
# The gradient through time at initialisation, and the spectra of the recurrent Jacobians.
# ---------------------------------------------------------------------------------------------


def _probe(settings: Settings) -> tuple[Array, Array]:
    """Draw the inputs and the output gradient of the measurements at initialisation."""
    return _common.sequence_probe(
        settings.time_seed, settings.time_samples, settings.time_steps, settings.time_input_std
    )


def initial_networks(settings: Settings) -> dict[str, Recurrent]:
    """Build the networks measured at initialisation: the RNN, an LSTM per forget bias, the GRU.

    All have ``time_hidden`` units, one input, one output and seed ``time_seed``.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> list(gates.initial_networks(gates.Settings(forget_biases=[0.0, 1.0])))
    ['RNN', 'LSTM, forget bias 0', 'LSTM, forget bias 1', 'GRU']
    """
    size, seed = settings.time_hidden, settings.time_seed
    nets: dict[str, Recurrent] = {"RNN": network("RNN", 1, size, seed=seed)}
    for bias in settings.forget_biases:
        nets[f"LSTM, forget bias {bias:g}"] = network("LSTM", 1, size, seed=seed, forget_bias=bias)
    nets["GRU"] = network("GRU", 1, size, seed=seed)
    return nets


def backward_profile(net: Recurrent, x: Array, dy: Array) -> dict[str, Array]:
    r"""Size of the gradient at the state :math:`k` steps before the end, over its size at the end.

    One forward and backward pass of ``net`` on ``x`` with the output gradient ``dy``; entry
    ``k`` of each array is the root-mean-square over samples of the gradient's norm at
    :math:`h_{T-k}` over that at :math:`h_T` (and the same for the LSTM's cell :math:`c`).

    Returns
    -------
    dict
        ``"h"``, and for an LSTM also ``"c"``: arrays of shape ``(n_steps,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> lstm = gates.network("LSTM", 1, 4, seed=0)
    >>> profile = gates.backward_profile(lstm, np.ones((2, 5, 1)), np.ones((2, 1)))
    >>> sorted(profile), float(profile["c"][0])
    (['c', 'h'], 1.0)
    """
    net.forward(x)
    net.backward(dy)
    profile = {"h": net.hidden_grad_norms[::-1]}
    cells = getattr(net, "cell_grad_norms", None)
    if cells is not None:
        profile["c"] = cells[::-1]
    return {key: np.asarray(v / v[0]) for key, v in profile.items()}


def gradient_over_time(settings: Settings) -> dict[str, dict[str, Array]]:
    r"""Measure the gradient against the steps back in every network of :func:`initial_networks`.

    Inputs :math:`x_t \sim \mathcal N(0, \text{time\_input\_std}^2)` for ``time_steps`` steps
    and a standard-normal gradient at the last output; see :func:`backward_profile`.

    Returns
    -------
    dict of str to dict
        By network label, the profiles of :func:`backward_profile`.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> profiles = gates.gradient_over_time(gates.Settings(time_steps=5, time_hidden=4))
    >>> [p["h"].shape for p in profiles.values()]
    [(5,), (5,), (5,), (5,)]
    """
    x, dy = _probe(settings)
    return {
        label: backward_profile(net, x, dy) for label, net in initial_networks(settings).items()
    }


def singular_values(net: Recurrent, x: Array) -> Array:
    r"""Return the singular values of every step's recurrent Jacobian, all samples and steps.

    Parameters
    ----------
    net : RNN, LSTM or GRU
        Its ``recurrent_jacobians(x)``: :math:`\partial h_t/\partial h_{t-1}`, or for the LSTM
        the Jacobian of the whole state :math:`(h_t, c_t)`.
    x : ndarray, shape (n_samples, n_steps, n_in)

    Returns
    -------
    ndarray, shape (n_samples * n_steps * state size,)

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> rnn = gates.network("RNN", 1, 3, seed=0)
    >>> gates.singular_values(rnn, np.zeros((1, 2, 1))).round(6).tolist()  # W_hh orthogonal
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    jacobians = net.recurrent_jacobians(x)
    return np.asarray(np.linalg.svd(jacobians, compute_uv=False).ravel())


def jacobian_spectra(settings: Settings) -> dict[str, Array]:
    """Singular values of the recurrent Jacobians of the networks of :func:`initial_networks`.

    On the inputs of :func:`gradient_over_time`; see :func:`singular_values`.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> spectra = gates.jacobian_spectra(gates.Settings(time_steps=3, time_hidden=4))
    >>> {label: v.size for label, v in spectra.items()}
    {'RNN': 192, 'LSTM, forget bias 0': 384, 'LSTM, forget bias 1': 384, 'GRU': 192}
    """
    x, _ = _probe(settings)
    return {label: singular_values(net, x) for label, net in initial_networks(settings).items()}


# ---------------------------------------------------------------------------------------------
# The adding problem.
# ---------------------------------------------------------------------------------------------


def adding_problem(
    n_samples: int, n_steps: int, span: float, rng: np.random.Generator
) -> tuple[Array, Array]:
    r"""Sequences of the adding problem (Hochreiter & Schmidhuber 1997).

    Each step holds two inputs: a number :math:`u_t \sim U(0, 1)` and a marker, 1 at two steps
    and 0 elsewhere. The target is the sum of the two marked numbers. Both markers fall among
    the first :math:`\max(2, \lfloor \text{span}\, T \rfloor)` steps, so the answer is at least
    :math:`T - \lfloor \text{span}\, T \rfloor` steps old when it is asked for. Always
    answering 1 has the mean squared error :data:`BASELINE_MSE` = 1/6.

    Parameters
    ----------
    n_samples, n_steps : int
    span : float
        Fraction of the sequence, from its start, where the markers fall.
    rng : numpy.random.Generator

    Returns
    -------
    x : ndarray, shape (n_samples, n_steps, 2)
    y : ndarray, shape (n_samples, 1)

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> x, y = gates.adding_problem(3, 10, 0.5, np.random.default_rng(0))
    >>> x.shape, x[:, :, 1].sum(axis=1).tolist(), bool(x[:, 5:, 1].any())
    ((3, 10, 2), [2.0, 2.0, 2.0], False)
    >>> bool(np.allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1)))
    True
    """
    positions = min(n_steps, max(2, int(span * n_steps)))
    values = rng.uniform(0.0, 1.0, (n_samples, n_steps))
    marked = np.argsort(rng.random((n_samples, positions)), axis=1)[:, :2]
    markers = np.zeros((n_samples, n_steps))
    np.put_along_axis(markers, marked, 1.0, axis=1)
    x = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1, keepdims=True)
    return x, y


def train_on_adding(
    settings: Settings, kind: str, n_steps: int, seed: int, *, bptt_steps: int | None = None
) -> tuple[Recurrent, float]:
    """Train one network on the adding problem of length ``n_steps``; return it and its test MSE.

    Adam with ``task_lr``, ``task_steps`` mini-batches of ``task_batch_size`` and clipping by
    global norm at ``task_max_norm``, the same for every network; ``seed`` draws the data, the
    network and the mini-batches. The test error is measured on ``task_test_samples`` fresh
    sequences.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> settings = gates.Settings(task_steps=5, task_hidden=4)
    >>> net, mse = gates.train_on_adding(settings, "GRU", 6, seed=0)
    >>> type(net).__name__, 0 < mse < 1
    ('GRU', True)
    """
    rng = np.random.default_rng(seed)
    x, y = adding_problem(settings.task_train_samples, n_steps, settings.task_span, rng)
    x_test, y_test = adding_problem(settings.task_test_samples, n_steps, settings.task_span, rng)
    net = network(
        kind,
        2,
        settings.task_hidden,
        seed=seed,
        forget_bias=settings.task_forget_bias,
        bptt_steps=bptt_steps,
    )
    train(
        net,
        x,
        y,
        optimizer=optim.Adam(lr=settings.task_lr),
        steps=settings.task_steps,
        batch_size=settings.task_batch_size,
        clip=functools.partial(clip.clip_by_global_norm, max_norm=settings.task_max_norm),
        seed=seed,
        progress=False,
    )
    return net, float(np.mean((net.forward(x_test) - y_test) ** 2))


@dataclass(frozen=True)
class Sweep:
    """Test errors of networks trained on the adding problem, by network, length and seed.

    Attributes
    ----------
    lengths : list of int
        The sequence lengths, rows of every array.
    mse : dict of str to ndarray, shape (len(lengths), n_seeds)
        Test mean squared error of each run, by network label.
    trained : dict of str to network
        The network of the first seed trained at the last length, by label.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> sweep = gates.Sweep([8, 16], {"GRU": np.array([[0.001, 0.002], [0.1, 0.003]])}, {})
    >>> sweep.solved(0.1)["GRU"].tolist()
    [2, 1]
    """

    lengths: list[int]
    mse: dict[str, Array]
    trained: dict[str, Recurrent] = field(default_factory=dict)

    def solved(self, success: float) -> dict[str, Array]:
        """Count the runs whose test error is below ``success`` times the baseline, per length."""
        return {
            label: np.sum(errors < success * BASELINE_MSE, axis=1)
            for label, errors in self.mse.items()
        }


def length_sweep(settings: Settings, progress: Progress = no_progress) -> Sweep:
    """Train the RNN, the LSTM and the GRU on the adding problem at every length and seed.

    See :func:`train_on_adding`. Calls ``progress("adding problem", done, total)`` after
    each length.

    Returns
    -------
    Sweep

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> settings = gates.Settings(task_lengths=[4, 6], task_seeds=[0], task_steps=2,
    ...                           bptt_window=2)
    >>> sweep = gates.length_sweep(settings)
    >>> {label: errors.shape for label, errors in sweep.mse.items()}
    {'RNN': (2, 1), 'LSTM': (2, 1), 'GRU': (2, 1)}
    """
    mse: dict[str, Array] = {
        kind: np.empty((len(settings.task_lengths), len(settings.task_seeds))) for kind in KINDS
    }
    trained: dict[str, Recurrent] = {}
    for row, n_steps in enumerate(settings.task_lengths):
        for column, seed in enumerate(settings.task_seeds):
            for kind in KINDS:
                net, mse[kind][row, column] = train_on_adding(settings, kind, n_steps, seed)
                if row == len(settings.task_lengths) - 1 and column == 0:
                    trained[kind] = net
        progress("adding problem", row + 1, len(settings.task_lengths))
    return Sweep(list(settings.task_lengths), mse, trained)


def truncated_label(settings: Settings) -> str:
    """Name the truncated runs: ``"GRU, last 8 steps"``.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> gates.truncated_label(gates.Settings(bptt_window=8))
    'GRU, last 8 steps'
    """
    return f"GRU, last {settings.bptt_window} steps"


def truncated_sweep(settings: Settings) -> Sweep:
    """Train a GRU with truncated backpropagation through time at every length above the window.

    The same runs as the GRU's of :func:`length_sweep` (data, seeds, optimiser, clipping),
    with ``bptt_steps = bptt_window``: the gradient covers the last ``bptt_window`` steps.
    At a length within the window, truncation changes nothing, so those lengths are skipped.

    Returns
    -------
    Sweep
        Under :func:`truncated_label`; no length at all if every length is within the window.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> settings = gates.Settings(task_lengths=[4, 8], task_seeds=[0], task_steps=2,
    ...                           bptt_window=4)
    >>> sweep = gates.truncated_sweep(settings)
    >>> sweep.lengths, sweep.mse["GRU, last 4 steps"].shape
    ([8], (1, 1))
    """
    lengths = [n for n in settings.task_lengths if n > settings.bptt_window]
    errors: Array = np.empty((len(lengths), len(settings.task_seeds)))
    for row, n_steps in enumerate(lengths):
        for column, seed in enumerate(settings.task_seeds):
            _, errors[row, column] = train_on_adding(
                settings, "GRU", n_steps, seed, bptt_steps=settings.bptt_window
            )
    return Sweep(lengths, {truncated_label(settings): errors})


def trained_profiles(settings: Settings, sweep: Sweep) -> dict[str, dict[str, Array]]:
    """Measure the gradient against the steps back in the networks trained at the longest length.

    :func:`backward_profile` of each network of ``sweep.trained`` on fresh sequences of the
    adding problem (seed ``time_seed``) with a standard-normal output gradient.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> settings = gates.Settings(task_lengths=[4], task_seeds=[0], task_steps=2, bptt_window=2)
    >>> profiles = gates.trained_profiles(settings, gates.length_sweep(settings))
    >>> {label: p["h"].shape for label, p in profiles.items()}
    {'RNN': (4,), 'LSTM': (4,), 'GRU': (4,)}
    """
    x, dy = _task_probe(settings)
    return {label: backward_profile(net, x, dy) for label, net in sweep.trained.items()}


def _task_probe(settings: Settings) -> tuple[Array, Array]:
    rng = np.random.default_rng(settings.time_seed)
    x, _ = adding_problem(settings.time_samples, settings.task_lengths[-1], settings.task_span, rng)
    return x, rng.standard_normal((settings.time_samples, 1))


def trained_spectra(settings: Settings, sweep: Sweep) -> dict[str, Array]:
    """Singular values of the recurrent Jacobians of the networks trained at the longest length.

    On the sequences of :func:`trained_profiles`; see :func:`singular_values`.

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> settings = gates.Settings(task_lengths=[4], task_seeds=[0], task_steps=2, task_hidden=3,
    ...                           bptt_window=2)
    >>> spectra = gates.trained_spectra(settings, gates.length_sweep(settings))
    >>> {label: v.size for label, v in spectra.items()}
    {'RNN': 192, 'LSTM': 384, 'GRU': 192}
    """
    x, _ = _task_probe(settings)
    return {label: singular_values(net, x) for label, net in sweep.trained.items()}


# ---------------------------------------------------------------------------------------------
# The numbers of the page.
# ---------------------------------------------------------------------------------------------


def _gate_median(net: Recurrent, x: Array) -> dict[str, float]:
    """Return ``{"gate": median}`` of the gate that keeps the state, or ``{}`` for the RNN.

    The gate is the LSTM's forget gate and the GRU's update gate, on the inputs ``x``.
    """
    if not isinstance(net, (LSTM, GRU)):
        return {}
    net.forward(x)
    keep = net.gates["forget" if isinstance(net, LSTM) else "update"]
    return {"gate": float(np.median(keep))}


def _profile_numbers(net: Recurrent, profile: Mapping[str, Array], x: Array) -> dict[str, float]:
    """Return the per-step factor and the ratio after all steps (at h, and c), and the gate.

    ``factor_h`` and ``end_h`` (and the LSTM's ``factor_c`` and ``end_c``) of a profile of
    :func:`backward_profile`, and the median gate of :func:`_gate_median` on the inputs ``x``.
    """
    numbers: dict[str, float] = {}
    for state, ratios in profile.items():
        numbers[f"factor_{state}"] = diagnostics.fit_per_layer_factor(ratios)
        numbers[f"end_{state}"] = float(ratios[-1])
    return numbers | _gate_median(net, x)


def _spectrum_numbers(values: Array) -> dict[str, float]:
    return {
        "max": float(values.max()),
        "median": float(np.median(values)),
        "above": float(np.mean(values > 0.9)),
    }


def _longest_solved(lengths: Sequence[int], solved: Array, n_seeds: int) -> int:
    """Return the longest length up to which every run of every length solved the task, or 0."""
    longest = 0
    for n_steps, count in zip(lengths, solved, strict=True):
        if count < n_seeds:
            break
        longest = n_steps
    return longest


def _words(values: Sequence[int]) -> str:
    """``"8, 16 and 32"``."""
    text = [str(v) for v in values]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def summarise(
    settings: Settings,
    profiles: Mapping[str, Mapping[str, Array]],
    spectra: Mapping[str, Array],
    sweep: Sweep,
    truncated: Sweep,
    after: Mapping[str, Mapping[str, Array]],
    after_spectra: Mapping[str, Array],
) -> dict[str, Any]:
    """Turn the steps' results into the numbers of the page, JSON-ready.

    Each argument after ``settings`` is the return value of one step, in the order of
    :func:`run`: :func:`gradient_over_time`, :func:`jacobian_spectra`, :func:`length_sweep`,
    :func:`truncated_sweep`, :func:`trained_profiles` and :func:`trained_spectra`.

    Returns
    -------
    dict
        ``time`` (per-step factors and the gradient after all steps at initialisation; the
        LSTMs with the lowest and highest forget bias as ``lstm_low`` and ``lstm_high``),
        ``spectra`` (largest and median singular value, fraction above 0.9), ``task`` (runs
        solved per length, relative errors), ``truncated`` and ``trained`` (the networks
        trained at the longest length).

    Examples
    --------
    >>> from gradwatch.experiments import gates
    >>> settings = gates.Settings(time_steps=6, task_lengths=[4, 8], task_seeds=[0], task_steps=3,
    ...                           bptt_window=4)
    >>> sweep = gates.length_sweep(settings)
    >>> numbers = gates.summarise(
    ...     settings,
    ...     gates.gradient_over_time(settings),
    ...     gates.jacobian_spectra(settings),
    ...     sweep,
    ...     gates.truncated_sweep(settings),
    ...     gates.trained_profiles(settings, sweep),
    ...     gates.trained_spectra(settings, sweep),
    ... )
    >>> numbers["time"]["lstm_high"]["bias"], numbers["task"]["lengths"]
    (1.0, [4, 8])
    """
    low, high = min(settings.forget_biases), max(settings.forget_biases)
    keys = {"RNN": "rnn", f"LSTM, forget bias {low:g}": "lstm_low"}
    keys[f"LSTM, forget bias {high:g}"] = "lstm_high"
    keys["GRU"] = "gru"
    x_init, _ = _probe(settings)
    nets = initial_networks(settings)
    time: dict[str, Any] = {
        "steps": settings.time_steps,
        "steps_back": settings.time_steps - 1,
        "hidden": settings.time_hidden,
        "input_std": settings.time_input_std,
    }
    for label, key in keys.items():
        entry: dict[str, Any] = _profile_numbers(nets[label], profiles[label], x_init)
        if key.startswith("lstm"):
            entry["bias"] = low if key == "lstm_low" else high
        time[key] = entry
    n_seeds = len(settings.task_seeds)
    solved = sweep.solved(settings.task_success)
    truncated_solved = truncated.solved(settings.task_success)[truncated_label(settings)]
    task: dict[str, Any] = {
        "lengths": list(sweep.lengths),
        "lengths_text": _words(sweep.lengths),
        "longest": sweep.lengths[-1],
        "seeds": n_seeds,
        "steps": settings.task_steps,
        "lr": settings.task_lr,
        "max_norm": settings.task_max_norm,
        "hidden": settings.task_hidden,
        "forget_bias": settings.task_forget_bias,
        "span": settings.task_span,
        "success": settings.task_success,
        "threshold": settings.task_success * BASELINE_MSE,
        "baseline": BASELINE_MSE,
    }
    for kind in KINDS:
        task[kind.lower()] = {
            "solved": [int(v) for v in solved[kind]],
            "solved_longest": int(solved[kind][-1]),
            "longest_solved": _longest_solved(sweep.lengths, solved[kind], n_seeds),
            "median": [float(v) for v in np.median(sweep.mse[kind], axis=1) / BASELINE_MSE],
            "median_longest": float(np.median(sweep.mse[kind][-1]) / BASELINE_MSE),
        }
    truncated_errors = truncated.mse[truncated_label(settings)] / BASELINE_MSE
    x_task, _ = _task_probe(settings)
    trained: dict[str, Any] = {"length": sweep.lengths[-1], "steps_back": sweep.lengths[-1] - 1}
    for kind in KINDS:
        trained[kind.lower()] = {
            **_profile_numbers(sweep.trained[kind], after[kind], x_task),
            **_spectrum_numbers(after_spectra[kind]),
        }
    return {
        "time": time,
        "spectra": {key: _spectrum_numbers(spectra[label]) for label, key in keys.items()},
        "task": task,
        "truncated": {
            "window": settings.bptt_window,
            "lengths": list(truncated.lengths),
            "solved": [int(v) for v in truncated_solved],
            "solved_total": int(np.sum(truncated_solved)),
            "runs": int(truncated_errors.size),
            "min": float(truncated_errors.min()),
            "median": [float(v) for v in np.median(truncated_errors, axis=1)],
        },
        "trained": trained,
    }


# ---------------------------------------------------------------------------------------------
# The figures (matplotlib is imported inside, through gradwatch.plotting).
# ---------------------------------------------------------------------------------------------


def _colors(labels: Sequence[str]) -> dict[str, str]:
    """Give each network one colour in every figure.

    The RNN, the LSTM and the GRU keep theirs; of the LSTMs with several forget biases, the
    last (the highest in the conf's order) takes the trained LSTM's colour, the others the
    next ones; the truncated GRU comes after.
    """
    fixed = {"RNN": 0, "LSTM": 2, "GRU": 3}
    lstms = [label for label in labels if label.startswith("LSTM,")]
    spare = iter([1, 5, 6, 4])
    index = {}
    for label in labels:
        if label in fixed:
            index[label] = fixed[label]
        elif lstms and label == lstms[-1]:
            index[label] = 2
        else:
            index[label] = next(spare, 6)
    return {label: plotting.COLORS[i % 7] for label, i in index.items()}


def _draw_profiles(ax: Any, profiles: Mapping[str, Mapping[str, Array]], title: str) -> None:
    colors = _colors(list(profiles))
    for label, profile in profiles.items():
        color = colors[label]
        for state, ratios in profile.items():
            steps_back = np.arange(ratios.size)
            dashed = state == "c"
            ax.plot(
                steps_back,
                ratios,
                "--" if dashed else "-",
                color=color,
                lw=1.6,
                label=f"{label} (at $c$)" if dashed else label,
            )
    ax.set_yscale("log")
    ax.set_xlabel("steps back in time k")
    ax.set_title(title)
    ax.legend(fontsize=8)


def figure_time(
    profiles: Mapping[str, Mapping[str, Array]],
    after: Mapping[str, Mapping[str, Array]],
    *,
    length: int,
) -> Any:
    """Draw the gradient against the steps back: at initialisation and after training.

    Parameters
    ----------
    profiles, after
        From :func:`gradient_over_time` and :func:`trained_profiles`: solid lines at
        :math:`h`, dashed at the LSTM's :math:`c`.
    length : int
        The length the networks on the right were trained at (for the title).

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> profile = {"GRU": {"h": np.array([1.0, 0.5, 0.25])}}
    >>> fig = gates.figure_time(profile, profile, length=3)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_yscale()
    ('steps back in time k', 'log')
    """
    fig, (left, right) = plotting.figure(1, 2, width=10.0, height=4.0)
    with plotting.style():
        _draw_profiles(left, profiles, "at initialisation")
        _draw_profiles(right, after, f"trained on the adding problem, T = {length}")
        left.set_ylabel("gradient norm at $h_{T-k}$ / at $h_T$")
    return plotting.readable(fig)


def figure_spectra(spectra: Mapping[str, Array], after: Mapping[str, Array]) -> Any:
    """Histograms of the recurrent Jacobians' singular values: at initialisation, after training.

    Parameters
    ----------
    spectra, after
        From :func:`jacobian_spectra` and :func:`trained_spectra`.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> fig = gates.figure_spectra({"RNN": np.array([0.5, 1.0])}, {"RNN": np.array([0.2, 2.0])})
    >>> [ax.get_title() for ax in fig.axes]
    ['at initialisation', 'after training']
    """
    fig, axes = plotting.figure(1, 2, width=10.0, height=3.8, sharey=True)
    top = max(float(np.max(v)) for group in (spectra, after) for v in group.values())
    edges = np.linspace(0.0, max(top, 1.0) * 1.02, 45)
    with plotting.style():
        for ax, group, title in zip(
            axes, (spectra, after), ("at initialisation", "after training"), strict=True
        ):
            colors = _colors(list(group))
            for label, values in group.items():
                counts, _ = np.histogram(values, bins=edges)
                ax.stairs(counts / values.size, edges, color=colors[label], lw=1.6, label=label)
            ax.axvline(1.0, color="#555555", ls=":", lw=1.2)
            ax.set_xlabel("singular value of the recurrent Jacobian")
            ax.set_title(title)
            ax.legend(fontsize=8)
        axes[0].set_ylabel("fraction")
    return plotting.readable(fig)


def figure_adding(settings: Settings, sweep: Sweep, truncated: Sweep) -> Any:
    """Test error against sequence length: one point per run, a line through the medians.

    The error is relative to :data:`BASELINE_MSE`; the dotted line is the success threshold
    ``task_success``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.experiments import gates
    >>> sweep = gates.Sweep([8, 16], {"GRU": np.array([[0.01, 0.02], [0.1, 0.2]])})
    >>> fig = gates.figure_adding(gates.Settings(), sweep, gates.Sweep([16], {}))
    >>> fig.axes[0].get_yscale()
    'log'
    """
    fig, ax = plotting.figure(width=6.8, height=4.2)
    groups = [(sweep, label, "-") for label in sweep.mse]
    groups += [(truncated, label, "--") for label in truncated.mse]
    colors = _colors([label for _, label, _ in groups])
    with plotting.style():
        for i, (group, label, line) in enumerate(groups):
            color = colors[label]
            errors = group.mse[label] / BASELINE_MSE
            lengths = np.asarray(group.lengths, dtype=float)
            jitter = 1.0 + 0.03 * (i - (len(groups) - 1) / 2)
            for column in range(errors.shape[1]):
                ax.plot(lengths * jitter, errors[:, column], "o", ms=4, color=color, alpha=0.7)
            ax.plot(
                lengths * jitter, np.median(errors, axis=1), line, color=color, lw=1.6, label=label
            )
        ax.axhline(settings.task_success, color="#555555", ls=":", lw=1.2, label="solved below")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sweep.lengths, [str(n) for n in sweep.lengths])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel("test MSE / MSE of answering 1")
        ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------------------------------------
# The whole experiment.
# ---------------------------------------------------------------------------------------------


def run(settings: Settings, progress: Progress = no_progress, *, figures: bool = True) -> Result:
    """Run the experiment: measure at initialisation, train on the adding problem, measure again.

    The figures are ``gradient_over_time``, ``spectra`` and ``adding``; ``progress`` counts the
    lengths of :func:`length_sweep` under the label ``"adding problem"``.

    Arguments and result as for :func:`gradwatch.experiments.run`.

    Examples
    --------
    >>> import dataclasses
    >>> from gradwatch.experiments import gates
    >>> settings = dataclasses.replace(gates.Settings(), time_steps=6, task_lengths=[4, 8],
    ...                                task_seeds=[0], task_steps=3, bptt_window=4)
    >>> result = gates.run(settings, figures=False)
    >>> result.numbers["truncated"]["lengths"], result.figures
    ([8], {})
    """
    profiles = gradient_over_time(settings)
    spectra = jacobian_spectra(settings)
    sweep = length_sweep(settings, progress)
    truncated = truncated_sweep(settings)
    after = trained_profiles(settings, sweep)
    after_spectra = trained_spectra(settings, sweep)
    numbers = summarise(settings, profiles, spectra, sweep, truncated, after, after_spectra)
    if not figures:
        return Result(numbers=numbers)
    return Result(
        numbers=numbers,
        figures={
            "gradient_over_time": figure_time(profiles, after, length=sweep.lengths[-1]),
            "spectra": figure_spectra(spectra, after_spectra),
            "adding": figure_adding(settings, sweep, truncated),
        },
    )
