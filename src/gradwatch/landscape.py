r"""Small loss surfaces and the path gradient descent takes over them.

Gradient descent moves the parameters :math:`w` against the gradient of the loss,

.. math::

    w_{t+1} = w_t - \eta \, \nabla L(w_t),

with learning rate :math:`\eta > 0`. On a quadratic bowl
:math:`L(w) = \tfrac12 (w - w^\star)^\top H (w - w^\star)` the iterates are exactly
:math:`w_t - w^\star = (I - \eta H)^t (w_0 - w^\star)`, so descent converges from every start if
and only if :math:`0 < \eta < 2/\lambda_\max(H)`. This module builds such bowls
(:func:`quadratic`), runs descent on any differentiable function (:func:`descent_path`) and
compares learning rates on one surface (:func:`learning_rate_sweep`).

Examples
--------
>>> import gradwatch as gw
>>> bowl = gw.landscape.quadratic([1.0, 10.0])
>>> round(bowl.max_stable_lr, 6)
0.2
>>> path = gw.landscape.descent_path(bowl.grad, [1.0, 1.0], lr=0.1, steps=50)
>>> round(float(bowl(path[-1])), 6)
0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwatch._validation import Array, as_float_array, check_positive

__all__ = [
    "DescentRun",
    "Quadratic",
    "descent_path",
    "learning_rate_sweep",
    "quadratic",
    "steps_to_tolerance",
]


@dataclass(frozen=True)
class Quadratic:
    r"""The quadratic bowl :math:`L(w) = \tfrac12 (w - w^\star)^\top H (w - w^\star)`.

    Build one with :func:`quadratic`. Calling it and :meth:`grad` work on a single point of
    shape ``(d,)`` or on a batch of points of shape ``(..., d)`` (a grid for a contour plot).

    Attributes
    ----------
    hessian : ndarray, shape (d, d)
        The symmetric positive definite matrix :math:`H`.
    minimum : ndarray, shape (d,)
        The minimiser :math:`w^\star`, where the loss is 0.
    """

    hessian: Array
    minimum: Array

    def _check(self, w: object) -> Array:
        points = as_float_array(w, "w")
        d = self.minimum.size
        if points.ndim == 0 or points.shape[-1] != d:
            raise ValueError(f"w must have shape (..., {d}), got {points.shape}")
        return points

    def __call__(self, w: Array | Sequence[float]) -> Array:
        r"""Loss :math:`L(w)`: shape ``(...)`` for ``w`` of shape ``(..., d)``."""
        delta = self._check(w) - self.minimum
        result: Array = 0.5 * np.einsum("...i,ij,...j->...", delta, self.hessian, delta)
        return result

    def grad(self, w: Array | Sequence[float]) -> Array:
        r"""Gradient :math:`\nabla L(w) = H (w - w^\star)`, same shape as ``w``."""
        delta = self._check(w) - self.minimum
        result: Array = delta @ self.hessian  # H is symmetric: delta H = (H delta)^T
        return result

    @property
    def eigenvalues(self) -> Array:
        """Curvatures: the eigenvalues of ``hessian``, in increasing order, shape ``(d,)``."""
        result: Array = np.linalg.eigvalsh(self.hessian)
        return result

    @property
    def max_stable_lr(self) -> float:
        r"""The learning rate :math:`2/\lambda_\max` beyond which descent diverges."""
        return 2.0 / float(self.eigenvalues[-1])

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = \lambda_\max / \lambda_\min`, the bowl's elongation."""
        values = self.eigenvalues
        return float(values[-1] / values[0])


