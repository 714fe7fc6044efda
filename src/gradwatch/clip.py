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
training loop; every array is checked (writeable, and everything else) before any is written,
so a call that fails changes nothing.

Norms are scaled, as LAPACK's ``nrm2`` and :func:`math.hypot` are: a global norm is ``inf``
only when it exceeds the float range itself, and gradients near 1e200 or 1e-200 have their
true norm, not ``inf`` or 0.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from gradwatch._validation import (
    Array,
    check_array_list,
    check_norm_type,
    check_positive,
    check_same_structure,
    check_writeable,
    widened,
)

__all__ = ["adaptive_clip", "clip_by_global_norm", "clip_by_norm", "clip_by_value", "global_norm"]


_CHUNK = 1 << 17  # float32 values per BLAS dot product; their results are added in float64


def _sum_of_squares(flat: Array) -> float:
    r""":math:`\sum x^2` of a 1-D array in one BLAS pass.

    BLAS accumulates a float32 dot product in float32, which loses about 1e-5 of relative
    accuracy over 10 million values; in chunks of 131072 values added in float64 the loss stays
    below 1e-7, still in one pass with no temporary array (about 10% slower than one call).
    """
    if flat.dtype.itemsize >= 8 or flat.size <= _CHUNK:
        return float(np.dot(flat, flat))
    parts = (flat[start : start + _CHUNK] for start in range(0, flat.size, _CHUNK))
    return math.fsum(float(np.dot(part, part)) for part in parts)


def _two_norm(flat: Array) -> float:
    """Euclidean norm of a 1-D array: one BLAS pass, and a scaled second one when that fails.

    The sum of squares is formed in the array's dtype, so it overflows long before the norm
    does (float32: entries near 1e19) and underflows for tiny entries. Only then, or for a
    nan or inf, is the norm taken again on the array divided by its largest entry.
    """
    squares = _sum_of_squares(flat)
    info = np.finfo(flat.dtype)
    if math.isfinite(squares) and squares >= flat.size * float(info.tiny / info.eps):
        return math.sqrt(squares)
    largest = float(np.max(np.abs(flat)))
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    scaled = flat / largest  # entries in [-1, 1]: no overflow, and the largest square is 1
    return largest * math.sqrt(_sum_of_squares(scaled))


def _power_norm(flat: Array, norm_type: float) -> float:
    r"""p-norm of a 1-D array for a finite p other than 2: one pass, and a scaled one on failure.

    As in :func:`_two_norm`, :math:`\sum |x|^p` is formed in the array's dtype, so it can
    overflow or underflow while the norm itself is representable; only then (or for a nan or
    inf) is it taken again on the array divided by its largest entry.
    """
    powered = np.abs(flat)
    if norm_type != 1.0:
        np.power(powered, norm_type, out=powered)
    total = float(np.sum(powered))
    info = np.finfo(flat.dtype)
    if math.isfinite(total) and total >= flat.size * float(info.tiny / info.eps):
        return total if norm_type == 1.0 else _times_root(1.0, total, norm_type)
    largest = float(np.max(np.abs(flat)))
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    scaled = np.abs(flat) / largest  # entries in [0, 1]: their powers cannot overflow
    np.power(scaled, norm_type, out=scaled)
    return _times_root(largest, float(np.sum(scaled)), norm_type)


def _times_root(largest: float, total: float, norm_type: float) -> float:
    r""":math:`m\, s^{1/p}` for :math:`m, s > 0`: inf only if the product itself overflows.

    For :math:`p < 1` the root alone can exceed the float range while the product does not;
    then it is formed through logarithms (relative error near 1e-13 instead of 1e-16).
    """
    try:
        return largest * math.pow(total, 1.0 / norm_type)
    except OverflowError:
        log = math.log(largest) + math.log(total) / norm_type
        return math.inf if log > math.log(sys.float_info.max) else math.exp(log)


def _array_norm(g: Array, norm_type: float) -> float:
    """Norm of one array seen as a flat vector.

    A first pass that overflows in the array's dtype is taken again on the scaled array
    (:func:`_two_norm`, :func:`_power_norm`); its overflow warning reports nothing wrong, so
    the callers run this under ``np.errstate(over="ignore", invalid="ignore")``, once per call
    (entering it costs about a microsecond, as much as a small array's norm).
    """
    if g.size == 0:
        return 0.0
    flat = g.reshape(-1)
    if norm_type == 2.0:
        return _two_norm(flat)
    if math.isinf(norm_type):
        return float(np.max(np.abs(flat)))
    return _power_norm(flat, norm_type)


