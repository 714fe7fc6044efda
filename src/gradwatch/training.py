"""A small mini-batch training loop that records the health of every step.

:func:`train` runs forward, loss, backward, optional clipping and an optimiser step, and keeps
what the site's pages plot: the loss, the global gradient norm :math:`G` before clipping,
whether the step was clipped, each layer's weight-gradient norm and each layer's
update-to-weight ratio.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(64, 2)); y = x[:, :1] - x[:, 1:]
>>> net = gw.MLP([2, 8, 1], seed=0)
>>> history = gw.train(net, x, y, optimizer=gw.optim.SGD(lr=0.1), steps=50, seed=0)
>>> bool(history.loss[-1] < history.loss[0])
True
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import clip as clipping
from gradwatch import losses, optim
from gradwatch._validation import Array, as_float_array, check_positive_int, make_rng, widened

__all__ = ["History", "train"]

ClipFunction = Callable[[list[Array]], "list[Array] | tuple[list[Array], float]"]


@dataclass
class History:
    """What :func:`train` recorded, one entry per step.

    Attributes
    ----------
    loss : ndarray, shape (steps,)
        Mini-batch loss before the step's update.
    grad_norm : ndarray, shape (steps,)
        Global 2-norm :math:`G` of all gradients, before clipping.
    clipped : ndarray of bool, shape (steps,)
        Whether clipping changed the gradients.
    layer_grad_norms : ndarray, shape (steps, n_layers)
        Frobenius norm of each weight matrix's gradient (before clipping): one column per layer
        of an MLP, one per matrix of another model.
    update_ratios : ndarray, shape (steps, n_layers)
        ``std(update) / std(W)`` of each weight matrix: about :math:`10^{-3}` is the usual guide
        for a healthy learning rate.
    diverged : bool
        True if the loss or the gradient became ``nan`` or ``inf``; training then stopped and
        the arrays end at that step.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> x = np.linspace(-1.0, 1.0, 8)[:, None]
    >>> history = gw.train(gw.MLP([1, 4, 1], seed=0), x, 2 * x, steps=5)
    >>> history.steps, history.layer_grad_norms.shape, history.diverged
    (5, (5, 2), False)
    """

    loss: Array = field(default_factory=lambda: np.zeros(0))
    grad_norm: Array = field(default_factory=lambda: np.zeros(0))
    clipped: np.ndarray[Any, np.dtype[np.bool_]] = field(
        default_factory=lambda: np.zeros(0, dtype=bool)
    )
    layer_grad_norms: Array = field(default_factory=lambda: np.zeros((0, 0)))
    update_ratios: Array = field(default_factory=lambda: np.zeros((0, 0)))
    diverged: bool = False

    @property
    def steps(self) -> int:
        """Number of steps recorded."""
        return int(self.loss.shape[0])

    def __repr__(self) -> str:
        if not self.steps:
            return "History(steps=0)"
        return (
            f"History(steps={self.steps}, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}, "
            f"max G={np.max(self.grad_norm):.3g}, clipped {int(self.clipped.sum())} steps"
            f"{', diverged' if self.diverged else ''})"
        )


def _progress_bar(enabled: bool | None, total: int) -> Any:
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="training", unit="step")


def _check_targets(y: object) -> np.ndarray[Any, Any]:
    try:
        return np.asarray(y)
    except ValueError as error:
        if "inhomogeneous" not in str(error):  # NumPy's words for rows of unequal lengths
            raise
        raise ValueError(f"y is ragged: its rows have unequal lengths ({error})") from None


def _check_finite(array: np.ndarray[Any, Any], name: str) -> None:
    """Bad data is an error before training; divergence is what training itself produces."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} holds {bad} nan or inf value{'s' if bad != 1 else ''}; train needs finite data"
        )


def _apply_clip(clip: ClipFunction, grads: list[Array]) -> list[Array]:
    result = clip(grads)
    clipped = result[0] if isinstance(result, tuple) else result
    if len(clipped) != len(grads):
        raise ValueError(f"clip returned {len(clipped)} arrays for {len(grads)} gradients")
    return list(clipped)


