r"""Gradient norms and clipping.

Clipping by global norm treats all gradients as one long vector :math:`g` of norm :math:`G`
and rescales it when it is too long,

.. math::

    g \leftarrow \frac{\theta}{G}\, g \quad \text{if } G > \theta,

which keeps the direction and caps the length at :math:`\theta` (Pascanu, Mikolov & Bengio
2013). Clipping by value caps each entry and so turns the direction; clipping by norm caps each
array on its own; adaptive clipping (Brock et al. 2021) caps each unit's gradient relative to
the size of its weights.

Every function is pure by default: it returns new arrays and leaves its inputs alone. With
``inplace=True`` it rewrites the given arrays and returns them, which saves memory in a
training loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gradwatch._validation import (
    Array,
    check_array_list,
    check_norm_type,
    check_positive,
    check_same_structure,
)

__all__ = ["adaptive_clip", "clip_by_global_norm", "clip_by_norm", "clip_by_value", "global_norm"]


def _two_norm(flat: Array) -> float:
    """Euclidean norm of a 1-D array: one BLAS pass, and a scaled second one when that fails.

    The sum of squares is formed in the array's dtype, so it overflows long before the norm
    does (float32: entries near 1e19) and underflows for tiny entries. Only then, or for a
    nan or inf, is the norm taken again on the array divided by its largest entry.
    """
    squares = float(np.dot(flat, flat))
    info = np.finfo(flat.dtype)
    if math.isfinite(squares) and squares >= flat.size * float(info.tiny / info.eps):
        return math.sqrt(squares)
    largest = float(np.max(np.abs(flat)))
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    scaled = flat / largest  # entries in [-1, 1]: no overflow, and the largest square is 1
    return largest * math.sqrt(float(np.dot(scaled, scaled)))


def _array_norm(g: Array, norm_type: float) -> float:
    """Norm of one array seen as a flat vector."""
    if g.size == 0:
        return 0.0
    flat = g.reshape(-1)
    if norm_type == 2.0:
        return _two_norm(flat)
    if math.isinf(norm_type):
        return float(np.max(np.abs(flat)))
    if norm_type == 1.0:
        return float(np.sum(np.abs(flat)))
    return math.pow(float(np.sum(np.abs(flat) ** norm_type)), 1.0 / norm_type)


def _combine(norms: Sequence[float], norm_type: float) -> float:
    if not norms:
        return 0.0
    if math.isinf(norm_type):
        # max() skips a nan that does not come first; a nan anywhere makes the norm nan.
        return math.nan if any(math.isnan(n) for n in norms) else max(norms)
    try:
        if norm_type == 2.0:
            return math.sqrt(math.fsum(n * n for n in norms))
        return math.pow(math.fsum(n**norm_type for n in norms), 1.0 / norm_type)
    except OverflowError:  # finite norms whose combination exceeds the float range
        return math.inf


def global_norm(grads: Sequence[Array], norm_type: float = 2.0) -> float:
    r"""Norm of all gradients taken together, as one long vector.

    Parameters
    ----------
    grads : sequence of ndarray
        Gradients of any shapes; an empty sequence has norm 0.
    norm_type : float, default 2.0
        Order :math:`p > 0` of the norm; ``inf`` gives the largest absolute entry.

    Returns
    -------
    float
        :math:`G = \big(\sum_i \lVert g_i \rVert_p^p\big)^{1/p}`; ``nan`` or ``inf`` if a
        gradient holds one.

    Raises
    ------
    ValueError
        If ``norm_type`` is not positive.
    TypeError
        If ``grads`` is not a sequence of floating arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> round(gw.clip.global_norm([np.array([3.0]), np.array([[4.0]])]), 6)
    5.0
    >>> gw.clip.global_norm([np.array([3.0, -7.0])], norm_type=float("inf"))
    7.0
    """
    p = check_norm_type(norm_type)
    arrays = check_array_list(grads, "grads")
    with np.errstate(over="ignore", invalid="ignore"):
        return _combine([_array_norm(g, p) for g in arrays], p)


def _scale(arrays: list[Array], factors: Sequence[float | Array], inplace: bool) -> list[Array]:
    if inplace:
        for g, factor in zip(arrays, factors, strict=True):
            np.multiply(g, factor, out=g, casting="unsafe")
        return arrays
    pairs = zip(arrays, factors, strict=True)
    return [(g * factor).astype(g.dtype, copy=False) for g, factor in pairs]


def clip_by_global_norm(
    grads: Sequence[Array],
    max_norm: float,
    norm_type: float = 2.0,
    inplace: bool = False,
    error_if_nonfinite: bool = True,
) -> tuple[list[Array], float]:
    r"""Rescale all gradients together so that their global norm is at most ``max_norm``.

    The rule exactly: with :math:`G` the global norm, multiply every gradient by
    :math:`\theta/G` when :math:`G > \theta`, and leave them unchanged otherwise. No epsilon is
    added, so a clipped result has norm :math:`\theta` up to rounding.

    Parameters
    ----------
    grads : sequence of ndarray
        Gradients of any shapes.
    max_norm : float
        The threshold :math:`\theta > 0` (``inf`` never clips).
    norm_type : float, default 2.0
        Order of the norm (``inf`` allowed).
    inplace : bool, default False
        Rewrite the given arrays and return them, instead of new ones.
    error_if_nonfinite : bool, default True
        Raise when :math:`G` is ``nan`` or ``inf``. When False, return the gradients untouched
        (as copies unless ``inplace``) together with that ``G``.

    Returns
    -------
    clipped : list of ndarray
        The rescaled gradients.
    G : float
        The global norm *before* clipping.

    Raises
    ------
    FloatingPointError
        If :math:`G` is not finite and ``error_if_nonfinite`` is True.
    ValueError
        If ``max_norm`` or ``norm_type`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> clipped, G = gw.clip.clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
    >>> G, [float(g[0]) for g in clipped]
    (5.0, [0.6, 0.8])
    """
    theta = check_positive(max_norm, "max_norm", allow_inf=True)
    p = check_norm_type(norm_type)
    arrays = check_array_list(grads, "grads")
    G = global_norm(arrays, p)
    if not math.isfinite(G):
        if error_if_nonfinite:
            raise FloatingPointError(
                f"the global norm of grads is {G}; set error_if_nonfinite=False to get the "
                f"gradients back untouched"
            )
        return (arrays if inplace else [g.copy() for g in arrays]), G
    if theta < G:
        factor = theta / G
        return _scale(arrays, [factor] * len(arrays), inplace), G
    return (arrays if inplace else [g.copy() for g in arrays]), G


def clip_by_value(
    grads: Sequence[Array], clip_value: float, *, inplace: bool = False
) -> list[Array]:
    """Clamp every entry into ``[-clip_value, clip_value]``; this can turn the direction.

    Parameters
    ----------
    grads : sequence of ndarray
    clip_value : float
        Positive bound.
    inplace : bool, default False

    Returns
    -------
    list of ndarray

    Raises
    ------
    ValueError
        If ``clip_value`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.clip.clip_by_value([np.array([3.0, -0.5, -4.0])], 1.0)
    [array([ 1. , -0.5, -1. ])]
    """
    bound = check_positive(clip_value, "clip_value", allow_inf=True)
    arrays = check_array_list(grads, "grads")
    if inplace:
        for g in arrays:
            np.clip(g, -bound, bound, out=g)
        return arrays
    return [np.clip(g, -bound, bound) for g in arrays]


def clip_by_norm(
    grads: Sequence[Array], max_norm: float, norm_type: float = 2.0, *, inplace: bool = False
) -> list[Array]:
    """Rescale each array on its own so that its norm is at most ``max_norm``.

    Parameters
    ----------
    grads : sequence of ndarray
    max_norm : float
        Positive threshold for each array's norm.
    norm_type : float, default 2.0
    inplace : bool, default False

    Returns
    -------
    list of ndarray

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.clip.clip_by_norm([np.array([3.0, 4.0]), np.array([0.3, 0.4])], 1.0)
    [array([0.6, 0.8]), array([0.3, 0.4])]
    """
    theta = check_positive(max_norm, "max_norm", allow_inf=True)
    p = check_norm_type(norm_type)
    arrays = check_array_list(grads, "grads")
    factors = []
    for g in arrays:
        norm = _array_norm(g, p)
        factors.append(theta / norm if norm > theta else 1.0)
    return _scale(arrays, factors, inplace)


def _unit_norms(array: Array) -> Array:
    """Norm of each unit: a column of a matrix (one output unit), the whole of a vector."""
    if array.ndim <= 1:
        return np.asarray(np.linalg.norm(array.reshape(-1)), dtype=array.dtype)
    axes = tuple(range(array.ndim - 1))
    return np.asarray(np.sqrt(np.sum(array * array, axis=axes, keepdims=True)), dtype=array.dtype)


def adaptive_clip(
    params: Sequence[Array],
    grads: Sequence[Array],
    clipping: float = 0.01,
    eps: float = 1e-3,
    *,
    inplace: bool = False,
) -> list[Array]:
    r"""Unit-wise adaptive gradient clipping (Brock et al. 2021).

    For each unit (a column of a weight matrix, i.e. one output unit; a bias vector as a
    whole), the gradient may be at most ``clipping`` times the size of the unit's weights:

    .. math::

        m = \lambda \max(\lVert w \rVert, \epsilon), \qquad
        g \leftarrow \frac{m}{\max(\lVert g \rVert, 10^{-6})}\, g \quad
        \text{where } \lVert g \rVert > m .

    Parameters
    ----------
    params : sequence of ndarray
        The parameters, in the same order and shapes as ``grads``.
    grads : sequence of ndarray
    clipping : float, default 0.01
        The ratio :math:`\lambda > 0`.
    eps : float, default 1e-3
        Floor of the weight norm, so that zero-initialised units can still move.
    inplace : bool, default False

    Returns
    -------
    list of ndarray

    Raises
    ------
    ValueError
        If the lists differ in length or shapes, or ``clipping`` or ``eps`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> W = np.array([[3.0, 0.0], [4.0, 1.0]])
    >>> dW = np.array([[1.0, 0.0], [0.0, 0.001]])
    >>> gw.clip.adaptive_clip([W], [dW], clipping=0.1)
    [array([[0.5  , 0.   ],
           [0.   , 0.001]])]
    """
    ratio = check_positive(clipping, "clipping")
    floor = check_positive(eps, "eps")
    weights = check_array_list(params, "params")
    arrays = check_array_list(grads, "grads")
    check_same_structure(weights, arrays, "params", "grads")
    factors = []
    for w, g in zip(weights, arrays, strict=True):
        max_norm = ratio * np.maximum(_unit_norms(w), floor)
        g_norm = _unit_norms(g)
        factors.append(np.where(g_norm > max_norm, max_norm / np.maximum(g_norm, 1e-6), 1.0))
    return _scale(arrays, factors, inplace)