def _combine(norms: Sequence[float], norm_type: float) -> float:
    """p-norm of the vector of per-array norms, scaled so that it neither overflows nor underflows.

    Squaring (or raising to the power p) the norms as they are would overflow for norms near
    1e155 and underflow for norms near 1e-160 when p = 2, undoing the scaling of
    :func:`_two_norm`. Dividing by the largest norm first (as LAPACK's ``nrm2`` and
    :func:`math.hypot` do) keeps every term in [0, 1]; the result overflows only when the
    global norm itself exceeds the float range.
    """
    if not norms:
        return 0.0
    if any(math.isnan(n) for n in norms):  # max() skips a nan that does not come first
        return math.nan
    largest = max(norms)
    if math.isinf(norm_type) or largest == 0.0 or math.isinf(largest) or len(norms) == 1:
        return largest
    if norm_type == 2.0:
        return math.hypot(*norms)  # scaled and accurate to within an ulp or so
    total = math.fsum((n / largest) ** norm_type for n in norms)  # terms in [0, 1], one is 1
    return _times_root(largest, total, norm_type)


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


def _grads_to_clip(grads: Sequence[Array], inplace: bool) -> list[Array]:
    """Check ``grads`` as every clipping function takes them, before anything is written.

    A list or tuple of floating arrays, returned without copying; with ``inplace`` each must
    also be writeable, so that a call that fails has changed none of them.
    """
    arrays = check_array_list(grads, "grads")
    if inplace:
        check_writeable(arrays, "grads")
    return arrays


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
        Rewrite the given arrays and return them, instead of new ones. A call that raises
        has written nothing.
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
        If ``max_norm`` or ``norm_type`` is not positive, or ``inplace`` is True and an array
        is read-only.

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
    arrays = _grads_to_clip(grads, inplace)
    G = global_norm(arrays, p)
    if error_if_nonfinite and not math.isfinite(G):
        raise FloatingPointError(
            f"the global norm of grads is {G}; set error_if_nonfinite=False to get the "
            f"gradients back untouched"
        )
    if theta < G < math.inf:  # False for a nan G: a non-finite norm leaves the gradients alone
        return _scale(arrays, [theta / G] * len(arrays), inplace), G
    return (arrays if inplace else [g.copy() for g in arrays]), G


