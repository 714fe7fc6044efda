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

__all__ = ["SGD", "Adam", "Optimizer", "get", "names"]


class Optimizer:
    """Base class: checks the lists, keeps the state, counts the steps.

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
        self._shapes = shapes
        return weights, arrays

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        """Update every parameter in place."""
        raise NotImplementedError


def _check_weight_decay(weight_decay: object) -> float:
    value = check_real(weight_decay, "weight_decay")
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
    return value


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
    >>> opt = gw.optim.SGD(lr=1.0, momentum=0.5)
    >>> w = np.zeros(1)
    >>> for _ in range(2):
    ...     opt.step([w], [np.ones(1)])
    >>> float(w[0])
    -2.5
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        if not 0.0 <= check_real(momentum, "momentum") < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.weight_decay = _check_weight_decay(weight_decay)
        self._velocity: list[Array] = []

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
            or a parameter is read-only. Everything is checked before anything is written: a
            step that raises leaves the parameters, the state and ``steps`` as they were.
        TypeError
            If either list holds something other than floating-point arrays.
        """
        weights, arrays = self._check(params, grads)
        if self.momentum and not self._velocity:
            self._velocity = [np.zeros_like(w) for w in weights]
        for i, (w, g) in enumerate(zip(weights, arrays, strict=True)):
            direction = g + self.weight_decay * w if self.weight_decay else g
            if self.momentum:
                velocity = self._velocity[i]
                velocity *= self.momentum
                velocity += direction
                direction = velocity
            np.subtract(w, self.lr * direction, out=w)
        self.steps += 1

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


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
        L2 penalty added to the gradient (as PyTorch's ``Adam``, not ``AdamW``).

    Raises
    ------
    TypeError
        If ``betas`` is not a pair, or a hyper-parameter is not a real number.
    ValueError
        If a hyper-parameter is out of its range.

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
        self._m: list[Array] = []
        self._v: list[Array] = []

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
            or a parameter is read-only. Everything is checked before anything is written: a
            step that raises leaves the parameters, the state and ``steps`` as they were.
        TypeError
            If either list holds something other than floating-point arrays.
        """
        weights, arrays = self._check(params, grads)
        if not self._m:
            self._m = [np.zeros_like(w) for w in weights]
            self._v = [np.zeros_like(w) for w in weights]
        t = self.steps + 1
        beta1, beta2 = self.betas
        correction1 = 1.0 - beta1**t
        correction2 = 1.0 - beta2**t
        for w, g, first, second in zip(weights, arrays, self._m, self._v, strict=True):
            grad = g + self.weight_decay * w if self.weight_decay else g
            # The moment estimates are updated in place.
            np.multiply(first, beta1, out=first)
            np.add(first, (1.0 - beta1) * grad, out=first)
            np.multiply(second, beta2, out=second)
            np.add(second, (1.0 - beta2) * grad * grad, out=second)
            denominator = np.sqrt(second / correction2)
            denominator += self.eps
            np.subtract(w, (self.lr / correction1) * first / denominator, out=w)
        self.steps = t

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


_BY_NAME: dict[str, Callable[[], Optimizer]] = {"sgd": SGD, "adam": Adam}


def names() -> list[str]:
    """Names accepted by :func:`get`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.optim.names()
    ['adam', 'sgd']
    """
    return sorted(_BY_NAME)


def get(optimizer: Optimizer | str) -> Optimizer:
    """Return a new optimiser from its name, with default hyper-parameters, or the given one.

    Parameters
    ----------
    optimizer : Optimizer or str
        ``"sgd"`` (``SGD()``: ``lr=0.1``, no momentum) or ``"adam"`` (``Adam()``: ``lr=1e-3``,
        ``betas=(0.9, 0.999)``), case-insensitive; or an optimiser, returned as it is (any
        object with a ``step(params, grads)`` method). For other hyper-parameters, build the
        optimiser yourself, e.g. ``SGD(lr=0.05, momentum=0.9)``.

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
    >>> gw.optim.get("rmsprop")
    Traceback (most recent call last):
    ...
    ValueError: unknown optimizer 'rmsprop'; choose one of ['adam', 'sgd'] or pass an Optimizer
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
