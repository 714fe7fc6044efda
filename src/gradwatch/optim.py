r"""Optimisers: update parameters in place from their gradients.

Each optimiser is called as ``opt.step(params, grads)`` with two lists of arrays in the same
order (``net.params()`` and ``net.grads()``). Its state (momentum, moment estimates) belongs to
positions in those lists, so pass the same parameters, in the same order, at every step.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> w = np.array([1.0, -2.0])
>>> gw.optim.SGD(lr=0.5).step([w], [np.array([2.0, 2.0])])
>>> w
array([ 0., -3.])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from gradwatch._validation import (
    Array,
    check_array_list,
    check_positive,
    check_real,
    check_same_structure,
    check_writeable,
)

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "get", "names"]


class Optimizer:
    r"""Base class: checks the lists, keeps the state, counts the steps.

    A subclass implements ``_update(weights, grads)``, one step of its rule; :meth:`step`
    calls it only after every check has passed, then counts the step. Every optimiser checks
    its hyper-parameters when it is built and raises the errors listed here; a subclass lists
    only those of its own.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta > 0`.

    Raises
    ------
    TypeError
        If a hyper-parameter is not a real number.
    ValueError
        If a hyper-parameter is out of its range.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> opt = gw.optim.SGD(lr=0.1)
    >>> isinstance(opt, gw.optim.Optimizer), opt.steps
    (True, 0)
    >>> opt.step([np.zeros(2)], [np.ones(2)])
    >>> opt.steps
    1
    """

    def __init__(self, lr: float) -> None:
        self.lr = check_positive(lr, "lr")
        self.steps = 0
        self._shapes: list[tuple[int, ...]] | None = None

    def _check(
        self, params: Sequence[Array], grads: Sequence[Array]
    ) -> tuple[list[Array], list[Array]]:
        """Check everything a step needs before it writes anything, and record the shapes.

        A step that fails here leaves the parameters, the state and the step count as they
        were: the lists must pair up, keep the shapes of the first step, and every parameter
        must be writeable.
        """
        weights = check_array_list(params, "params")
        arrays = check_array_list(grads, "grads")
        check_same_structure(weights, arrays, "params", "grads")
        shapes = [w.shape for w in weights]
        if self._shapes is not None and shapes != self._shapes:
            raise ValueError(
                f"params changed since the first step: shapes {shapes} instead of {self._shapes}; "
                f"use a new optimiser for another model"
            )
        check_writeable(weights, "params")
        self._check_dtypes(weights)
        self._shapes = shapes
        return weights, arrays

    def _check_dtypes(self, weights: list[Array]) -> None:
        """Raise if the rule cannot run in a parameter's dtype (see :func:`_check_eps`)."""

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        """Update every parameter in place.

        Parameters
        ----------
        params, grads : sequence of ndarray
            Same length and shapes; ``params`` are changed in place.

        Raises
        ------
        ValueError
            If the lists differ in length or shapes, the shapes differ from the first step's,
            a parameter is read-only, or (Adam, AdamW, RMSprop) ``eps`` is 0 in a parameter's
            dtype, as 1e-8 is in float16. Everything is checked before anything is written: a
            step that raises leaves the parameters, the state and ``steps`` as they were.
        TypeError
            If either list holds something other than floating-point arrays.
        """
        weights, arrays = self._check(params, grads)
        self._update(weights, arrays)
        self.steps += 1

    def _update(self, weights: list[Array], grads: list[Array]) -> None:
        """Apply one step of the rule in place; ``self.steps`` still counts the earlier steps.

        Called by :meth:`step` once the lists have passed every check, so it may write freely.
        """
        raise NotImplementedError


def _check_eps(eps: float, weights: list[Array]) -> None:
    r"""Raise a ValueError if ``eps`` rounds to 0 in the dtype of one of ``weights``.

    The denominator :math:`\sqrt v + \epsilon` is then 0 wherever the gradient has been 0,
    and the update 0/0 writes nan into the weights: PyTorch does so, silently, for float16
    weights and its default eps of 1e-8, which float16 rounds to 0.
    """
    for dtype in {w.dtype for w in weights}:  # a few dtypes, however many parameters
        if dtype.type(eps) == 0:
            i = next(i for i, w in enumerate(weights) if w.dtype == dtype)
            smallest = float(np.finfo(dtype).smallest_subnormal)
            raise ValueError(
                f"eps={eps!r} is 0 in {dtype} (params[{i}]), so a zero gradient would give "
                f"0/0 = nan: pass an eps of at least {smallest:.3g}, or update float32 master "
                f"weights (gradwatch.amp.MasterWeights)"
            )


def _check_weight_decay(weight_decay: object) -> float:
    value = check_real(weight_decay, "weight_decay")
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
    return value


def _check_fraction(value: object, name: str) -> float:
    """Return a decay factor (``momentum``, ``alpha``) after checking it is a real in [0, 1)."""
    number = check_real(value, name)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return number


def _with_l2(w: Array, g: Array, weight_decay: float) -> Array:
    r"""Return the gradient with PyTorch's coupled ``weight_decay``, :math:`g + \lambda w`.

    A new array; without decay it is ``g`` itself, which the caller must not write to.
    """
    return g + weight_decay * w if weight_decay else g


def _running_average(
    average: Array,
    decay: float,
    value: Array,
    times: Array | None = None,
    scratch: Array | None = None,
) -> None:
    r"""Update a moving average in place: :math:`a \leftarrow \beta a + (1-\beta)\, x y`.

    ``value`` is :math:`x` and ``times`` is :math:`y` (1 when None). Adam's second moment
    and RMSprop's mean square are of this form: ``_running_average(v, beta2, g, g)`` is
    PyTorch's ``v.mul_(beta2).addcmul_(g, g, value=1 - beta2)``, rounded as it is. The
    increment is written into ``scratch`` when it is given (an array of ``average``'s shape),
    so that a caller with large arrays allocates nothing.
    """
    increment = np.multiply(1.0 - decay, value, out=scratch)
    if times is not None:
        increment *= times
    np.multiply(average, decay, out=average)
    np.add(average, increment, out=average)


def _lerp(start: Array, end: Array, weight: float, scratch: Array) -> None:
    r"""Move ``start`` towards ``end`` in place, :math:`s \leftarrow s + w\,(e - s)`.

    Rounded as ``torch.Tensor.lerp_`` rounds it, which is how PyTorch's Adam updates its first
    moment: :math:`s + w (e - s)` for :math:`w < 1/2`, else :math:`e - (e - s)(1 - w)`, so that
    :math:`w = 1` gives ``end`` exactly. ``scratch`` is an array of ``start``'s shape.
    """
    difference = np.subtract(end, start, out=scratch)
    if weight < 0.5:
        difference *= weight
        start += difference
    else:
        difference *= 1.0 - weight
        np.subtract(end, difference, out=start)


class _Flat:
    """Parameters of one dtype laid end to end, for optimisers that update them as one.

    ``members`` are the parameters' positions in the list and ``state`` flat arrays of their
    total size, zeros at first, which the optimiser keeps from step to step (no array is
    allocated after the first); ``views[k]`` is the part of ``state[-1]`` shaped like member
    ``k``. Elementwise arithmetic on the flat arrays gives, value for value, what it gives on
    each parameter, with a handful of NumPy calls instead of a handful per parameter.
    """

    #: Parameters of at least this many values are a group of their own: the calls they save
    #: weigh nothing next to their arithmetic, and their gradient is then read where it is.
    ALONE = 1 << 16

    def __init__(self, members: list[int], weights: list[Array], n_state: int) -> None:
        self.members = members
        size = sum(weights[i].size for i in members)
        dtype = weights[members[0]].dtype
        self.state = [np.zeros(size, dtype=dtype) for _ in range(n_state)]
        self.views: list[Array] = []
        start = 0
        for i in members:
            end = start + weights[i].size
            self.views.append(self.state[-1][start:end].reshape(weights[i].shape))
            start = end

    @classmethod
    def groups(cls, weights: list[Array], n_state: int) -> list[_Flat]:
        """Group ``weights``: one group per dtype of the small ones, one per large one."""
        members: dict[object, list[int]] = {}
        for i, w in enumerate(weights):
            members.setdefault(i if w.size >= cls.ALONE else w.dtype, []).append(i)
        return [cls(group, weights, n_state) for group in members.values()]

    def gather(self, arrays: list[Array], out: Array) -> Array:
        """Return the members' values in ``arrays``, flattened and end to end.

        A lone member's contiguous array is returned as a flat view of itself, not copied
        (the caller must not write to it); otherwise the values are written into ``out``.
        """
        if len(self.members) == 1 and arrays[self.members[0]].flags.c_contiguous:
            return arrays[self.members[0]].reshape(-1)
        return np.concatenate([arrays[i] for i in self.members], axis=None, out=out)

    def subtract_from(self, weights: list[Array]) -> None:
        """Subtract the step (the last state array) from each member, in place."""
        for i, view in zip(self.members, self.views, strict=True):
            np.subtract(weights[i], view, out=weights[i])


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (heavy-ball) momentum and weight decay.

    .. math::

        v \leftarrow \mu v + (g + \lambda w), \qquad w \leftarrow w - \eta v

    (PyTorch's form; with :math:`\mu = 0` it is :math:`w \leftarrow w - \eta g`).

    Parameters
    ----------
    lr : float, default 0.1
        Learning rate :math:`\eta > 0`.
    momentum : float, default 0.0
        :math:`\mu \in [0, 1)`.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> opt = gw.optim.SGD(lr=1.0, momentum=0.5)
    >>> w = np.zeros(1)
    >>> for _ in range(2):
    ...     opt.step([w], [np.ones(1)])
    >>> float(w[0])
    -2.5
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = _check_fraction(momentum, "momentum")
        self.weight_decay = _check_weight_decay(weight_decay)
        self._velocity: list[Array] = []

    def _update(self, weights: list[Array], grads: list[Array]) -> None:
        if self.momentum and not self._velocity:
            self._velocity = [np.zeros_like(w) for w in weights]
        for i, (w, g) in enumerate(zip(weights, grads, strict=True)):
            direction = _with_l2(w, g, self.weight_decay)
            if self.momentum:
                velocity = self._velocity[i]
                velocity *= self.momentum
                velocity += direction
                direction = velocity
            np.subtract(w, self.lr * direction, out=w)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop`` with ``centered=False``.

    Each entry's step is divided by the root of a running mean of its squared gradients:

    .. math::

        g \leftarrow g + \lambda w, \quad
        v \leftarrow \alpha v + (1-\alpha) g^2, \quad
        b \leftarrow \mu b + \frac{g}{\sqrt v + \epsilon}, \quad
        w \leftarrow w - \eta\, b

    (with :math:`\mu = 0`, :math:`w \leftarrow w - \eta\, g/(\sqrt v + \epsilon)`). There is no
    bias correction: :math:`v` starts at 0, so (without momentum) the first step moves each entry by
    :math:`\eta/\sqrt{1-\alpha}` (:math:`10\eta` for the default :math:`\alpha`), where a
    constant gradient moves it by :math:`\eta` in the long run.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate :math:`\eta > 0`.
    alpha : float, default 0.99
        Decay :math:`\alpha \in [0, 1)` of the mean square.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to the root.
    momentum, weight_decay : float, default 0.0
        As for :class:`SGD`: :math:`\mu`, and the L2 penalty :math:`\lambda` added to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> w = np.array([1.0])
    >>> gw.optim.RMSprop(lr=0.01, alpha=0.99).step([w], [np.array([5.0])])
    >>> round(float(w[0]), 6)  # 1 - 0.01 * 5 / sqrt(0.01 * 25)
    0.9
    """

    def __init__(
        self,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.alpha = _check_fraction(alpha, "alpha")
        self.eps = check_positive(eps, "eps")
        self.momentum = _check_fraction(momentum, "momentum")
        self.weight_decay = _check_weight_decay(weight_decay)
        self._square_avg: list[Array] = []
        self._buffer: list[Array] = []

    def _check_dtypes(self, weights: list[Array]) -> None:
        _check_eps(self.eps, weights)

    def _update(self, weights: list[Array], grads: list[Array]) -> None:
        if not self._square_avg:
            self._square_avg = [np.zeros_like(w) for w in weights]
            if self.momentum:
                self._buffer = [np.zeros_like(w) for w in weights]
        for i, (w, g, square_avg) in enumerate(zip(weights, grads, self._square_avg, strict=True)):
            grad = _with_l2(w, g, self.weight_decay)
            _running_average(square_avg, self.alpha, grad, grad)
            denominator = np.sqrt(square_avg)
            denominator += self.eps
            if self.momentum:
                buffer = self._buffer[i]
                buffer *= self.momentum
                buffer += grad / denominator
                np.subtract(w, self.lr * buffer, out=w)
            else:
                np.subtract(w, self.lr * grad / denominator, out=w)

    def __repr__(self) -> str:
        return (
            f"RMSprop(lr={self.lr}, alpha={self.alpha}, eps={self.eps}, "
            f"momentum={self.momentum}, weight_decay={self.weight_decay})"
        )


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015): steps scaled by running moment estimates, bias-corrected.

    .. math::

        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        w \leftarrow w - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    Parameters
    ----------
    lr : float, default 1e-3
    betas : tuple of float, default (0.9, 0.999)
        Each in :math:`[0, 1)`.
    eps : float, default 1e-8
    weight_decay : float, default 0.0
        L2 penalty added to the gradient (as PyTorch's ``Adam``; :class:`AdamW` decouples it).

    Raises
    ------
    TypeError
        If ``betas`` is not a pair; otherwise as for :class:`Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> w = np.array([1.0])
    >>> gw.optim.Adam(lr=0.1).step([w], [np.array([123.0])])
    >>> round(float(w[0]), 6)
    0.9
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        pair: object = betas  # checked as what it is, whatever the annotation promises
        if isinstance(pair, (str, bytes)) or not isinstance(pair, (Sequence, np.ndarray)):
            raise TypeError(f"betas must be a pair of numbers (beta1, beta2), got {betas!r}")
        values = [check_real(beta, f"betas[{i}]") for i, beta in enumerate(pair)]
        if len(values) != 2 or not all(0.0 <= beta < 1.0 for beta in values):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (values[0], values[1])
        self.eps = check_positive(eps, "eps")
        self.weight_decay = _check_weight_decay(weight_decay)
        self._groups: list[_Flat] = []

    def _check_dtypes(self, weights: list[Array]) -> None:
        _check_eps(self.eps, weights)

    def _update(self, weights: list[Array], grads: list[Array]) -> None:
        pairs = zip(weights, grads, strict=True)
        self._adam_step(weights, [_with_l2(w, g, self.weight_decay) for w, g in pairs])

    def _adam_step(self, weights: list[Array], grads: list[Array]) -> None:
        """Update the moment estimates and move the weights by the bias-corrected step.

        The small parameters of one dtype are updated as one array (see :class:`_Flat`): a
        network of many small layers then costs one NumPy call a parameter, not eight, and every
        value is computed as it would be parameter by parameter, to the last bit.
        """
        if not self._groups:
            self._groups = _Flat.groups(weights, 4)
        t = self.steps + 1
        beta1, beta2 = self.betas
        correction1 = 1.0 - beta1**t
        correction2_root = (1.0 - beta2**t) ** 0.5
        for group in self._groups:
            first, second, scratch, step = group.state
            grad = group.gather(grads, out=scratch)
            _lerp(first, grad, 1.0 - beta1, scratch=step)
            _running_average(second, beta2, grad, grad, scratch=step)
            # The operations of PyTorch's Adam, in its order: sqrt(v) / sqrt(1 - beta2^t) + eps
            # (taking the root first also keeps float16 from overflowing), then the step.
            np.sqrt(second, out=step)
            step /= correction2_root
            step += self.eps
            np.multiply(self.lr / correction1, first, out=scratch)  # the gradient is used up
            np.divide(scratch, step, out=step)
            group.subtract_from(weights)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, as in PyTorch.

    The weights shrink by a fixed fraction before the Adam step on the bare gradient,

    .. math::

        w \leftarrow (1 - \eta\lambda)\, w, \quad
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        w \leftarrow w - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon},

    so the decay is not divided by :math:`\sqrt v` as :class:`Adam`'s L2 penalty is: every
    weight decays at the same rate, whatever the size of its gradients.

    Parameters
    ----------
    lr, betas, eps
        As for :class:`Adam`, with the same defaults (and the same errors).
    weight_decay : float, default 0.01
        Decoupled decay :math:`\lambda \ge 0` (PyTorch's default).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> w = np.array([1.0])
    >>> gw.optim.AdamW(lr=0.1, weight_decay=0.5).step([w], [np.array([0.0])])
    >>> float(w[0])  # a zero gradient: only the decay, 1 - 0.1 * 0.5
    0.95
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay)

    def _update(self, weights: list[Array], grads: list[Array]) -> None:
        if self.weight_decay:
            shrink = 1.0 - self.lr * self.weight_decay
            for w in weights:
                np.multiply(w, shrink, out=w)
        self._adam_step(weights, grads)

    def __repr__(self) -> str:
        return (
            f"AdamW(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
            f"weight_decay={self.weight_decay})"
        )