def train(  # noqa: PLR0915  (one loop, kept whole so the page can show it)
    net: Any,
    x: Array,
    y: Array,
    loss: str | losses.Loss = "mse",
    optimizer: optim.Optimizer | str | None = None,
    steps: int = 100,
    batch_size: int | None = None,
    clip: ClipFunction | None = None,
    seed: int | np.random.Generator = 0,
    progress: bool | None = None,
) -> History:
    """Train ``net`` with mini-batches and record the gradients' health at every step.

    Parameters
    ----------
    net : MLP or RNN
        Trained in place; any model with ``params()``, ``grads()`` and ``loss_and_grads``.
    x : ndarray, shape (n_samples, n_in) or (n_samples, n_steps, n_in)
    y : ndarray
        Targets in the form the loss expects, samples along the first axis.
    loss : str or Loss, default "mse"
    optimizer : Optimizer or str, optional
        Default ``SGD(lr=0.1)``. A name (``"sgd"``, ``"adam"``) gives that optimiser with its
        default hyper-parameters (see :func:`gradwatch.optim.get`).
    steps : int, default 100
        Any positive integer, a Python ``int`` or a NumPy integer.
    batch_size : int, optional
        Samples per step, drawn without replacement within each pass over the data (reshuffled
        every pass). Default: the whole data set at every step.
    clip : callable, optional
        Any function ``clip(grads)`` returning the clipped list, or a ``(list, G)`` tuple, e.g.
        ``functools.partial(gw.clip.clip_by_global_norm, max_norm=1.0)``,
        ``functools.partial(gw.clip.clip_by_value, clip_value=0.1)`` or
        ``functools.partial(gw.clip.adaptive_clip, net.params())``.
    seed : int or numpy.random.Generator, default 0
        Order of the mini-batches.
    progress : bool, optional
        Show a tqdm progress bar; by default only when standard error is a terminal and tqdm is
        installed.

    Returns
    -------
    History

    Raises
    ------
    ValueError
        If ``x`` is empty or ragged, ``x`` or ``y`` holds a nan or inf, ``x`` and ``y`` have
        different numbers of samples, ``steps`` or ``batch_size`` is not a positive integer,
        ``batch_size`` exceeds the number of samples, or ``optimizer`` is an unknown name.
        All of this is checked before anything changes; a run whose loss or gradient becomes
        nan or inf is not an error but ends with ``History.diverged``.
    TypeError
        If ``optimizer`` is neither an optimiser nor a name, or ``clip`` is not callable.

    Examples
    --------
    >>> import functools
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> x = np.random.default_rng(1).normal(size=(32, 3)); y = 100 * x[:, :1]
    >>> net = gw.MLP([3, 16, 1], seed=0)
    >>> clip = functools.partial(gw.clip.clip_by_global_norm, max_norm=1.0)
    >>> history = gw.train(net, x, y, optimizer=gw.optim.SGD(lr=0.01), steps=20, clip=clip)
    >>> bool(history.clipped.all()), bool(history.grad_norm.min() > 1.0)
    (True, True)
    """
    x_array = as_float_array(x, "x")
    y_array = _check_targets(y)
    if x_array.size == 0:
        raise ValueError(f"x is empty (shape {x_array.shape}); train needs at least one sample")
    if x_array.ndim < 2:
        raise ValueError(
            f"x must have samples along its first axis, (n_samples, n_in) for an MLP, "
            f"got shape {x_array.shape}"
        )
    n = x_array.shape[0]
    if y_array.shape[:1] != (n,):
        raise ValueError(f"x has {n} samples but y has shape {y_array.shape}")
    _check_finite(x_array, "x")
    _check_finite(y_array, "y")
    steps = check_positive_int(steps, "steps")
    batch_size = n if batch_size is None else check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(
            f"batch_size must be an int in [1, {n}] (the samples in x), got {batch_size}"
        )
    if clip is not None and not callable(clip):
        raise TypeError(f"clip must be a function of the gradients, got {clip!r}")
    loss_fn = losses.get(loss)
    opt = optim.SGD(lr=0.1) if optimizer is None else optim.get(optimizer)
    rng = make_rng(seed, "seed")
    params = net.params()
    grads_now = net.grads()
    # The weight matrices and their gradients: every 2-D parameter, in order (for an MLP, one
    # per layer). The gradient arrays are the model's own, rewritten by every backward pass.
    weights = [p for p in params if p.ndim >= 2]
    weight_grads = [g for p, g in zip(params, grads_now, strict=True) if p.ndim >= 2]
    n_layers = len(weights)

    loss_log = np.full(steps, np.nan)
    norm_log = np.full(steps, np.nan)
    clip_log = np.zeros(steps, dtype=bool)
    layer_log = np.full((steps, n_layers), np.nan)
    ratio_log = np.full((steps, n_layers), np.nan)
    order = rng.permutation(n)
    position = 0
    done = 0
    diverged = False
    bar = _progress_bar(progress, steps)
    # A diverging run overflows on purpose: that is recorded in the history, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            if position + batch_size > n:
                order, position = rng.permutation(n), 0
            batch = order[position : position + batch_size]
            position += batch_size
            value, grads = net.loss_and_grads(x_array[batch], y_array[batch], loss=loss_fn)
            G = clipping.global_norm(grads)
            loss_log[step], norm_log[step] = value, G
            layer_log[step] = [float(np.linalg.norm(widened(g))) for g in weight_grads]
            done = step + 1
            if not (np.isfinite(value) and np.isfinite(G)):
                diverged = True
                break
            update = grads
            if clip is not None:
                update = _apply_clip(clip, grads)
                # Compared by norm, so that a clip function working in place is seen too.
                clip_log[step] = clipping.global_norm(update) < G
            before = [w.copy() for w in weights]
            opt.step(params, update)
            ratio_log[step] = [
                float(np.std(w - w0) / max(float(np.std(w0)), 1e-12))
                for w, w0 in zip(weights, before, strict=True)
            ]
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4g}", G=f"{G:.3g}")
    if bar is not None:
        bar.close()
    return History(
        loss=loss_log[:done],
        grad_norm=norm_log[:done],
        clipped=clip_log[:done],
        layer_grad_norms=layer_log[:done],
        update_ratios=ratio_log[:done],
        diverged=diverged,
    )