def quadratic(
    curvatures: Sequence[float],
    angle: float = 0.0,
    minimum: Sequence[float] | None = None,
) -> Quadratic:
    r"""Build a quadratic bowl with the given curvatures along axes turned by ``angle``.

    Parameters
    ----------
    curvatures : sequence of float, length d
        The eigenvalues :math:`\lambda_i > 0` of the Hessian :math:`H`.
    angle : float, default 0.0
        In two dimensions only: rotation in radians of the eigenvectors from the coordinate
        axes, :math:`H = R \operatorname{diag}(\lambda) R^\top`.
    minimum : sequence of float, length d, optional
        The minimiser :math:`w^\star`; the origin by default.

    Returns
    -------
    Quadratic

    Raises
    ------
    ValueError
        If a curvature is not positive and finite, ``angle`` is non-zero outside two
        dimensions, or ``minimum`` has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> bowl = gw.landscape.quadratic([1.0, 4.0], angle=np.pi / 2)
    >>> np.round(bowl.hessian, 6) + 0.0
    array([[4., 0.],
           [0., 1.]])
    >>> float(bowl([1.0, 0.0])), bowl.condition_number
    (2.0, 4.0)
    """
    values = np.asarray(curvatures, dtype=np.float64)
    if values.ndim != 1 or values.size < 1:
        raise ValueError(f"curvatures must be a non-empty 1-D sequence, got {curvatures!r}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"curvatures must all be positive and finite, got {curvatures!r}")
    d = values.size
    theta = float(angle)
    if not math.isfinite(theta):
        raise ValueError(f"angle must be finite, got {angle!r}")
    if d == 2:
        c, s = math.cos(theta), math.sin(theta)
        rotation = np.array([[c, -s], [s, c]])
    elif theta != 0.0:
        raise ValueError(f"angle rotates a 2-D bowl only; curvatures has {d} entries")
    else:
        rotation = np.eye(d)
    hessian = rotation @ np.diag(values) @ rotation.T
    hessian = 0.5 * (hessian + hessian.T)
    centre = np.zeros(d) if minimum is None else np.asarray(minimum, dtype=np.float64)
    if centre.shape != (d,):
        raise ValueError(f"minimum must have {d} entries like curvatures, got {minimum!r}")
    return Quadratic(hessian=hessian, minimum=centre)


def descent_path(
    grad_fn: Callable[[Array], Array],
    start: Array | Sequence[float],
    lr: float,
    steps: int,
    *,
    limit: float = 1e8,
) -> Array:
    r"""Points visited by gradient descent :math:`w_{t+1} = w_t - \eta \nabla L(w_t)`.

    Parameters
    ----------
    grad_fn : callable
        Maps a point of shape ``(d,)`` to the gradient :math:`\nabla L` there, shape ``(d,)``.
    start : array_like, shape (d,)
        The first point :math:`w_0`.
    lr : float
        Learning rate :math:`\eta > 0`.
    steps : int
        Number of updates, at least 0.
    limit : float, default 1e8
        Descent stops early once a point's Euclidean norm exceeds ``limit`` (or is not
        finite): a diverging run ends there instead of overflowing.

    Returns
    -------
    ndarray, shape (n_points, d)
        :math:`w_0, w_1, \dots`; ``n_points`` is ``steps + 1`` unless the run stopped early.

    Raises
    ------
    ValueError
        If ``start`` is not a finite 1-D array, ``lr`` or ``limit`` is not positive, ``steps``
        is negative, or ``grad_fn`` returns the wrong shape.
    TypeError
        If ``steps`` is not an int.

    Examples
    --------
    >>> import gradwatch as gw
    >>> path = gw.landscape.descent_path(lambda w: 2 * w, [1.0], lr=0.25, steps=3)
    >>> path.ravel().tolist()                # each step halves w: w - 0.25 * 2w = w / 2
    [1.0, 0.5, 0.25, 0.125]
    """
    point = as_float_array(start, "start").astype(np.float64)
    if point.ndim != 1 or point.size == 0 or not np.all(np.isfinite(point)):
        raise ValueError(f"start must be a finite 1-D array, got {start!r}")
    eta = check_positive(lr, "lr")
    bound = check_positive(limit, "limit")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an int, got {steps!r}")
    if steps < 0:
        raise ValueError(f"steps must be at least 0, got {steps!r}")
    points = [point]
    for _ in range(int(steps)):
        gradient = np.asarray(grad_fn(point), dtype=np.float64)
        if gradient.shape != point.shape:
            raise ValueError(
                f"grad_fn returned shape {gradient.shape} for a point of shape {point.shape}"
            )
        point = point - eta * gradient
        points.append(point)
        if not np.all(np.isfinite(point)) or float(np.linalg.norm(point)) > bound:
            break
    return np.stack(points)


def steps_to_tolerance(losses: Array | Sequence[float], tol: float) -> int | None:
    """Index of the first loss at or below ``tol``, or ``None`` if none gets there.

    Parameters
    ----------
    losses : array_like, shape (n_points,)
        Loss at each point of a path, the start first.
    tol : float
        Tolerance, positive.

    Returns
    -------
    int or None
        The number of steps taken before the loss first reached ``tol``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.landscape.steps_to_tolerance([4.0, 1.0, 0.25, 0.0625], 0.3)
    2
    >>> gw.landscape.steps_to_tolerance([4.0, 9.0], 0.3) is None
    True
    """
    values = as_float_array(losses, "losses")
    if values.ndim != 1:
        raise ValueError(f"losses must be 1-D, got shape {values.shape}")
    threshold = check_positive(tol, "tol")
    below = np.flatnonzero(values <= threshold)
    return int(below[0]) if below.size else None


@dataclass(frozen=True)
class DescentRun:
    """One run of gradient descent, as returned by :func:`learning_rate_sweep`.

    Attributes
    ----------
    lr : float
        The learning rate.
    path : ndarray, shape (n_points, d)
        The points visited, from :func:`descent_path`.
    losses : ndarray, shape (n_points,)
        The loss at each point.
    steps_to_tol : int or None
        Steps until the loss first reached the tolerance (see :func:`steps_to_tolerance`).
    diverged : bool
        Whether the last loss exceeds the first.
    """

    lr: float
    path: Array
    losses: Array
    steps_to_tol: int | None
    diverged: bool

    @property
    def final_loss(self) -> float:
        """The loss at the last point."""
        return float(self.losses[-1])

    def describe(self) -> str:
        r"""Summarise the run in two lines: the learning rate, then what the run did.

        Examples
        --------
        >>> import gradwatch as gw
        >>> bowl = gw.landscape.quadratic([1.0])
        >>> runs = gw.landscape.learning_rate_sweep(
        ...     bowl, bowl.grad, [1.0], [0.5, 2.5], steps=20, tol=1e-3)
        >>> [run.describe() for run in runs]
        ['η = 0.5\ntolerance in 5 steps', 'η = 2.5\ndiverges']
        """
        if self.diverged:
            outcome = "diverges"
        elif self.steps_to_tol is None:
            outcome = f"tolerance not reached in {self.losses.size - 1} steps"
        else:
            outcome = f"tolerance in {self.steps_to_tol} steps"
        return f"η = {self.lr:g}\n{outcome}"


def learning_rate_sweep(
    loss: Callable[[Array], Any],
    grad_fn: Callable[[Array], Array],
    start: Array | Sequence[float],
    lrs: Sequence[float],
    *,
    steps: int,
    tol: float,
) -> list[DescentRun]:
    """Gradient descent from one start with each learning rate, with losses and step counts.

    Parameters
    ----------
    loss : callable
        Maps a point of shape ``(d,)`` to the loss, a scalar.
    grad_fn : callable
        Its gradient, as in :func:`descent_path`.
    start : array_like, shape (d,)
    lrs : sequence of float
        Learning rates, positive.
    steps : int
        Updates per run.
    tol : float
        Loss tolerance for ``DescentRun.steps_to_tol``.

    Returns
    -------
    list of DescentRun
        One per learning rate, in the order of ``lrs``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> bowl = gw.landscape.quadratic([1.0, 10.0])
    >>> start, lrs = [1.0, 1.0], [0.1, 0.25]
    >>> runs = gw.landscape.learning_rate_sweep(bowl, bowl.grad, start, lrs, steps=100, tol=1e-6)
    >>> [(run.steps_to_tol, run.diverged) for run in runs]
    [(63, False), (None, True)]
    """
    given: object = lrs  # checked at run time whatever the annotation says
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence) or not given:
        raise ValueError(f"lrs must be a non-empty sequence of learning rates, got {lrs!r}")
    check_positive(tol, "tol")
    runs = []
    for lr in lrs:
        path = descent_path(grad_fn, start, lr, steps)
        losses = np.asarray([float(loss(point)) for point in path])
        runs.append(
            DescentRun(
                lr=float(lr),
                path=path,
                losses=losses,
                steps_to_tol=steps_to_tolerance(losses, tol),
                diverged=bool(losses[-1] > losses[0]),
            )
        )
    return runs