_BY_NAME: dict[str, Callable[[], Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
}


def names() -> list[str]:
    """Names accepted by :func:`get`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.optim.names()
    ['adam', 'adamw', 'rmsprop', 'sgd']
    """
    return sorted(_BY_NAME)


def get(optimizer: Optimizer | str) -> Optimizer:
    """Return a new optimiser from its name, with default hyper-parameters, or the given one.

    Parameters
    ----------
    optimizer : Optimizer or str
        ``"sgd"`` (``SGD()``: ``lr=0.1``, no momentum), ``"adam"`` (``Adam()``: ``lr=1e-3``,
        ``betas=(0.9, 0.999)``), ``"adamw"`` (``AdamW()``: as Adam, with
        ``weight_decay=0.01``) or ``"rmsprop"`` (``RMSprop()``: ``lr=0.01``, ``alpha=0.99``),
        case-insensitive; or an optimiser, returned as it is (any object with a
        ``step(params, grads)`` method). For other hyper-parameters, build the optimiser
        yourself, e.g. ``SGD(lr=0.05, momentum=0.9)``.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    TypeError
        For anything that is neither a string nor an optimiser.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.optim.get("adam")
    Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)
    >>> gw.optim.get("adagrad")
    Traceback (most recent call last):
    ...
    ValueError: unknown optimizer 'adagrad'; choose one of ['adam', ...] or pass an Optimizer
    """
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in _BY_NAME:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; choose one of {names()} or pass an Optimizer"
            )
        return _BY_NAME[key]()
    if not isinstance(optimizer, type) and callable(getattr(optimizer, "step", None)):
        return optimizer  # an Optimizer, or any object like one (a class is not one)
    raise TypeError(
        f"optimizer must be an Optimizer (e.g. gw.optim.Adam(lr=1e-3)) or one of the names "
        f"{names()}, got {optimizer!r}"
    )