def clip_by_value(
    grads: Sequence[Array], clip_value: float, *, inplace: bool = False
) -> list[Array]:
    """Clamp every entry into ``[-clip_value, clip_value]``; this can turn the direction.

    Parameters
    ----------
    grads : sequence of ndarray
    clip_value : float
        Positive bound (``inf`` never clips).
    inplace : bool, default False
        As for :func:`clip_by_global_norm`.

    Returns
    -------
    list of ndarray
        The clamped gradients, in the dtypes of ``grads``.

    Raises
    ------
    ValueError
        If ``clip_value`` is not positive, or ``inplace`` is True and an array is read-only.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.clip.clip_by_value([np.array([3.0, -0.5, -4.0])], 1.0)
    [array([ 1. , -0.5, -1. ])]
    """
    bound = check_positive(clip_value, "clip_value", allow_inf=True)
    arrays = _grads_to_clip(grads, inplace)
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
        Positive threshold for each array's norm (``inf`` never clips).
    norm_type : float, default 2.0
        Order of the norm, as for :func:`global_norm`.
    inplace : bool, default False
        As for :func:`clip_by_global_norm`.

    Returns
    -------
    list of ndarray
        The rescaled gradients; those whose norm is at most ``max_norm`` keep their values.

    Raises
    ------
    ValueError
        As for :func:`clip_by_global_norm`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.clip.clip_by_norm([np.array([3.0, 4.0]), np.array([0.3, 0.4])], 1.0)
    [array([0.6, 0.8]), array([0.3, 0.4])]
    """
    theta = check_positive(max_norm, "max_norm", allow_inf=True)
    p = check_norm_type(norm_type)
    arrays = _grads_to_clip(grads, inplace)
    factors = []
    with np.errstate(over="ignore", invalid="ignore"):  # see _array_norm
        for g in arrays:
            norm = _array_norm(g, p)
            factors.append(theta / norm if norm > theta else 1.0)
    return _scale(arrays, factors, inplace)


def _unit_norms(array: Array) -> Array:
    """Norm of each unit: a column of a matrix (one output unit), the whole of a vector.

    In float32 at least: float16 squares overflow from entries of 256 on, and a norm of inf
    would clip the unit's gradient to zero. A unit whose sum of squares still overflows is
    taken again divided by its largest entry, as :func:`_two_norm` does for a whole array.
    """
    wide = widened(array)
    axes = tuple(range(wide.ndim - 1))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
        if wide.ndim <= 1:
            return np.asarray(_two_norm(wide.reshape(-1)), dtype=wide.dtype)
        squares = np.sum(wide * wide, axis=axes, keepdims=True)
        if not np.isinf(squares).any():
            roots: Array = np.sqrt(squares)
            return roots
        largest = np.max(np.abs(wide), axis=axes, keepdims=True)
        scale = np.where(np.isinf(squares) & np.isfinite(largest), largest, 1.0)
        scaled = wide / scale  # entries in [-1, 1] in the units that overflowed
        norms: Array = scale * np.sqrt(np.sum(scaled * scaled, axis=axes, keepdims=True))
        return norms


def _skip_mask(skip: Sequence[bool] | None, n_grads: int) -> list[bool]:
    """Check the ``skip`` flags of :func:`adaptive_clip`: one boolean per gradient."""
    if skip is None:
        return [False] * n_grads
    if isinstance(skip, (str, bytes)) or not isinstance(skip, (Sequence, np.ndarray)):
        raise TypeError(f"skip must be a sequence of booleans, got {type(skip).__name__}")
    flags = list(skip)
    for i, flag in enumerate(flags):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"skip[{i}] must be a boolean, got {type(flag).__name__}")
    if len(flags) != n_grads:
        raise ValueError(f"skip must hold one flag per gradient: got {len(flags)} for {n_grads}")
    return [bool(flag) for flag in flags]


def adaptive_clip(
    params: Sequence[Array],
    grads: Sequence[Array],
    clipping: float = 0.01,
    eps: float = 1e-3,
    *,
    skip: Sequence[bool] | None = None,
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
    skip : sequence of bool, optional
        One flag per gradient: where True the gradient is left as it is (copied unless
        ``inplace``). Brock et al. leave the final linear layer unclipped; a mask built from
        the parameters' names or shapes says which, e.g.
        ``[p.ndim == 1 for p in params]`` exempts every bias. ``None`` clips every gradient.
    inplace : bool, default False

    Returns
    -------
    list of ndarray

    Raises
    ------
    ValueError
        If the lists differ in length or shapes, ``skip`` has another length, ``clipping`` or
        ``eps`` is not positive, or ``inplace`` is True and a gradient is read-only (then none
        has been changed).
    TypeError
        If ``skip`` is not a sequence of booleans.

    Notes
    -----
    Every argument is checked before any gradient is written, so a call that raises has
    changed nothing, with or without ``inplace``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> W = np.array([[3.0, 0.0], [4.0, 1.0]])
    >>> dW = np.array([[1.0, 0.0], [0.0, 0.001]])
    >>> gw.clip.adaptive_clip([W], [dW], clipping=0.1)
    [array([[0.5  , 0.   ],
           [0.   , 0.001]])]

    A zero bias would be held to ``clipping * eps``; ``skip`` exempts it:

    >>> b, db = np.zeros(2), np.array([3.0, 4.0])
    >>> [g.tolist() for g in gw.clip.adaptive_clip([W, b], [dW, db], clipping=0.1,
    ...                                             skip=[False, True])]
    [[[0.5, 0.0], [0.0, 0.001]], [3.0, 4.0]]
    """
    ratio = check_positive(clipping, "clipping")
    floor = check_positive(eps, "eps")
    weights = check_array_list(params, "params")
    arrays = check_array_list(grads, "grads")
    check_same_structure(weights, arrays, "params", "grads")
    exempt = _skip_mask(skip, len(arrays))
    if inplace:
        check_writeable(arrays, "grads")
    factors: list[float | Array] = []
    for w, g, keep in zip(weights, arrays, exempt, strict=True):
        if keep:
            factors.append(1.0)
            continue
        max_norm = ratio * np.maximum(_unit_norms(w), floor)
        g_norm = _unit_norms(g)
        factors.append(np.where(g_norm > max_norm, max_norm / np.maximum(g_norm, 1e-6), 1.0))
    return _scale(arrays, factors, inplace)
